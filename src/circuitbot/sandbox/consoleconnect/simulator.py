"""The Console Connect simulator: Azure Direct Connect Partner connections of one company.

Rules it keeps, from the API guide (seed 002) and the research notes:

* **Auth.** ``Authorization: Bearer <api key>`` (or the deprecated ``portal-token: <key>``) with
  one of the keys it was started with: ``DEFAULT_API_KEY`` and any given to the constructor, or
  a token from the deprecated ``PUT /api/auth/token`` sign-in. Without one: 401. A path naming
  another company than ``company`` (default: the World's, ``Acme``): 403.
* **Verbs.** Create is PUT, update is POST, delete is DELETE; a connection is deleted on the
  ``/api/v2/`` path (the v1 path answers too).
* **Service keys** of the World's circuits verify; others answer 400 ``InvalidServiceKey``.
  A key already carried by a live connection, or whose circuit is no longer awaiting a
  provider, cannot be ordered again (400 ``ServiceKeyInUse``).
* **Peering configs** are refused (400 ``ConnectionNotActive``) until the connection is ACTIVE.
* **Lists** answer ``{"results": [...], "total": n}`` a page at a time (``limit``, ``offset``).
* **Errors** answer ``{"statusCode", "code", "error", "message"}``: the guide shows no error
  shape, so this one follows the JSON error answers common to such APIs.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from circuitbot.clock import Clock
from circuitbot.sandbox.base import SandboxOption, Simulator
from circuitbot.sandbox.consoleconnect.state import (
    PEERING_TYPES,
    ConsoleConnectState,
    PeeringRecord,
    SandboxConnection,
    Spelling,
    object_id,
)
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import CircuitStage, World

DEFAULT_API_KEY = "cc-sandbox-api-key"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
NOT_ACTIVE = (
    "You can not call this endpoint before the connection has been provisioned "
    "(before the connection status is ACTIVE)."
)
COMPANY = "/api/company/{username}"
AZURE = f"{COMPANY}/connections/directConnectPartner/AZURE/layer2"
PEERING = f"{AZURE}/{{connectionId}}/peering/{{peeringType}}"

Handler = Callable[[Request], Awaitable[Response]]


class CCError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ConsoleConnectSimulator(Simulator):
    provider: ClassVar[str] = "consoleconnect"
    options: ClassVar[tuple[SandboxOption, ...]] = (
        SandboxOption("--api-key", "KEY", "consoleconnect: another API key it accepts"),
        SandboxOption("--company", "NAME", "consoleconnect: the company username in its paths", single=True),
    )

    def __init__(
        self,
        world: World,
        clock: Clock,
        faults: FaultConfig | None = None,
        *,
        operation_seconds: float = 60.0,
        peering_seconds: float | None = None,
        api_keys: Sequence[str] = (),
        company: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        spelling: Spelling = "space",
    ) -> None:
        super().__init__(world, clock, faults)
        self.api_keys = {DEFAULT_API_KEY, *api_keys}
        self.company = company or world.company
        self.page_size = page_size
        self.state = ConsoleConnectState(
            world,
            operation_seconds=operation_seconds,
            peering_seconds=peering_seconds if peering_seconds is not None else operation_seconds,
            spelling=spelling,
        )
        self.state.seed(clock.now())

    def configure(self, flag: str, values: Sequence[str]) -> None:
        if flag == "--api-key":
            self.add_api_keys(values)
        elif flag == "--company":
            self.company = values[-1]
        else:
            super().configure(flag, values)

    def add_api_keys(self, keys: Sequence[str]) -> None:
        """Accept more API keys (``sandbox serve --api-key KEY``, repeatable)."""
        self.api_keys.update(k for k in keys if k)

    # --- for tests and the shell --------------------------------------------------------------

    def connection(self, connection_id: str) -> SandboxConnection:
        return self.state.connections[connection_id]

    def status_of(self, connection_id: str) -> tuple[str, str]:
        return self.state.status(self.connection(connection_id), self.clock.now())

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return {"statusCode": status, "code": code, "error": phrase, "message": message}, {}

    # --- routes -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        v2 = "/api/v2/company/{username}/connections/{connectionId}"
        return [
            Route(f"{COMPANY}/connections", self._api(self._list), methods=["GET"]),
            Route(f"{COMPANY}/connections/{{connectionId}}", self._api(self._get), methods=["GET"]),
            Route(f"{COMPANY}/connections/{{connectionId}}", self._api(self._delete), methods=["DELETE"]),
            Route(v2, self._api(self._get), methods=["GET"]),
            Route(v2, self._api(self._delete), methods=["DELETE"]),
            Route(f"{COMPANY}/ports", self._api(self._ports), methods=["GET"]),
            Route(f"{AZURE}/serviceKey", self._api(self._verify), methods=["POST"]),
            Route(f"{AZURE}/create", self._api(self._create), methods=["PUT"]),
            Route(PEERING, self._api(self._peering_get), methods=["GET"]),
            Route(PEERING, self._api(self._peering_post), methods=["POST"]),
            Route(PEERING, self._api(self._peering_delete), methods=["DELETE"]),
            Route("/api/auth/token", self._sign_in, methods=["PUT"]),
        ]

    def _api(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                self._authenticate(request)
                return await handler(request)
            except CCError as error:
                return self.error_response(error.status, error.code, error.message)

        return endpoint

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        key = (
            header[7:].strip()
            if header.lower().startswith("bearer ")
            else request.headers.get("portal-token")
        )
        if not key or key not in self.api_keys:
            raise CCError(
                401, "Unauthorized", "A valid API key is required (Authorization: Bearer <api key>)."
            )
        if request.path_params.get("username", "").lower() != self.company.lower():
            raise CCError(403, "Forbidden", "The API key may not act for this company.")

    async def _sign_in(self, request: Request) -> Response:
        """The deprecated portal-token sign-in: any email and password get a token, which is
        accepted from then on like an API key (in either header)."""
        try:
            body = await _json(request)
            email, password = body.get("email"), body.get("password")
            if not isinstance(email, str) or not email or not isinstance(password, str) or not password:
                raise CCError(400, "ValidationError", "email and password are required.")
        except CCError as error:
            return self.error_response(error.status, error.code, error.message)
        token = hashlib.sha256(f"{email}:{len(self.api_keys)}".encode()).hexdigest()
        self.api_keys.add(token)
        user = email.split("@")[0]
        return JSONResponse(
            {"token": token, "id": object_id(email), "username": user, "name": user.title(), "email": email}
        )

    # --- connections --------------------------------------------------------------------------

    def _find(self, request: Request) -> SandboxConnection:
        connection = self.state.connections.get(request.path_params["connectionId"])
        if connection is None:
            raise CCError(404, "NotFound", f"Connection {request.path_params['connectionId']} not found.")
        return connection

    async def _list(self, request: Request) -> Response:
        limit, offset = _int(request, "limit", self.page_size), _int(request, "offset", 0)
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        items = list(self.state.connections.values())
        now = self.clock.now()
        page = [self.state.render(c, now) for c in items[offset : offset + limit]]
        return JSONResponse({"results": page, "total": len(items)})

    async def _get(self, request: Request) -> Response:
        return JSONResponse(self.state.render(self._find(request), self.clock.now()))

    async def _delete(self, request: Request) -> Response:
        connection = self._find(request)
        now = self.clock.now()
        status, _ = self.state.status(connection, now)
        if status in ("DELETING", "DELETED"):
            raise CCError(400, "InvalidStatus", f"Connection {connection.id} is already {status}.")
        connection.delete_asked_at = now
        connection.updated_at = now
        connection.fixed = None
        return JSONResponse(self.state.render(connection, now))

    async def _ports(self, request: Request) -> Response:
        ports = [self.state.render_port(p) for p in self.state.ports.values()]
        limit, offset = _int(request, "limit", self.page_size), _int(request, "offset", 0)
        return JSONResponse({"results": ports[offset : offset + max(1, limit)], "total": len(ports)})

    async def _verify(self, request: Request) -> Response:
        body = await _json(request)
        key = body.get("serviceKey")
        circuit = self.state.circuit(key) if isinstance(key, str) else None
        if circuit is None:
            raise CCError(400, "InvalidServiceKey", f"The service key {key!r} is not valid.")
        live = self.state.live_for_key(circuit.service_key, self.clock.now())
        return JSONResponse(
            {
                "serviceKey": circuit.service_key,
                "bandwidth": circuit.bandwidth_mbps,
                "peeringLocation": circuit.peering_location,
                "serviceProviderName": "Console Connect",
                "serviceProviderProvisioningState": (
                    "Provisioned" if live else circuit.service_provider_provisioning_state
                ),
            }
        )

    async def _create(self, request: Request) -> Response:
        body = await _json(request)
        now = self.clock.now()
        key = body.get("azureServiceKey")
        circuit = self.state.circuit(key) if isinstance(key, str) else None
        if circuit is None:
            raise CCError(400, "InvalidServiceKey", f"The service key {key!r} is not valid.")
        if (
            self.state.live_for_key(circuit.service_key, now)
            or circuit.stage is not CircuitStage.AWAITING_PROVIDER
        ):
            raise CCError(400, "ServiceKeyInUse", "The service key is already used by a connection.")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CCError(400, "ValidationError", "name is required.")
        ports = self._source_ports(body.get("srcPort"))
        speed = body.get("speed")
        if isinstance(speed, bool) or not isinstance(speed, int | float) or speed <= 0:
            raise CCError(400, "ValidationError", "speed is a number of Mbps.")
        if speed > circuit.bandwidth_mbps:
            raise CCError(
                400,
                "ValidationError",
                f"speed {speed:g} exceeds the circuit's {circuit.bandwidth_mbps} Mbps.",
            )
        payment = body.get("paymentType", "payg")
        if payment not in ("payg", "invoice"):
            raise CCError(400, "ValidationError", "paymentType is payg or invoice.")
        new_id = self.state.new_id()
        connection = SandboxConnection(
            id=new_id,
            name=name.strip(),
            service_key=circuit.service_key,
            speed_mbps=int(speed),
            port_ids=(ports[0], ports[-1]),
            payment_type=payment,
            created_at=now,
            updated_at=now,
            sub_ids=(self.state.new_id(), self.state.new_id()),
        )
        self.state.connections[new_id] = connection
        return JSONResponse(self.state.render(connection, now))

    def _source_ports(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not 1 <= len(value) <= 2:
            raise CCError(400, "ValidationError", 'srcPort lists one or two ports: [{"portId": …}].')
        ids = [item.get("portId") if isinstance(item, dict) else None for item in value]
        for port_id in ids:
            if port_id not in self.state.ports:
                raise CCError(400, "InvalidPort", f"Port {port_id!r} is not a port of {self.company}.")
        return [str(port_id) for port_id in ids]

    # --- peering configs ----------------------------------------------------------------------

    def _peering_kind(self, request: Request) -> str:
        kind = request.path_params["peeringType"]
        if kind not in PEERING_TYPES:
            raise CCError(400, "ValidationError", "peeringType is PUBLIC, PRIVATE or MICROSOFT.")
        return kind

    def _peering_record(self, request: Request) -> tuple[SandboxConnection, PeeringRecord]:
        connection, kind = self._find(request), self._peering_kind(request)
        record = connection.peerings.get(kind)
        if record is None:
            raise CCError(404, "NotFound", f"Connection {connection.id} has no {kind} peering config.")
        return connection, record

    async def _peering_get(self, request: Request) -> Response:
        _, record = self._peering_record(request)
        return JSONResponse(self.state.render_peering(record, self.clock.now()))

    async def _peering_post(self, request: Request) -> Response:
        connection, kind = self._find(request), self._peering_kind(request)
        now = self.clock.now()
        if self.state.status(connection, now)[0] != "ACTIVE":
            raise CCError(400, "ConnectionNotActive", NOT_ACTIVE)
        config = _peering_config(kind, await _json(request))
        record = PeeringRecord(kind, config, now)
        connection.peerings[kind] = record
        connection.updated_at = now
        return JSONResponse(self.state.render_peering(record, now))

    async def _peering_delete(self, request: Request) -> Response:
        connection, record = self._peering_record(request)
        del connection.peerings[record.kind]
        connection.updated_at = self.clock.now()
        return Response(status_code=200, content=b"{}", media_type="application/json")


def _peering_config(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The config as stored, after the checks Azure makes of a peering."""
    asn = body.get("peerASN")
    if isinstance(asn, bool) or not isinstance(asn, int) or not 1 <= asn <= 4_294_967_295:
        raise CCError(400, "ValidationError", "peerASN is 1–4294967295.")
    vlan = body.get("vlanId")
    if isinstance(vlan, bool) or not isinstance(vlan, int) or not 1 <= vlan <= 4094:
        raise CCError(400, "ValidationError", "vlanId is 1–4094.")
    for name in ("primaryPeerAddressPrefix", "secondaryPeerAddressPrefix"):
        try:
            ipaddress.ip_network(str(body.get(name)), strict=True)
        except ValueError:
            raise CCError(400, "ValidationError", f"{name} is a subnet such as 10.0.0.0/30.") from None
    microsoft = kind == "MICROSOFT"
    has_public = bool(body.get("advertisedPublicPrefixes")) or bool(body.get("routingRegistryName"))
    if microsoft and not (body.get("advertisedPublicPrefixes") and body.get("routingRegistryName")):
        raise CCError(
            400,
            "ValidationError",
            "MICROSOFT peering needs advertisedPublicPrefixes and routingRegistryName.",
        )
    if not microsoft and has_public:
        raise CCError(
            400, "ValidationError", "advertisedPublicPrefixes and routingRegistryName are for MICROSOFT only."
        )
    allowed = {
        "peerASN", "vlanId", "primaryPeerAddressPrefix", "secondaryPeerAddressPrefix", "sharedKey",
        "advertisedPublicPrefixes", "routingRegistryName", "customerASN",
    }  # fmt: skip
    return {k: v for k, v in body.items() if k in allowed}


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise CCError(400, "ValidationError", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise CCError(400, "ValidationError", "The body is a JSON object.")
    return body


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise CCError(400, "ValidationError", f"{name} is a whole number.")
    return int(raw)
