"""``EquinixSimulator``: the token endpoint and both API generations over one state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from circuitbot.clock import Clock
from circuitbot.sandbox.base import SandboxOption, Simulator
from circuitbot.sandbox.equinix.auth import DEFAULT_TOKEN_SECONDS, TokenIssuer, parse_client_credentials
from circuitbot.sandbox.equinix.common import V4_CODES, Handler, Problem, guarded, v4_errors
from circuitbot.sandbox.equinix.ecx_v3 import EcxV3
from circuitbot.sandbox.equinix.fabric_v4 import FabricV4
from circuitbot.sandbox.equinix.state import EquinixState
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import World


class EquinixSimulator(EcxV3, FabricV4, Simulator):
    """Equinix Fabric for a buyer: ``/oauth2/v1/token``, ``/ecx/v3/...`` and ``/fabric/v4/...``.

    ``client_credentials`` adds (id, secret) pairs to the documented default pair
    (``auth.DEFAULT_CLIENT_ID``/``DEFAULT_CLIENT_SECRET``). Errors outside a generation's
    routes (unknown paths, injected faults) answer in v4's ``ErrorList`` shape, the current
    API's; v3 routes answer their own validation errors in v3's shape.
    """

    provider: ClassVar[str] = "equinix"
    options: ClassVar[tuple[SandboxOption, ...]] = (
        SandboxOption(
            "--client-credentials", "ID:SECRET", "equinix: another client id and secret it signs in"
        ),
    )
    malformed_body: ClassVar[bytes] = b'{"pagination": {"offset": 0}, "data": [{"uuid": "trunc'

    def __init__(
        self,
        world: World,
        clock: Clock,
        faults: FaultConfig | None = None,
        *,
        operation_seconds: float = 30.0,
        client_credentials: Iterable[tuple[str, str]] = (),
        token_seconds: int = DEFAULT_TOKEN_SECONDS,
    ) -> None:
        super().__init__(world, clock, faults)
        self.state = EquinixState(world, clock, operation_seconds=operation_seconds)
        self.issuer = TokenIssuer(clock, client_credentials, token_seconds=token_seconds)

    def routes(self) -> list[BaseRoute]:
        def v3(handler: Handler) -> Handler:
            return guarded(self.issuer, "v3", handler)

        def v4(handler: Handler) -> Handler:
            return guarded(self.issuer, "v4", handler)

        return [
            Route("/oauth2/v1/token", self._token, methods=["POST"]),
            *self.v3_routes(v3),
            *self.v4_routes(v4),
        ]

    async def _token(self, request: Request) -> Any:
        return await self.issuer.token(request)

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        problem = Problem(message, code=V4_CODES.get(status))
        return v4_errors(status, (problem,)), {}

    def configure(self, flag: str, values: Sequence[str]) -> None:
        if flag != "--client-credentials":
            super().configure(flag, values)
        for value in values:
            self.add_client_credentials(*parse_client_credentials(value))

    def add_client_credentials(self, client_id: str, client_secret: str) -> None:
        """Another (id, secret) pair the token endpoint signs in (``--client-credentials``)."""
        self.issuer.add(client_id, client_secret)

    # --- for tests and the shell: what the simulator holds --------------------------------------

    def connection(self, uuid: str) -> dict[str, Any]:
        """A connection as v4 shows it now."""
        return self.state.v4_connection(self.state.connections[uuid.lower()])
