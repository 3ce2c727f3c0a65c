"""A fake Slack: the Web API methods circuitbot calls and the response_url endpoints, over HTTP.

``FakeSlack`` is an ASGI app (Starlette) serving the in-memory workspace of ``slack_model``.
Serve it on loopback so slack_sdk's aiohttp-based ``AsyncWebClient`` runs unchanged against it::

    slack = FakeSlack(usergroups={"S0APPROVERS": ["U0ALICE"]})
    async with slack.serve() as api_url:            # "http://127.0.0.1:PORT/api/"
        client = AsyncWebClient(token="xoxb-test", base_url=api_url)
        await client.chat_postMessage(channel="C0OPS", text="hi")
        await slack.wait_for("chat.postMessage")

Every request is recorded (``calls``), failed ones included and marked as such, so tests can
assert exactly-once delivery. ``fail_next`` injects rate limiting, server errors and Slack error
codes. The requests Slack sends to the bot are built by ``circuitbot.testing.payloads``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from circuitbot.slack.scopes import BOT_SCOPES
from circuitbot.testing.slack_model import ResponseTarget, SlackError, SlackModel

RESPONSE_URL_METHOD = "response_url"
"""The ``method`` under which POSTs to a response_url are recorded and faults are keyed."""

ANY_METHOD = "*"
"""``fail_next(ANY_METHOD, ...)`` fails the next call whatever its method."""

_VALID_TOKEN_PREFIXES = ("xoxb-", "xoxp-")
_APP_TOKEN_PREFIX = "xapp-"  # app-level tokens: Socket Mode's apps.connections.open, nothing else
_OPEN_SOCKET_METHOD = "apps.connections.open"
# Arguments Slack accepts either as JSON values or as JSON strings inside a form body.
_JSON_ARGUMENTS = ("blocks", "attachments", "view", "metadata")


@dataclass(frozen=True)
class RecordedCall:
    """One request that reached the fake, answered successfully or not."""

    method: str
    args: dict[str, Any]
    at: float
    ok: bool = True
    status: int = 200
    error: str | None = None
    response_token: str | None = None  # only for RESPONSE_URL_METHOD calls


@dataclass
class _Fault:
    status: int
    retry_after: int
    error: str | None
    remaining: int
    applied: bool = False  # the call takes effect; only its answer fails


class FakeSlack(SlackModel):
    """A ``SlackModel`` workspace behind the Web API, recording every call.

    Takes ``SlackModel``'s keyword arguments (clock, usergroups, users, channels, archived and
    unknown channels, workspace ids).
    """

    def __init__(self, **workspace: Any) -> None:
        super().__init__(**workspace)
        self.calls: list[RecordedCall] = []
        self.root_url = "http://fake-slack.test"
        # Socket Mode: the WebSocket URL apps.connections.open hands out (a FakeSocketMode's), and
        # the app-level tokens it accepts (None: any xapp- token).
        self.socket_url: str | None = None
        self.app_tokens: set[str] | None = None
        # What the workspace granted the bot token; Slack shows it on every answer (x-oauth-scopes).
        self.granted_scopes: set[str] = set(BOT_SCOPES)
        self._faults: dict[str, deque[_Fault]] = {}
        self._response_targets: dict[str, ResponseTarget] = {}
        self._waiters: set[asyncio.Event] = set()
        self._app = Starlette(
            routes=[
                Route("/api/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/response/{token}", self._response_endpoint, methods=["POST"]),
            ]
        )

    # ------------------------------------------------------------------ serving

    @property
    def app(self) -> Starlette:
        """The ASGI app, for in-process use (``httpx.ASGITransport``)."""
        return self._app

    @property
    def api_url(self) -> str:
        """Base URL for ``AsyncWebClient(base_url=...)``; ends with a slash as slack_sdk needs."""
        return f"{self.root_url}/api/"

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on loopback in the running event loop; yields the Web API base URL."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio then sets TCP_NODELAY
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # bound here, not by uvicorn, so port 0 yields a port we can read back
        sock.bind((host, port))
        bound_port = sock.getsockname()[1]
        # log_config=None: leave the host process's logging configuration alone
        config = uvicorn.Config(self._app, lifespan="off", log_config=None, access_log=False)
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        previous_root = self.root_url
        try:
            await server.startup(sockets=[sock])
            netloc = f"[{host}]:{bound_port}" if family == socket.AF_INET6 else f"{host}:{bound_port}"
            self.root_url = f"http://{netloc}"
            yield self.api_url
        finally:
            self.root_url = previous_root
            await _stop_server(server)
            sock.close()

    def response_url(
        self,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        user: str | None = None,
        token: str | None = None,
    ) -> str:
        """A response_url pointing at this fake, to put in a payload given to the bot.

        With ``channel``/``message_ts`` a POST to it acts like Slack's: ``replace_original``
        edits that message, ``delete_original`` deletes it, ``response_type: in_channel``
        posts to the channel; anything else becomes an ephemeral message for ``user``.
        """
        token = token or secrets.token_hex(8)
        self._response_targets[token] = ResponseTarget(channel=channel, message_ts=message_ts, user=user)
        return f"{self.root_url}/response/{token}"

    # ------------------------------------------------------------------ state seen by tests

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[RecordedCall]:
        """Calls to ``method`` in arrival order; ``ok=True`` keeps only those that succeeded."""
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def last(self, method: str) -> RecordedCall:
        calls = self.calls_to(method)
        if not calls:
            raise LookupError(f"no call to {method}; calls so far: {[c.method for c in self.calls]}")
        return calls[-1]

    def responses(self, token: str | None = None) -> list[RecordedCall]:
        """POSTs made to response URLs (all, or those of one token), in arrival order."""
        return [c for c in self.calls_to(RESPONSE_URL_METHOD) if token is None or c.response_token == token]

    def clear(self) -> None:
        """Forget recorded calls (state such as messages and views is kept)."""
        self.calls.clear()

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a bounded wait is the point of this test helper
        *,
        ok: bool | None = None,
    ) -> list[RecordedCall]:
        """Wait until ``count`` calls to ``method`` are recorded; returns them.

        Raises TimeoutError when they do not arrive within ``timeout`` seconds.
        """
        event = asyncio.Event()
        self._waiters.add(event)
        try:
            async with asyncio.timeout(timeout):
                while len(found := self.calls_to(method, ok=ok)) < count:
                    event.clear()
                    await event.wait()
                return found
        except TimeoutError:
            seen = [(c.method, c.ok) for c in self.calls]
            raise TimeoutError(f"waited for {count} x {method}; calls recorded: {seen}") from None
        finally:
            self._waiters.discard(event)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        error: str | None = None,
        count: int = 1,
        applied: bool = False,
    ) -> None:
        """Make the next ``count`` calls to ``method`` fail.

        ``error`` given: HTTP 200 ``{"ok": false, "error": error}`` (e.g. "channel_not_found").
        Otherwise HTTP ``status``: 429 carries ``Retry-After: retry_after`` and the error
        "ratelimited"; other statuses answer "fatal_error". Faults queue in the order given.
        ``applied``: the call takes effect (a message is posted) and only the answer is the
        failure, as when Slack did the work and the response was lost on the way back.
        """
        self._faults.setdefault(method, deque()).append(
            _Fault(status=status, retry_after=retry_after, error=error, remaining=count, applied=applied)
        )

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, ANY_METHOD):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    # ------------------------------------------------------------------ HTTP plumbing

    async def _api_endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await _request_arguments(request)
        # slack_sdk sends the token as a Bearer header; older clients put it in the arguments
        body_token = args.pop("token", None)
        token = _bearer_token(request) or body_token

        fault = self._take_fault(method)
        if fault is not None and not fault.applied:
            return self._fault_response(method, args, fault)
        if not token:
            return self._error_response(method, args, "not_authed")
        if method == _OPEN_SOCKET_METHOD or token.startswith(_APP_TOKEN_PREFIX):
            return self._open_socket(method, args, token)
        if not token.startswith(_VALID_TOKEN_PREFIXES):
            return self._error_response(method, args, "invalid_auth")
        handler = self._handlers.get(method)
        if handler is None:
            return self._error_response(method, args, "unknown_method")
        try:
            result = handler(args)
        except SlackError as exc:
            return self._error_response(method, args, exc.code)
        if fault is not None:  # done, but the caller hears otherwise
            return self._fault_response(method, args, fault)
        self._record(RecordedCall(method=method, args=args, at=self.clock.monotonic()))
        return JSONResponse(
            {"ok": True, **result}, headers={"x-oauth-scopes": ",".join(sorted(self.granted_scopes))}
        )

    def _open_socket(self, method: str, args: dict[str, Any], token: str) -> Response:
        """``apps.connections.open`` takes only an app-level token, and an app token nothing else."""
        if method != _OPEN_SOCKET_METHOD or not token.startswith(_APP_TOKEN_PREFIX):
            return self._error_response(method, args, "not_allowed_token_type")
        if self.app_tokens is not None and token not in self.app_tokens:
            return self._error_response(method, args, "invalid_auth")
        if self.socket_url is None:
            return self._error_response(method, args, "internal_error")
        self._record(RecordedCall(method=method, args=args, at=self.clock.monotonic()))
        return JSONResponse({"ok": True, "url": f"{self.socket_url}?ticket={secrets.token_hex(8)}"})

    async def _response_endpoint(self, request: Request) -> Response:
        token = request.path_params["token"]
        body = await _request_arguments(request)
        fault = self._take_fault(RESPONSE_URL_METHOD)
        if fault is not None:
            return self._fault_response(RESPONSE_URL_METHOD, body, fault, response_token=token)
        try:
            self._apply_response(self._response_targets.get(token), body)
        except SlackError as exc:
            self._record(
                RecordedCall(
                    method=RESPONSE_URL_METHOD,
                    args=body,
                    at=self.clock.monotonic(),
                    ok=False,
                    status=400,
                    error=exc.code,
                    response_token=token,
                )
            )
            return PlainTextResponse(exc.code, status_code=400)
        self._record(
            RecordedCall(
                method=RESPONSE_URL_METHOD, args=body, at=self.clock.monotonic(), response_token=token
            )
        )
        return PlainTextResponse("ok")

    def _fault_response(
        self, method: str, args: dict[str, Any], fault: _Fault, response_token: str | None = None
    ) -> Response:
        if fault.error is not None:
            status, error, headers = 200, fault.error, {}
        elif fault.status == 429:
            status, error, headers = 429, "ratelimited", {"Retry-After": str(fault.retry_after)}
        else:
            status, error, headers = fault.status, "fatal_error", {}
        self._record(
            RecordedCall(
                method=method,
                args=args,
                at=self.clock.monotonic(),
                ok=False,
                status=status,
                error=error,
                response_token=response_token,
            )
        )
        return JSONResponse({"ok": False, "error": error}, status_code=status, headers=headers)

    def _error_response(self, method: str, args: dict[str, Any], error: str) -> Response:
        self._record(RecordedCall(method=method, args=args, at=self.clock.monotonic(), ok=False, error=error))
        return JSONResponse({"ok": False, "error": error})

    def _record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        for waiter in self._waiters:
            waiter.set()


async def _stop_server(server: uvicorn.Server, grace: float = 5.0) -> None:
    """Stop serving at once: uvicorn's own shutdown polls in 0.1 s steps, which adds up over a test suite."""
    for listener in server.servers:
        listener.close()
    # idle keep-alive connections close now, busy ones right after their response
    for connection in list(server.server_state.connections):
        connection.shutdown()
    in_flight = list(server.server_state.tasks)
    if in_flight:
        _, unfinished = await asyncio.wait(in_flight, timeout=grace)
        for task in unfinished:
            task.cancel()
    for listener in server.servers:
        await listener.wait_closed()


async def _request_arguments(request: Request) -> dict[str, Any]:
    """Query string, form and JSON arguments merged, as Slack reads them."""
    args: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    if raw:
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            body = json.loads(raw)
            if isinstance(body, dict):
                args.update(body)
        else:
            args.update(parse_qsl(raw.decode(), keep_blank_values=True))
    for key in _JSON_ARGUMENTS:
        if isinstance(args.get(key), str) and args[key]:
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    return args


def _bearer_token(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None
