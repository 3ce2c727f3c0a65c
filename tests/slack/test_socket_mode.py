"""Socket Mode's link against a WebSocket endpoint on loopback that greets, refuses and drops:
envelopes answered through Bolt, backoff with one line a failure, readiness that follows the link,
a refused token that stops start-up, and a stop that works whether connected or not."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from slack_support import BOT_TOKEN, command_body

from circuitbot.runtime import Runtime
from circuitbot.settings import ConfigError
from circuitbot.slack.server import build_http_app, http_server
from circuitbot.slack.socket_mode import Backoff, SocketModeLink
from circuitbot.testing.fake_slack import RESPONSE_URL_METHOD, FakeSlack
from circuitbot.testing.fake_socket_mode import FakeSocketMode

APP_TOKEN = "xapp-1-A0TEST-socket-mode-token"
QUICK = Backoff(first=0.02, factor=2.0, cap=0.1)


@pytest.fixture
async def slack_socket(fake_slack: FakeSlack, slack_api_url: str) -> AsyncIterator[FakeSocketMode]:
    socket_mode = FakeSocketMode()
    async with socket_mode.serve() as ws_url:
        fake_slack.socket_url = ws_url
        yield socket_mode


def _link(bolt_app: AsyncApp, api_url: str, token: str = APP_TOKEN) -> SocketModeLink:
    return SocketModeLink(bolt_app, token, api_url=api_url, backoff=QUICK, heartbeat_seconds=5)


async def _wait_for(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Until ``condition()`` holds, looking every 10 ms (the link's state changes in its own task)."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"not within {within} s")


async def _stopped_within(task: asyncio.Task[None], stop: asyncio.Event, seconds: float = 2.0) -> None:
    stop.set()
    async with asyncio.timeout(seconds):
        await task


async def test_a_slash_command_is_answered_through_bolt_and_acknowledged(
    bolt_app: AsyncApp, fake_slack: FakeSlack, slack_api_url: str, slack_socket: FakeSocketMode
) -> None:
    link, stop = _link(bolt_app, slack_api_url), asyncio.Event()
    task = asyncio.create_task(link.run(stop))
    await slack_socket.wait_connected()
    await _wait_for(lambda: link.status.connected)

    envelope_id = await slack_socket.send("slash_commands", dict(parse_qsl(command_body(fake_slack, "help"))))
    ack = await slack_socket.ack_for(envelope_id)
    await _stopped_within(task, stop)

    assert "`help`" in ack["payload"]["text"]
    assert link.status.connected is False and "stopped" in link.status.reason


async def test_a_refused_handshake_backs_off_with_one_line_each_and_stops_when_told(
    bolt_app: AsyncApp, slack_api_url: str, slack_socket: FakeSocketMode, caplog: pytest.LogCaptureFixture
) -> None:
    slack_socket.refuse = True
    link, stop = _link(bolt_app, slack_api_url), asyncio.Event()
    caplog.set_level(logging.INFO, logger="circuitbot.slack.socket_mode")
    task = asyncio.create_task(link.run(stop))
    await _wait_for(lambda: link.failures >= 4)
    status = link.status
    await _stopped_within(task, stop)

    failures = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failures) >= 4 and all(r.exc_info is None for r in caplog.records)
    assert all("handshake refused with HTTP 403" in r.getMessage() for r in failures)
    assert "ticket" not in caplog.text
    assert status.connected is False and "cannot connect" in status.reason
    waits = [float(m) for m in re.findall(r"next try in ([0-9.]+) s", caplog.text)]
    assert waits and max(waits) <= QUICK.cap and waits[-1] > waits[0]  # growing, and capped


async def test_nobody_listening_is_a_failure_like_any_other(
    bolt_app: AsyncApp, fake_slack: FakeSlack, slack_api_url: str
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        fake_slack.socket_url = f"ws://127.0.0.1:{probe.getsockname()[1]}/link"
    link, stop = _link(bolt_app, slack_api_url), asyncio.Event()
    task = asyncio.create_task(link.run(stop))
    await _wait_for(lambda: link.failures >= 2)
    await _stopped_within(task, stop)

    assert link.last_failure.startswith("cannot connect (ClientConnectorError")
    assert len(fake_slack.calls_to("apps.connections.open")) >= 2  # a fresh one-use URL each try


async def test_a_dropped_link_is_not_ready_until_it_reconnects(
    runtime: Runtime, bolt_app: AsyncApp, slack_api_url: str, slack_socket: FakeSocketMode
) -> None:
    link, stop = _link(bolt_app, slack_api_url), asyncio.Event()
    task = asyncio.create_task(link.run(stop))
    async with (
        http_server(build_http_app(runtime, None, link=link), "127.0.0.1", 0) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        await _wait_for(lambda: link.status.connected)
        ready = await http.get("/readyz")
        slack_socket.refuse = True
        await slack_socket.drop()
        await _wait_for(lambda: link.failures >= 2)
        not_ready = await http.get("/readyz")
        slack_socket.refuse = False
        await slack_socket.wait_connected(count=2)
        await _wait_for(lambda: link.status.connected)
        ready_again = await http.get("/readyz")
    await _stopped_within(task, stop)

    assert (ready.status_code, ready.text) == (200, "ready")
    assert not_ready.status_code == 503 and "cannot connect" in not_ready.text
    assert ready_again.status_code == 200 and link.links == 2


async def test_slacks_disconnect_message_reconnects_at_once(
    bolt_app: AsyncApp, slack_api_url: str, slack_socket: FakeSocketMode
) -> None:
    link, stop = _link(bolt_app, slack_api_url), asyncio.Event()
    link.backoff = Backoff(first=60, cap=60)  # a wait would show as a timeout below
    task = asyncio.create_task(link.run(stop))
    await slack_socket.wait_connected()
    await _wait_for(lambda: link.status.connected)
    await slack_socket.ask_to_reconnect()
    await slack_socket.wait_connected(count=2, within=5)
    await _wait_for(lambda: link.links == 2)
    await _stopped_within(task, stop)

    assert link.failures == 0


@pytest.mark.parametrize(
    ("token", "accepted", "error"),
    [("xapp-wrong", {APP_TOKEN}, "invalid_auth"), (BOT_TOKEN, None, "not_allowed_token_type")],
)
async def test_a_token_slack_refuses_stops_start_up(
    bolt_app: AsyncApp,
    fake_slack: FakeSlack,
    slack_api_url: str,
    slack_socket: FakeSocketMode,
    token: str,
    accepted: set[str] | None,
    error: str,
) -> None:
    fake_slack.app_tokens = accepted
    link = _link(bolt_app, slack_api_url, token=token)

    with pytest.raises(ConfigError, match=f"SLACK_APP_TOKEN: Slack refused it \\({error}\\)"):
        async with asyncio.timeout(5):
            await link.run(asyncio.Event())
    assert slack_socket.connections == 0


# ---------------------------------------------------------------------- the real process


async def _serve_socket_mode(
    tmp_path: Path, api_url: str, app_token: str, *flags: str, **settings: str
) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CIRCUITBOT_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=app_token,
        SLACK_API_URL=api_url,
        CIRCUITBOT_DATA_DIR=str(tmp_path),
        CIRCUITBOT_LOG_LEVEL="INFO",
        **settings,
    )
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "circuitbot.cli", "serve", "--host", "127.0.0.1", "--port", "0", *flags),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stopped(process: asyncio.subprocess.Process, stop_signal: int, lines: list[str]) -> str:
    """Signal the process, wait (killing it after 30 s) and return all it logged."""
    rest = b""
    try:
        if process.returncode is None:
            process.send_signal(stop_signal)
        async with asyncio.timeout(30):
            _, rest = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return "".join(lines) + rest.decode()


async def _read_until(process: asyncio.subprocess.Process, pattern: str, lines: list[str]) -> re.Match[str]:
    async with asyncio.timeout(60):
        while not (match := re.search(pattern, "".join(lines))):
            line = await process.stderr.readline()
            assert line, f"circuitbot serve exited early: {''.join(lines)}"
            lines.append(line.decode())
    return match


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_serve_stops_on_a_signal_while_it_cannot_connect(
    tmp_path: Path, fake_slack: FakeSlack, slack_api_url: str, slack_socket: FakeSocketMode, stop_signal: int
) -> None:
    slack_socket.refuse = True
    process = await _serve_socket_mode(tmp_path, slack_api_url, APP_TOKEN)
    lines: list[str] = []
    try:
        port = (await _read_until(process, r"health and metrics on 127\.0\.0\.1:(\d+)", lines)).group(1)
        await _read_until(process, r"cannot connect", lines)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            ready = await http.get("/readyz")
    finally:
        output = await _stopped(process, stop_signal, lines)

    assert ready.status_code == 503 and "cannot connect" in ready.text
    assert process.returncode == 0, output
    assert "Traceback" not in output and APP_TOKEN not in output


async def test_serve_with_a_refused_app_token_exits_with_one_line(
    tmp_path: Path, fake_slack: FakeSlack, slack_api_url: str, slack_socket: FakeSocketMode
) -> None:
    fake_slack.app_tokens = {"xapp-the-right-one"}
    process = await _serve_socket_mode(tmp_path, slack_api_url, APP_TOKEN)
    async with asyncio.timeout(60):
        _, err = await process.communicate()
    output = err.decode()

    assert process.returncode == 78, output  # a configuration error
    assert "configuration error: SLACK_APP_TOKEN: Slack refused it (invalid_auth)" in output
    assert "Traceback" not in output and APP_TOKEN not in output


async def test_serve_in_socket_mode_hands_the_work_to_its_work_process(
    tmp_path: Path, fake_slack: FakeSlack, slack_api_url: str, slack_socket: FakeSocketMode
) -> None:
    """The envelope is acked by the process holding the link; the reply comes from the work
    process, which got the payload as Socket Mode gave it."""
    process = await _serve_socket_mode(
        tmp_path, slack_api_url, APP_TOKEN, "--sandbox", CIRCUITBOT_WORK_PROCESS="true"
    )
    lines: list[str] = []
    try:
        await _read_until(process, r"work process \d+ running", lines)
        await slack_socket.wait_connected()
        payload = dict(parse_qsl(command_body(fake_slack, "az ports")))
        ack = await slack_socket.ack_for(await slack_socket.send("slash_commands", payload))
        [reply] = await fake_slack.wait_for(RESPONSE_URL_METHOD, timeout=30)
    finally:
        output = await _stopped(process, signal.SIGTERM, lines)

    assert "working on `az ports`" in ack["payload"]["text"]
    assert "SiliconValley" in str(reply.args), reply.args
    assert process.returncode == 0, output
    assert "Traceback" not in output and APP_TOKEN not in output
