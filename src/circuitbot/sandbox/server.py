"""Serve a simulator over loopback HTTP with uvicorn.

The sandbox is a test tool with no authentication, so it listens on loopback addresses only
unless told otherwise. The server speaks h11 through a protocol that lets the fault injector
drop a connection for real (close it with no answer), which in-process transports can only
imitate.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from circuitbot.clock import Clock
from circuitbot.sandbox import build_simulator
from circuitbot.sandbox.base import Simulator
from circuitbot.sandbox.faults import DROP_EXTENSION, FaultConfig
from circuitbot.sandbox.world import World

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _DroppingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a scope extension that aborts the connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        app = self.app

        async def with_drop(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                scope.setdefault("extensions", {})[DROP_EXTENSION] = self._abort
            await app(scope, receive, send)

        self.app = with_drop

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class SimulatorServer:
    """A simulator listening on ``host:port`` (port 0 picks a free one) until stopped.

    The socket is bound and listening before ``start`` returns, so ``url`` is usable at once:
    connections made before uvicorn accepts them wait in the backlog.
    """

    def __init__(
        self,
        simulator: Simulator,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_non_loopback: bool = False,
        log_level: str = "warning",
    ) -> None:
        if not allow_non_loopback and not is_loopback(host):
            raise ValueError(
                f"refusing to serve the sandbox on {host}: it is a test tool without authentication; "
                "use a loopback address or allow non-loopback explicitly"
            )
        self.simulator = simulator
        self.host = host
        self.port = port
        self._config = uvicorn.Config(
            simulator.app,
            http=_DroppingH11Protocol,
            interface="asgi3",  # a bound method does not look like ASGI 3 to uvicorn's detection
            lifespan="off",
            log_config=None,
            log_level=log_level,
            access_log=False,
        )
        self._server = uvicorn.Server(self._config)
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio then sets TCP_NODELAY
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host.strip("[]"), self.port))
            sock.listen(self._config.backlog)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        logger.info("%s simulator listening on %s", self.simulator.provider, self.url)

    async def wait(self) -> None:
        """Until the server stops (``stop`` or a signal).

        Cancelling the waiter leaves the server running, so ``stop`` can still shut it down
        gracefully.
        """
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def serve_simulator(
    provider: str,
    host: str = "127.0.0.1",
    *,
    port: int,
    world: World | None = None,
    faults: FaultConfig | None = None,
    clock: Clock | None = None,
    allow_non_loopback: bool = False,
    log_level: str = "info",
    on_listening: Callable[[str], None] | None = None,
    options: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Run ``provider``'s simulator over HTTP until interrupted (``circuitbot sandbox serve``).

    ``port=0`` picks a free port; ``on_listening`` receives the base URL once requests can be sent;
    ``options`` are the simulator's own flags (``Simulator.options``) with their values.
    """
    simulator = build_simulator(provider, world=world, clock=clock, faults=faults)
    for flag, values in (options or {}).items():
        simulator.configure(flag, values)
    server = SimulatorServer(
        simulator, host=host, port=port, allow_non_loopback=allow_non_loopback, log_level=log_level
    )
    await server.start()
    if on_listening is not None:
        on_listening(server.url)
    try:
        await server.wait()
    finally:
        await server.stop()
