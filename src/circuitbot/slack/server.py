"""``circuitbot serve``: the Slack front end in HTTP mode (Starlette + uvicorn) or Socket Mode.

HTTP mode serves Slack's request URL and the endpoints an orchestrator needs::

    POST /slack/events   commands, buttons and modal submissions (Bolt verifies signatures;
                         bodies over MAX_BODY_BYTES get 413, see also ``guards``)
    GET  /healthz        200 while the process runs
    GET  /readyz         200 when the database answers (and, in Socket Mode, the link to Slack
                         is up), else 503 with the reason
    GET  /metrics        Prometheus text format

Socket Mode's link is ``socket_mode.SocketModeLink`` (backoff, readiness, stopping at any time).
SIGTERM or Ctrl-C stops taking new requests, lets interactions already acknowledged finish, then
stops the background engines and closes the database. The runtime (database, providers,
engines, the work after each ack) lives on a work loop in a thread of its own (``workloop``),
so this loop only verifies, parses and acknowledges; with ``CIRCUITBOT_WORK_PROCESS`` it lives in
a work process instead (``workprocess``), and this process keeps only the registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any

import aiohttp
import uvicorn
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from circuitbot import metrics
from circuitbot.bootstrap import build_runtime, front_runtime
from circuitbot.chat.roles import RoleResolver
from circuitbot.chat.router import Router
from circuitbot.home.tab import HomeTab
from circuitbot.runtime import Runtime
from circuitbot.settings import ConfigError, Settings
from circuitbot.slack.app import BackgroundWork, build_app, group_members, outbox_client, slack_client
from circuitbot.slack.guards import read_request
from circuitbot.slack.poster import SlackPoster, slack_error_code
from circuitbot.slack.socket_mode import SocketModeLink
from circuitbot.workloop import WorkLoop
from circuitbot.workprocess import WorkProcess, WorkProcessGone

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
READY_TIMEOUT_SECONDS = 2.0
# Slack's own payloads stay far below this (a modal's state, a message of 50 blocks); anything
# larger is refused with 413 before it is read in full, let alone parsed.
MAX_BODY_BYTES = 1024 * 1024
# Long enough for a slow provider call behind an acknowledged click, short of a pod's grace period.
SHUTDOWN_GRACE_SECONDS = 20.0
GIL_SWITCH_SECONDS = 0.0005
GC_THRESHOLDS = (100_000, 50, 100)  # Python's are (700, 10, 10)


def require_slack_settings(settings: Settings, *, http: bool) -> None:
    """Stop with one line naming the missing Slack setting."""
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN: required to serve Slack (the app's xoxb- bot token)")
    if http and settings.slack_signing_secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET: required in HTTP mode (the app's signing secret)")
    if not http and settings.slack_app_token is None:
        raise ConfigError(
            "SLACK_APP_TOKEN: required in Socket Mode (an xapp- token with connections:write), or use --http"
        )


def attach_slack(
    runtime: Runtime,
    settings: Settings,
    *,
    work: BackgroundWork | None = None,
    offload: Callable[[Coroutine[Any, Any, None]], Awaitable[None]] | None = None,
    forwarded: bool = False,
    work_process: WorkProcess | None = None,
) -> AsyncApp:
    """The Bolt app on ``runtime``; gives the runtime its Slack voice and user-group lookup.
    ``offload`` runs the work after an ack elsewhere (``WorkLoop.run``); ``forwarded``: the app
    of a work process; ``work_process``: the app of its front end, which hands it the work."""
    client = slack_client(settings)
    # Approvals retry on their own terms, so their client waits out no 429s.
    runtime.poster = SlackPoster(slack_client(settings, rate_limit_retries=0))
    sender = getattr(runtime.watches, "sender", None)
    if sender is not None:  # the outbox: single short tries, its posts tagged and looked up
        sender.poster = SlackPoster(outbox_client(settings))
    runtime.roles = RoleResolver(settings, group_members=group_members(client), clock=runtime.clock)
    home = HomeTab(runtime, publish=lambda user_id, view: client.views_publish(user_id=user_id, view=view))
    if sender is not None:
        sender.on_delivered.append(home.delivered)
    runtime.on_close(home.stop)
    router = Router(runtime)
    if offload is not None:
        router.offload = offload
    if work_process is not None:
        router.offload, router.admit = work_process.forward, work_process.admit
    app = build_app(
        runtime,
        router,
        settings=settings,
        client=client,
        work=work,
        home=home,
        forwarded=forwarded,
        forwarding=work_process is not None,
    )
    if work_process is not None:
        work_process.install(app)
    return app


def build_http_app(
    runtime: Runtime,
    bolt_app: AsyncApp | None,
    *,
    link: SocketModeLink | None = None,
    work_loop: WorkLoop | None = None,
    work_process: WorkProcess | None = None,
) -> Starlette:
    """Health, readiness and metrics; plus Slack's request URL in HTTP mode (``bolt_app`` given).
    In Socket Mode the same app serves only the operational endpoints, for the container's checks,
    and is ready only while ``link`` is connected. The database is asked on ``work_loop``, if any,
    or by ``work_process``, whose metrics are added to this process's."""

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    async def select_one() -> None:
        if work_process is not None:
            if not (await work_process.ask("ready"))["ok"]:
                raise ConnectionError("the work process's database did not answer")
            return
        async with runtime.db.session() as session:
            await session.execute(text("SELECT 1"))

    async def readyz(_request: Request) -> Response:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await (work_loop.run(select_one()) if work_loop is not None else select_one())
        except Exception as exc:
            log.warning("not ready: the database did not answer (%s)", type(exc).__name__)
            return PlainTextResponse("database unavailable", status_code=503)
        if link is not None and not link.status.connected:
            return PlainTextResponse(link.status.reason, status_code=503)
        return PlainTextResponse("ready")

    async def prometheus(_request: Request) -> Response:
        exposition = metrics.exposition()
        if work_process is not None:
            try:
                theirs = (await work_process.ask("metrics"))["text"]
            except (TimeoutError, WorkProcessGone):
                log.warning("metrics: the work process did not answer; this process's only")
            else:
                exposition = metrics.merged(exposition.decode(), theirs)
        return Response(exposition, headers={"content-type": METRICS_CONTENT_TYPE})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    if bolt_app is not None:
        secret = runtime.settings.slack_signing_secret
        events = slack_events(bolt_app, secret.get_secret_value() if secret else "")
        routes.insert(0, Route(EVENTS_PATH, events, methods=["POST"]))
    return Starlette(routes=routes)


