"""The base of every provider simulator.

A simulator is an independent model of a provider's API (state machines with timed
transitions, paging, error bodies, throttling, long-running-operation headers) served as an
ASGI app. The real provider clients reach it through ``httpx.ASGITransport`` in-process, or
over loopback HTTP via ``circuitbot sandbox serve``.

INTERFACE CONTRACT (other modules rely on it; keep it stable):

    class Simulator:
        provider: ClassVar[str]                  # "azure", "equinix", "consoleconnect", "alibaba"
        def __init__(self, world: World, clock: Clock, faults: FaultConfig | None = None)
        world, clock, faults                     # attributes
        calls: collections.Counter[str]          # "METHOD /path" -> requests that reached the model
        def routes(self) -> list[starlette.routing.BaseRoute]   # subclasses provide
        @property app -> ASGI app: fault injection + call counting + routes + /_sandbox admin routes
        def transport(self) -> httpx.AsyncBaseTransport        # in-process transport for httpx clients
        def reset_calls(self) -> None

Subclasses also provide ``error_body(status, code, message) -> (body, headers)``: the
provider's error shape, used for injected faults and for unknown paths or methods. ``code`` is
provider-neutral ("NotFound", "TooManyRequests", "InternalServerError"); map it to the
provider's own codes there. ``calls`` keys use the route's path template, e.g.
"GET /subscriptions/{subscriptionId}/providers/Microsoft.Network/expressRouteProviderPorts";
a request that matched no route is counted under its literal path.

Admin routes (never faulted, never counted): GET/PUT /_sandbox/faults (a FaultConfig as JSON),
GET /_sandbox/calls, POST /_sandbox/reset-calls, GET /_sandbox/health.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route, compile_path
from starlette.types import Message, Receive, Scope, Send

from circuitbot.clock import Clock
from circuitbot.sandbox.faults import (
    DROP_EXTENSION,
    ConnectionDropped,
    FaultConfig,
    FaultInjector,
    InjectedFault,
    default_error_code,
)
from circuitbot.sandbox.world import World

ADMIN_PREFIX = "/_sandbox/"


@dataclass(frozen=True)
class SandboxOption:
    """A ``circuitbot sandbox serve`` flag a simulator takes, repeatable unless ``single``
    (extra credentials it accepts, say); :meth:`Simulator.configure` applies it."""

    flag: str  # "--client-credentials"
    metavar: str  # "ID:SECRET"
    help: str
    single: bool = False


class Simulator:
    provider: ClassVar[str]
    # The ``sandbox serve`` flags this simulator takes; ``configure`` applies their values.
    options: ClassVar[tuple[SandboxOption, ...]] = ()

    # Sent with status 200 when a malformed answer is injected: JSON cut off mid-value.
    malformed_body: ClassVar[bytes] = b'{"value": [{"id": "/truncat'

    def __init__(self, world: World, clock: Clock, faults: FaultConfig | None = None) -> None:
        self.world = world
        self.clock = clock
        self._faults = FaultInjector(faults)
        self.calls: collections.Counter[str] = collections.Counter()
        self._app: Starlette | None = None
        self._admin: Starlette | None = None

        # A plain coroutine function, so servers that sniff the ASGI version see version 3.
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await self._asgi(scope, receive, send)

        self._entry = app

    def configure(self, flag: str, values: Sequence[str]) -> None:
        """Apply a ``sandbox serve`` flag of :attr:`options`; ValueError for a value it refuses."""
        raise ValueError(f"the {self.provider} simulator takes no {flag}")

    # -- what subclasses provide -------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        """The provider's error body (JSON-serialisable) and any extra headers."""
        raise NotImplementedError

    # -- the contract ------------------------------------------------------------------------

    @property
    def faults(self) -> FaultConfig:
        """The live fault config (a copy; queued faults show what is left)."""
        return self._faults.config

    @faults.setter
    def faults(self, config: FaultConfig) -> None:
        self._faults.replace(config)

    @property
    def app(self) -> Any:
        return self._entry

    def transport(self) -> httpx.AsyncBaseTransport:
        return SimulatorTransport(self.app)

    def reset_calls(self) -> None:
        self.calls.clear()

    # -- helpers for subclasses ----------------------------------------------------------------

    def error_response(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        body, extra = self.error_body(status, code, message)
        return JSONResponse(body, status_code=status, headers={**extra, **(headers or {})})

    # -- the ASGI stack ------------------------------------------------------------------------

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._model(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            await self._admin_app(scope, receive, send)
            return
        method: str = scope["method"]
        latency = self._faults.latency_seconds(path)
        if latency > 0:
            await self.clock.sleep(latency)
        fault = self._faults.decide(method, path)
        if fault is not None:
            await self._inject(fault, scope, receive, send)
            return
        self.calls[f"{method} {self._route_template(scope)}"] += 1
        await self._model(scope, receive, send)

    @property
    def _model(self) -> Starlette:
        if self._app is None:
            self._app = Starlette(
                routes=self.routes(),
                exception_handlers={HTTPException: self._http_exception},
            )
        return self._app

    async def _http_exception(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            message = f"No resource matches {request.method} {request.url.path}."
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}."
        else:
            message = str(exc.detail)
        headers = dict(exc.headers) if exc.headers else None
        return self.error_response(exc.status_code, default_error_code(exc.status_code), message, headers)

    def _route_template(self, scope: Scope) -> str:
        template = _match_template(self._model.routes, dict(scope), "")
        return template if template is not None else scope["path"]

    async def _inject(self, fault: InjectedFault, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.kind == "drop":
            await self._drop(scope, receive)
            return
        if fault.kind == "process_then_drop":
            self.calls[f"{scope['method']} {self._route_template(scope)}"] += 1

            async def lost(message: Message) -> None:
                pass  # the answer never reaches the client

            await self._model(scope, receive, lost)
            await self._drop(scope, receive)
            return
        if fault.kind == "malformed":
            response: Response = Response(self.malformed_body, status_code=200, media_type="application/json")
        else:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            response = self.error_response(fault.status, fault.code, fault.message, headers)
        await response(scope, receive, send)

    async def _drop(self, scope: Scope, receive: Receive) -> None:
        drop = scope.get("extensions", {}).get(DROP_EXTENSION)
        if drop is None:
            raise ConnectionDropped(f"{scope['method']} {scope['path']}")
        drop()
        # Wait for the server to notice the closed connection, so it does not answer 500.
        while (await receive())["type"] != "http.disconnect":
            pass

    # -- admin ---------------------------------------------------------------------------------

    @property
    def _admin_app(self) -> Starlette:
        if self._admin is None:
            self._admin = Starlette(
                routes=[
                    Route("/_sandbox/faults", self._get_faults, methods=["GET"]),
                    Route("/_sandbox/faults", self._put_faults, methods=["PUT"]),
                    Route("/_sandbox/calls", self._get_calls, methods=["GET"]),
                    Route("/_sandbox/reset-calls", self._reset_calls, methods=["POST"]),
                    Route("/_sandbox/health", self._health, methods=["GET"]),
                ]
            )
        return self._admin

    async def _get_faults(self, request: Request) -> Response:
        return JSONResponse(self.faults.model_dump(mode="json"))

    async def _put_faults(self, request: Request) -> Response:
        raw = await request.body()
        try:
            config = FaultConfig.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            errors = json.loads(exc.json(include_url=False, include_context=False, include_input=False))
            return JSONResponse({"error": "invalid fault config", "details": errors}, status_code=422)
        self.faults = config
        return JSONResponse(self.faults.model_dump(mode="json"))

    async def _get_calls(self, request: Request) -> Response:
        return JSONResponse(dict(self.calls))

    async def _reset_calls(self, request: Request) -> Response:
        self.reset_calls()
        return Response(status_code=204)

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"provider": self.provider, "status": "ok"})


def _match_template(routes: list[BaseRoute], scope: dict[str, Any], prefix: str) -> str | None:
    """The path template of the route that will answer, following Mounts like the router does."""
    partial: str | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            inner = _match_template(route.routes, {**scope, **child}, prefix + compile_path(route.path)[1])
            template = inner if inner is not None else prefix + compile_path(route.path)[1]
        elif isinstance(route, Route):
            template = prefix + route.path_format
        else:
            continue
        if match is Match.FULL:
            return template
        partial = partial or template  # path matched, method did not: the router answers 405
    return partial


class SimulatorTransport(httpx.AsyncBaseTransport):
    """In-process transport to a simulator, where a dropped connection looks like one."""

    def __init__(self, app: Any) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._asgi.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None

    async def aclose(self) -> None:
        await self._asgi.aclose()
