"""Real bot processes on loopback, for the reliability suite.

``circuitbot serve --http`` runs as a child process (through ``support.serve_child``, which can
add test-only hooks); the Azure simulator and the fake Slack run in the test's own event loop
and every child reaches them over loopback, so all children share one provider world and one
Slack workspace, and the test reads both directly. Waiting on a child is bounded in real time:
the children run on the system clock.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from circuitbot.clock import SystemClock
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import World
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import signed_request_headers
from support.paths import REPOSITORY

SIGNING_SECRET = "reliability-signing-secret"
BOT_TOKEN = "xoxb-reliability-bot"
FERNET_KEY = "Wy6ZanrTq0XRhhKQG27XBf_LcrRuBaN4ztnkq4UNYeE="
SANDBOX_TOKEN = "sandbox-static-token"
EVENTS_PATH = "/slack/events"
START_TIMEOUT = 60.0
KEEPALIVE_SECONDS = 1.0  # under uvicorn's 5 s, so the client never reuses a connection being closed
_LISTENING = re.compile(r"serving Slack over HTTP on 127\.0\.0\.1:(\d+)")


def azure_simulator(world: World, faults: FaultConfig | None = None) -> AzureSimulator:
    """The Azure simulator on the system clock, with changes that finish within a second."""
    return AzureSimulator(
        world, SystemClock(), faults, operation_seconds=0.5, table_seconds=0.5, retry_after_seconds=1
    )


def slack_workspace() -> FakeSlack:
    """The fake Slack for bot processes: message ts on the system clock, as the bots' look-ups
    for posts they may already have made expect (they search from the time a message was owed)."""
    return FakeSlack(clock=SystemClock())


def puts(simulator: AzureSimulator) -> int:
    """Writes that reached the simulator's model (faulted requests never do)."""
    return sum(n for call, n in simulator.calls.items() if call.startswith("PUT "))


def bot_env(
    *,
    data_dir: Path,
    database_url: str,
    slack_api_url: str,
    azure_url: str,
    world: World,
    **settings: str,
) -> dict[str, str]:
    """The environment of a ``circuitbot serve`` child: loopback Slack and Azure, the given
    database; ``settings`` adds ``CIRCUITBOT_<NAME>`` variables (``watch__tick_seconds=…``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CIRCUITBOT_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPOSITORY / "src"), str(REPOSITORY / "tests")]),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api_url,
        CIRCUITBOT_DATA_DIR=str(data_dir),
        CIRCUITBOT_DATABASE_URL=database_url,
        CIRCUITBOT_SECRET_KEY=FERNET_KEY,
        CIRCUITBOT_LOG_LEVEL="INFO",
        CIRCUITBOT_AZURE__BASE_URL=azure_url,
        CIRCUITBOT_AZURE__SUBSCRIPTION_IDS=world.partner_subscription_id,
        CIRCUITBOT_AZURE__STATIC_TOKEN=SANDBOX_TOKEN,
    )
    env.update({f"CIRCUITBOT_{name.upper()}": value for name, value in settings.items()})
    return env


class BotProcess:
    """One ``circuitbot serve --http`` child; its log lines are collected as they come."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process
        self.lines: list[str] = []
        self.port: int | None = None
        self._listening = asyncio.Event()
        self._reader = asyncio.create_task(self._read())
        self._http: httpx.AsyncClient | None = None

    @classmethod
    async def start(cls, name: str, env: dict[str, str], hooks: Sequence[str] = ()) -> BotProcess:
        """Start it and wait until it serves HTTP; ``hooks`` are ``support.serve_child`` options."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "support.serve_child",
            *hooks,
            "--",
            "serve",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        bot = cls(name, process)
        waiting = asyncio.create_task(bot._listening.wait())
        await asyncio.wait({waiting, bot._reader}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if not bot._listening.is_set():
            waiting.cancel()
            bot.kill()
            await bot.wait()
            raise AssertionError(f"{name} did not start:\n{bot.log()}")
        # A kept-alive connection is dropped well before uvicorn's 5 s keep-alive timeout: a
        # request sent as the server closes an idle connection would fail with ReadError.
        keepalive = httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS)
        bot._http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot.port}", timeout=30, limits=keepalive)
        return bot

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            text = line.decode(errors="replace")
            self.lines.append(text)
            if self.port is None and (match := _LISTENING.search(text)):
                self.port = int(match.group(1))
                self._listening.set()

    def log(self) -> str:
        return "".join(self.lines)

    def tracebacks(self) -> list[str]:
        """Log lines that start an unhandled exception's traceback."""
        return [line for line in self.lines if line.startswith("Traceback")]

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def send(self, body: str) -> httpx.Response:
        """A body as Slack sends it: signed, posted to the request URL."""
        assert self._http is not None
        headers = signed_request_headers(SIGNING_SECRET, body)
        return await self._http.post(EVENTS_PATH, content=body.encode(), headers=headers)

    def kill(self) -> None:
        """kill -9: nothing is flushed, closed or handed over."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        code = await self.process.wait()
        await self._reader
        if self._http is not None:
            await self._http.aclose()
        return code

    async def stop(self) -> int:
        """SIGTERM, as a deployment stops it; kill -9 if it does not stop within 30 s."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                return await self.wait()
        except TimeoutError:
            self.kill()
            return await self.wait()


async def wait_until(
    check: Callable[[], Awaitable[Any]] | Callable[[], Any],
    what: str,
    timeout: float = 60.0,  # noqa: ASYNC109 - a bounded wait on other processes is the point
    every: float = 0.1,
) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)