def slack_events(bolt_app: AsyncApp, secret: str) -> Callable[[Request], Awaitable[Response]]:
    """Slack's request URL: a body of at most ``MAX_BODY_BYTES``, parsed safely, then Bolt."""

    async def events(request: Request) -> Response:
        body = await _bounded_body(request)
        if body is None:
            log.warning("refused a request: its body is over %d bytes", MAX_BODY_BYTES)
            return PlainTextResponse("request body too large", status_code=413)
        bolt_request = read_request(body, request.headers, request.query_params, secret)
        if isinstance(bolt_request, BoltResponse):
            return to_starlette_response(bolt_request)
        return to_starlette_response(await bolt_app.async_dispatch(bolt_request))

    return events


async def _bounded_body(request: Request) -> bytes | None:
    """The request body, or None past ``MAX_BODY_BYTES`` (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class _Server(uvicorn.Server):
    """uvicorn inside our event loop: signals are ours, and startup is awaitable."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextlib.asynccontextmanager
async def http_server(app: Any, host: str, port: int) -> AsyncIterator[int]:
    """Serve ``app`` with uvicorn until the block ends; yields the bound port (``port=0`` picks one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio then sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,  # our handlers (JSON, secret scrubbing) apply to uvicorn's records too
        access_log=False,
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE_SECONDS),
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    ready = asyncio.create_task(server.ready.wait())
    try:
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not server.ready.is_set():
            task.result()  # startup failed: raise its error
            raise RuntimeError("the HTTP server stopped during start-up")
        yield sock.getsockname()[1]
    finally:
        ready.cancel()
        server.should_exit = True
        await task
        sock.close()


async def check_token(client: AsyncWebClient, settings: Settings) -> None:
    """``auth.test`` once at start-up, so a wrong token stops the process instead of every click."""
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        raise ConfigError(f"SLACK_BOT_TOKEN: Slack refused it ({slack_error_code(exc)})") from None
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise ConfigError(
            f"SLACK_API_URL: cannot reach Slack at {settings.slack_api_url} ({type(exc).__name__})"
        ) from None
    log.info("signed in to Slack as %s in team %s", identity.get("user"), identity.get("team_id"))


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _share_the_interpreter() -> None:
    """Let this loop in quickly while the work loop's thread is busy."""
    # The work loop's thread holds the GIL most of the time under load; an ack waiting for it
    # waits at most this long at each step (Python's default is 5 ms).
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    # A collection stops both loops; with the default thresholds the work's garbage started one
    # every few commands and each ack behind it waited (ack p99 at 100/s: 183 ms, 58 ms so).
    gc.set_threshold(*GC_THRESHOLDS)


