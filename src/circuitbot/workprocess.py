"""The work process: Slack's acks in one process, the work behind them in another.

With ``CIRCUITBOT_WORK_PROCESS`` on, ``circuitbot serve`` is two processes. The front end (the
process started) verifies, parses and acknowledges Slack's requests and answers what needs
nothing more (``help``, usage errors). Each request with work behind its ack is forwarded, as
Slack sent it, to the work process, which holds the runtime (database, providers, engines, the
outbox) and runs the same Bolt listeners on it with verification off (``build_app(forwarded=True)``).
One process shares one interpreter between the acks and the work (the GIL: past about 80 commands
a second of work, every ack waited its turn); two let the kernel share the cores, and the work
process runs at a lower priority (``CIRCUITBOT_WORK_NICENESS``), so an ack never waits behind work.

Invariants and pitfalls:

* the link is a socketpair between the two, one JSON object a line. The work process is
  ``python -m circuitbot.workprocess`` and reads the same settings (environment, file) as the
  front end, which stops when the work process ends: work already acknowledged and lost cannot
  be told apart from work done, and the orchestrator restarts the replica as it would any. The
  work process ignores SIGINT and SIGTERM: it stops when the front end says so (after its grace)
  or when the link ends;
* who acks: commands and clicks are acknowledged by the front end before they are forwarded
  (the work process's ``_Ack`` then counts as done and says nothing to Slack); a modal
  submission's ack depends on the database, so the front end waits, within Slack's 3 s, for the
  ack the work process sends back (``Forwarded.send_ack``);
* the backlog is bounded: with ``CIRCUITBOT_WORK_BACKLOG`` requests forwarded and not yet done, a
  new command is not run, and its ack says so (``admit``); clicks, forms and events are always
  forwarded (an approval is never dropped);
* ``/readyz`` asks the work process for its database; ``/metrics`` sums both processes' counts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import gc
import itertools
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy import text

from circuitbot import metrics
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.context import correlation_id
from circuitbot.settings import Settings
from circuitbot.slack.app import CURRENT_ACK, FORWARDED, BackgroundWork, Forwarded

log = logging.getLogger(__name__)

# A forwarded body is at most 1 MB (``server.MAX_BODY_BYTES``); escaped in JSON it may grow.
LINE_LIMIT = 8 * 1024 * 1024
ACK_WAIT_SECONDS = 2.5  # Slack closes a modal's submission after 3 s
ASK_TIMEOUT_SECONDS = 2.0  # readiness and metrics
START_TIMEOUT_SECONDS = 120.0  # migrating a large database included
# Beyond the grace given to the work process for its requests: its engines' own stop (README,
# Reliability: serve stops within about 45 s in all).
STOP_MARGIN_SECONDS = 30.0
BUSY = (
    "circuitbot is too busy to run {command} now ({backlog} commands waiting): nothing was done; "
    "try again in a minute"
)


class WorkProcessGone(RuntimeError):
    """The work process ended, or never started."""


# The request as Slack sent it (mode, body and headers, as Bolt read them), for ``forward``.
_REQUEST: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("forwardable", default=None)


class _CaptureForForwarding(AsyncMiddleware):
    """Keeps the request as Slack sent it where ``forward`` finds it (the listener's context)."""

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        body = req.raw_body if req.mode == "http" else req.body
        _REQUEST.set({"mode": req.mode, "headers": req.headers, "body": body})
        return await next()


def _send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")


async def _receive(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    line = await reader.readline()
    return json.loads(line) if line else None


class WorkProcess:
    """The front end's side: starts the work process, forwards requests to it, asks it things."""

    def __init__(self, settings: Settings, *, sandbox: bool) -> None:
        self.settings = settings
        self._sandbox = sandbox
        self._process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.owed: set[int] = set()  # forwarded, not yet done
        self._refusing = False  # the backlog is full: new commands are refused
        self._started = asyncio.Event()
        self.ended = asyncio.Event()  # the work process is gone

    async def start(self) -> None:
        """Start the work process and wait until its runtime and engines are up."""
        ours, theirs = socket.socketpair()
        argv = [sys.executable, "-m", "circuitbot.workprocess", "--fd", str(theirs.fileno())]
        try:
            self._process = await asyncio.create_subprocess_exec(
                *argv, *(["--sandbox"] if self._sandbox else []), pass_fds=(theirs.fileno(),)
            )
        finally:
            theirs.close()
        reader, self._writer = await asyncio.open_unix_connection(sock=ours, limit=LINE_LIMIT)
        self._reading = asyncio.create_task(self._read(reader))
        started = asyncio.create_task(self._started.wait())
        ended = asyncio.create_task(self.ended.wait())
        await asyncio.wait(
            {started, ended}, timeout=START_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        started.cancel()
        ended.cancel()
        if not self._started.is_set():
            await self.stop(0.0)
            raise WorkProcessGone(f"the work process did not start (exit status {self.exit_status})")
        log.info("work process %d running", self._process.pid)

    @property
    def exit_status(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while (message := await _receive(reader)) is not None:
                if message["op"] == "started":
                    self._started.set()
                elif message["op"] == "done":
                    self.owed.discard(message["id"])
                elif (answer := self._answers.pop(message["id"], None)) is not None and not answer.done():
                    answer.set_result(message)
        except (OSError, ValueError, KeyError) as exc:
            log.error("the link to the work process broke (%s)", type(exc).__name__)
        finally:
            self.ended.set()
            for answer in self._answers.values():
                if not answer.done():
                    answer.set_exception(WorkProcessGone("the work process ended"))
            self._answers.clear()

    def _post(self, message: dict[str, Any], *, answered: bool) -> asyncio.Future[dict[str, Any]] | None:
        if self.ended.is_set() or self._writer is None:
            raise WorkProcessGone("the work process ended")
        answer = None
        if answered:
            answer = asyncio.get_running_loop().create_future()
            self._answers[message["id"]] = answer
        _send(self._writer, message)
        return answer

    async def ask(self, op: str) -> dict[str, Any]:
        """A question for the work process (``ready``, ``metrics``), answered within a bound."""
        ask_id = next(self._ids)
        answer = self._post({"op": op, "id": ask_id}, answered=True)
        assert answer is not None
        try:
            async with asyncio.timeout(ASK_TIMEOUT_SECONDS):
                return await answer
        finally:
            self._answers.pop(ask_id, None)

    # -- the front end's Bolt app -----------------------------------------------------------------

    def install(self, app: AsyncApp) -> None:
        """Capture each request as Slack sent it, for ``forward`` (the router's ``offload``)."""
        app.middleware(_CaptureForForwarding())

    async def forward(self, work: Coroutine[Any, Any, None]) -> None:
        """The router's ``offload``: not ``work`` here, but the request it came from, there."""
        work.close()  # never started: the work process runs the same listener on the request
        wire = _REQUEST.get()
        if wire is None:
            raise RuntimeError("work to hand on outside a Slack request")
        acker = CURRENT_ACK.get()
        owes_ack = acker is not None and not acker.done
        forward_id = next(self._ids)
        self.owed.add(forward_id)
        message = {"op": "request", "id": forward_id, "correlation": correlation_id.get(), **wire}
        answer = self._post({**message, "wants_ack": owes_ack}, answered=owes_ack)
        if answer is None or acker is None:
            return
        try:
            async with asyncio.timeout(ACK_WAIT_SECONDS):
                acked = (await answer)["ack"]
        except TimeoutError:
            log.warning("the work process did not acknowledge a form within %.1f s", ACK_WAIT_SECONDS)
            acked = {}
        finally:
            self._answers.pop(forward_id, None)
        await acker(**acked)

    def admit(self, shown: str) -> Reply | None:
        """The router's ``admit``, before a command's ack: a refusal while the backlog is full."""
        if len(self.owed) < self.settings.work_backlog:
            if self._refusing:
                log.info("the work process's backlog is below its bound again: commands run")
                self._refusing = False
            return None
        if not self._refusing:  # once as it fills, not once a command: a full backlog is a flood
            log.warning("the work process's backlog is full (%d): new commands are refused", len(self.owed))
            self._refusing = True
        metrics.commands.labels("busy", "refused").inc()
        return Reply.error(BUSY.format(command=bk.code(shown), backlog=len(self.owed)))

    async def stop(self, grace_seconds: float) -> None:
        """Let the work process finish what it was given (``grace_seconds``), then end it."""
        process = self._process
        if process is None:
            return
        if self._writer is not None and not self.ended.is_set():
            with contextlib.suppress(OSError):
                _send(self._writer, {"op": "stop", "grace": grace_seconds})
                await self._writer.drain()
        try:
            async with asyncio.timeout(grace_seconds + STOP_MARGIN_SECONDS):
                await process.wait()
        except TimeoutError:
            log.warning(
                "the work process did not stop within %.0f s: killed", grace_seconds + STOP_MARGIN_SECONDS
            )
            process.kill()
            await process.wait()
        if self._writer is not None:
            self._writer.close()
        if self._reading is not None:
            await asyncio.wait({self._reading}, timeout=STOP_MARGIN_SECONDS)


# -- the work process -------------------------------------------------------------------------------


async def _work(settings: Settings, link: socket.socket, *, sandbox: bool) -> int:
    from circuitbot.bootstrap import build_runtime
    from circuitbot.slack.server import attach_slack  # it imports this module

    reader, writer = await asyncio.open_unix_connection(sock=link, limit=LINE_LIMIT)
    runtime = await build_runtime(settings, sandbox=sandbox)
    try:
        app = attach_slack(runtime, settings, work=BackgroundWork(), forwarded=True)
        engines = await runtime.start_engines()
        if engines:
            log.info("background engines running: %s", ", ".join(engines))
        gc.freeze()  # what start-up built lives as long as the process
        _send(writer, {"op": "started"})
        grace = await _serve_link(reader, writer, app, runtime)
    finally:
        await runtime.close()
    return 0 if grace is not None else 1


async def _serve_link(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, app: AsyncApp, runtime: Any
) -> float | None:
    """Take requests and questions until told to stop (the grace given), or the link ends (None)."""
    running: set[asyncio.Task[None]] = set()
    grace: float | None = None
    while (message := await _receive(reader)) is not None:
        if message["op"] == "stop":
            grace = float(message.get("grace", 0.0))
            break
        handler = (
            _dispatch(app, writer, message)
            if message["op"] == "request"
            else _answer(runtime, writer, message)
        )
        task = asyncio.create_task(handler, context=contextvars.Context())
        running.add(task)
        task.add_done_callback(running.discard)
    # Whatever happens below, this process does not outlive its front end by more than this.
    watchdog = threading.Timer((grace or 0.0) + STOP_MARGIN_SECONDS, os._exit, (1,))
    watchdog.daemon = True
    watchdog.start()
    if running:
        log.info("stopping: %d forwarded request(s) still running", len(running))
        _, unfinished = await asyncio.wait(running, timeout=grace or 0.0)
        for task in unfinished:
            task.cancel()
        if unfinished:
            log.warning("stopped with %d forwarded request(s) unfinished", len(unfinished))
            # Let them unwind (their sessions roll back) before the database they use is closed:
            # a task cut short after that waits forever on a connection that is gone.
            await asyncio.wait(unfinished, timeout=STOP_MARGIN_SECONDS)
    return grace


async def _dispatch(app: AsyncApp, writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    request_id = message["id"]

    def send_ack(kwargs: dict[str, Any]) -> None:
        _send(writer, {"op": "ack", "id": request_id, "ack": kwargs})

    FORWARDED.set(Forwarded(send_ack if message.get("wants_ack") else None))
    correlation_id.set(message.get("correlation"))
    request = AsyncBoltRequest(body=message["body"], headers=message["headers"], mode=message["mode"])
    try:
        await app.async_dispatch(request)
    except Exception:
        log.exception("a forwarded request failed")
    finally:
        _send(writer, {"op": "done", "id": request_id})


async def _answer(runtime: Any, writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    answer: dict[str, Any] = {"op": message["op"], "id": message["id"]}
    if message["op"] == "metrics":
        answer["text"] = metrics.exposition().decode()
    elif message["op"] == "ready":
        try:
            async with asyncio.timeout(ASK_TIMEOUT_SECONDS), runtime.db.session() as session:
                await session.execute(text("SELECT 1"))
            answer["ok"] = True
        except Exception as exc:
            log.warning("not ready: the database did not answer (%s)", type(exc).__name__)
            answer["ok"] = False
    _send(writer, answer)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m circuitbot.workprocess --fd N``: started by ``serve``, never by hand."""
    parser = argparse.ArgumentParser(prog="circuitbot.workprocess")
    parser.add_argument("--fd", type=int, required=True, help="the socket to the front end")
    parser.add_argument("--sandbox", action="store_true")
    args = parser.parse_args(argv)
    from circuitbot.logs import configure_logging
    from circuitbot.settings import load_settings

    settings = load_settings()
    configure_logging(settings)
    os.nice(settings.work_niceness)
    # Its life is the front end's to end, over the link (which ends with the front end): Ctrl-C
    # reaches the whole process group, and a stop must not cut its work short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    link = socket.socket(fileno=args.fd)
    return asyncio.run(_work(settings, link, sandbox=args.sandbox))


if __name__ == "__main__":
    sys.exit(main())