async def serve(settings: Settings, *, http: bool, host: str, port: int, sandbox: bool) -> int:
    """Run the Slack front end until SIGTERM/SIGINT; returns the exit status."""
    require_slack_settings(settings, http=http)
    await check_token(slack_client(settings), settings)
    if settings.work_process:
        return await _serve_with_work_process(settings, http=http, host=host, port=port, sandbox=sandbox)
    work_loop = WorkLoop()  # the runtime lives there; this loop only answers Slack
    work_loop.start()
    _share_the_interpreter()
    try:
        runtime = await work_loop.run(build_runtime(settings, sandbox=sandbox))
    except BaseException:
        await work_loop.stop()
        raise
    gc.freeze()  # what start-up built lives as long as the process: full collections skip it
    work = BackgroundWork()
    stop = asyncio.Event()
    try:
        bolt_app = attach_slack(runtime, settings, work=work, offload=work_loop.run)
        engines = await work_loop.run(runtime.start_engines())
        if engines:
            log.info("background engines running: %s", ", ".join(engines))
        await _answer_slack(
            settings, runtime, bolt_app, http=http, host=host, port=port, stop=stop, work_loop=work_loop
        )
        log.info("stopping: %d interaction(s) still running", len(work))
        if not await work.drain(timeout=SHUTDOWN_GRACE_SECONDS):
            log.warning("stopped with %d interaction(s) unfinished", len(work))
    finally:
        try:
            await work_loop.run(runtime.close())
        finally:
            await work_loop.stop()
    return 0


async def _serve_with_work_process(
    settings: Settings, *, http: bool, host: str, port: int, sandbox: bool
) -> int:
    """``serve`` as two processes (``workprocess``): this one acks; the work process does the rest.
    This one stops, with status 1, if the work process ends without being asked to."""
    runtime = front_runtime(settings)
    work_process = WorkProcess(settings, sandbox=sandbox)
    try:
        await work_process.start()
    except WorkProcessGone as exc:
        log.error("%s", exc)
        await runtime.close()
        return 1
    gc.freeze()
    work = BackgroundWork()
    stop = asyncio.Event()
    lost = asyncio.create_task(work_process.ended.wait())
    lost.add_done_callback(lambda _: stop.set())
    try:
        bolt_app = attach_slack(runtime, settings, work=work, work_process=work_process)
        await _answer_slack(
            settings, runtime, bolt_app, http=http, host=host, port=port, stop=stop, work_process=work_process
        )
        await work.drain(timeout=SHUTDOWN_GRACE_SECONDS)  # forms waiting for their ack from there
    finally:
        ended_by_itself = work_process.ended.is_set()
        lost.cancel()
        await work_process.stop(SHUTDOWN_GRACE_SECONDS)
        await runtime.close()
    if ended_by_itself:
        log.error("the work process ended (exit status %s): stopping", work_process.exit_status)
        return 1
    return 0


async def _answer_slack(
    settings: Settings,
    runtime: Runtime,
    bolt_app: AsyncApp,
    *,
    http: bool,
    host: str,
    port: int,
    stop: asyncio.Event,
    work_loop: WorkLoop | None = None,
    work_process: WorkProcess | None = None,
) -> None:
    """Serve Slack (HTTP, or the Socket Mode link) and the operational endpoints until ``stop``."""
    with _stop_on_signals(stop):
        if http:
            served = build_http_app(runtime, bolt_app, work_loop=work_loop, work_process=work_process)
            async with http_server(served, host, port) as bound:
                log.info("serving Slack over HTTP on %s:%d%s", host, bound, EVENTS_PATH)
                await stop.wait()
        elif settings.slack_app_token is not None:  # require_slack_settings made sure of it
            link = SocketModeLink(
                bolt_app, settings.slack_app_token.get_secret_value(), api_url=settings.slack_api_url
            )
            served = build_http_app(runtime, None, link=link, work_loop=work_loop, work_process=work_process)
            async with http_server(served, host, port) as bound:
                log.info("health and metrics on %s:%d", host, bound)
                await link.run(stop)
