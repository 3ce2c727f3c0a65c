"""The Alibaba Cloud VPC API (2016-04-28) simulator: Express Connect physical connections.

One RPC endpoint, ``/``, takes GET or POST with the parameters in the query string (or a form
body), signed with V3 or V1 (``auth``). Then, in this order:

* **Throttling.** With a rate set (``rate_per_second``), each AccessKey has a token bucket on the
  injected clock; an empty bucket answers ``Throttling.User`` (status 400, as Alibaba's common
  error table says) with ``x-acs-retry-after`` in milliseconds.
* **Version and region.** ``Version`` / ``x-acs-version`` must be 2016-04-28 and ``RegionId`` set.
* **ClientToken.** A change sent again with the same token (within a day) gets the first answer
  again and is not done twice; the same token with other parameters is
  ``IdempotentParameterMismatch``.
* **The action** (``actions``), after the provider-side steps due by now were taken (``state``).

Answers are JSON with a ``RequestId``; errors are ``{RequestId, HostId, Code, Message,
Recommend}`` with the status the docs give. ``DescribePhysicalConnections`` pages (``PageSize``
1–50, default 10) and filters (``Filter.N.Key`` / ``Filter.N.Value.M``, at most five each; an
unknown key answers ``InvalidFilterKey.ValueNotSupported``, 404, as the seed says).

The sandbox accepts a documented default AccessKey pair (``auth.DEFAULT_ACCESS_KEY_ID`` /
``DEFAULT_ACCESS_KEY_SECRET``) and the pairs given to its constructor (``access_keys``).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from circuitbot.clock import Clock
from circuitbot.sandbox.alibaba import actions
from circuitbot.sandbox.alibaba.auth import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    RpcError,
    Verifier,
    parse_access_key,
)
from circuitbot.sandbox.alibaba.state import ALLOCATION_FAILED, Connection, Vbr, generated, key, seeded
from circuitbot.sandbox.base import SandboxOption, Simulator
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import World

API_VERSION = "2016-04-28"
HOST_ID = "vpc.aliyuncs.com"
MAX_PAGE_SIZE = 50
DELETE_STATES = ("Rejected", "Canceled", "AllocationFailed", "Terminated")
TOKEN_TTL = timedelta(hours=24)
_NEUTRAL_CODES = {
    "TooManyRequests": "Throttling.User",
    "InternalServerError": "InternalError",
    "ServiceUnavailable": "ServiceUnavailable",
    "NotFound": "InvalidAction.NotFound",
    "MethodNotAllowed": "UnsupportedHTTPMethod",
}
_FILTER = re.compile(r"^Filter\.(\d+)\.(Key|Value\.(\d+))$")


class AlibabaSimulator(Simulator):
    provider: ClassVar[str] = "alibaba"
    options: ClassVar[tuple[SandboxOption, ...]] = (
        SandboxOption(
            "--access-key", "ID:SECRET", "alibaba: another AccessKey pair whose signatures it accepts"
        ),
    )

    def __init__(
        self,
        world: World,
        clock: Clock,
        faults: FaultConfig | None = None,
        *,
        step_seconds: float = 30.0,
        access_keys: Mapping[str, str] | None = None,
        security_tokens: Mapping[str, str] | None = None,
        delete_states: Sequence[str] = DELETE_STATES,
        rate_per_second: float | None = None,
        burst: int = 20,
        throttle_status: int = 400,
        extra_connections: int | None = None,
        allocation_failed_spelling: str = ALLOCATION_FAILED,
    ) -> None:
        super().__init__(world, clock, faults)
        self.step = timedelta(seconds=step_seconds)
        self.verifier = Verifier(
            clock, {DEFAULT_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_SECRET, **(access_keys or {})}, security_tokens
        )
        self.delete_states = tuple(delete_states)
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.throttle_status = throttle_status
        self.allocation_failed_spelling = allocation_failed_spelling
        self.throttled = 0  # answers of Throttling.User (the bench reads it)
        self.created = 0  # connections created: new ids are numbered, the same in every run
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, monotonic time)
        self._tokens: dict[tuple[str, str], tuple[str, dict[str, Any], Any]] = {}
        now = clock.now()
        if extra_connections is None:  # one generated connection per generated circuit of the world
            extra_connections = max(0, len(world.circuits) - len(World.demo().circuits))
        extra = extra_connections
        self.connections: dict[str, Connection] = {
            c.pc_id: c for c in [*seeded(now), *generated(extra, 0, now)]
        }

    # --- what tests and the bench use ------------------------------------------------------------

    @property
    def regions(self) -> list[str]:
        return sorted({c.region for c in self.connections.values()})

    def connection(self, pc_id: str) -> Connection:
        self._advance()
        return self.connections[pc_id]

    def configure(self, flag: str, values: Sequence[str]) -> None:
        if flag != "--access-key":
            super().configure(flag, values)
        for pair in values:
            self.add_access_key(pair)

    def add_access_key(self, pair: str) -> None:
        """Accept another AccessKey pair, given as ``ID:SECRET`` (``--access-key``)."""
        key_id, secret = parse_access_key(pair)
        self.verifier.access_keys[key_id] = secret

    def reject(self, pc_id: str) -> None:
        """The provider rejects the application."""
        self.connections[pc_id].move("Rejected", self.clock.now())

    def fail_allocation(self, pc_id: str) -> None:
        self.connections[pc_id].move(self.allocation_failed_spelling, self.clock.now())

    def delete_vbrs(self, pc_id: str) -> None:
        self.connections[pc_id].vbrs.clear()

    def add_vbr(self, pc_id: str, vbr_id: str, vlan_id: int) -> None:
        self.connections[pc_id].vbrs.append(Vbr(vbr_id, vlan_id, created=self.clock.now()))

    # --- the shape -----------------------------------------------------------------------------

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        code = _NEUTRAL_CODES.get(code, code)
        body = {
            "RequestId": _request_id(),
            "HostId": HOST_ID,
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Vpc",
        }
        return body, {}

    def routes(self) -> list[BaseRoute]:
        return [Route("/", self._rpc, methods=["GET", "POST"])]

    async def _rpc(self, request: Request) -> Response:
        try:
            return await self._answer(request)
        except RpcError as exc:
            return self.error_response(exc.status, exc.code, exc.message, exc.headers)

    async def _answer(self, request: Request) -> Response:
        body = await request.body()
        form: dict[str, str] = {}
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = {k: str(v) for k, v in (await request.form()).items()}
        query = dict(request.query_params)
        signed = self.verifier.verify(request.method, request.headers, query, body, form)
        self._throttle(signed.access_key_id)
        if signed.version != API_VERSION:
            raise RpcError(
                400, "InvalidVersion", f"Specified parameter Version is not valid: {signed.version}."
            )
        params = {k: v for k, v in signed.params.items() if k != "Format"}
        region = params.pop("RegionId", None)
        if not region:
            raise RpcError(
                400, "MissingParameter", "The input parameter RegionId that is mandatory is not supplied."
            )
        handler = self._handlers().get(signed.action)
        if handler is None:
            raise RpcError(400, "InvalidAction.NotFound", f"Specified api is not found: {signed.action}.")
        token = params.pop("ClientToken", None)
        if token is not None and signed.action != "DescribePhysicalConnections":
            return self._idempotent(signed.access_key_id, signed.action, token, region, params)
        self._advance()
        return JSONResponse({"RequestId": _request_id(), **handler(region, params)})

    def _idempotent(
        self, key_id: str, action: str, token: str, region: str, params: dict[str, str]
    ) -> Response:
        fingerprint = hashlib.sha256(
            json.dumps([action, region, params], sort_keys=True).encode()
        ).hexdigest()
        now = self.clock.now()
        for old in [k for k, (_, _, at) in self._tokens.items() if now - at > TOKEN_TTL]:
            del self._tokens[old]  # a token is remembered for a day, as long as a retry may come
        stored = self._tokens.get((key_id, token))
        if stored is not None:
            if stored[0] != fingerprint:
                raise RpcError(
                    400, "IdempotentParameterMismatch", "The same ClientToken was used with other parameters."
                )
            return JSONResponse({"RequestId": _request_id(), **stored[1]})
        self._advance()
        answer = self._handlers()[action](region, params)
        self._tokens[(key_id, token)] = (fingerprint, answer, self.clock.now())
        return JSONResponse({"RequestId": _request_id(), **answer})

    def _throttle(self, key_id: str) -> None:
        if not self.rate_per_second:
            return
        now = self.clock.monotonic()
        tokens, then = self._buckets.get(key_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate_per_second)
        if tokens < 1:
            self._buckets[key_id] = (tokens, now)
            self.throttled += 1
            wait_ms = max(1, int((1 - tokens) / self.rate_per_second * 1000))
            raise RpcError(
                self.throttle_status,
                "Throttling.User",
                "Request was denied due to user flow control.",
                {"x-acs-retry-after": str(wait_ms)},
            )
        self._buckets[key_id] = (tokens - 1, now)

    def _advance(self) -> None:
        now = self.clock.now()
        for connection in self.connections.values():
            if connection.since is not None:
                connection.advance(now, self.step)

    # --- actions -------------------------------------------------------------------------------

    def _handlers(self) -> dict[str, Any]:
        return {
            "DescribePhysicalConnections": self._describe,
            "DescribeVirtualBorderRoutersForPhysicalConnection": self._vbrs,
            "CreatePhysicalConnection": self._create,
            "ModifyPhysicalConnectionAttribute": self._modify,
            "CancelPhysicalConnection": self._simple(actions.cancel),
            "EnablePhysicalConnection": self._simple(actions.enable),
            "TerminatePhysicalConnection": self._simple(actions.terminate),
            "DeletePhysicalConnection": self._delete,
        }

    def _find(self, region: str, pc_id: str | None) -> Connection:
        if not pc_id:
            raise RpcError(
                400,
                "MissingParameter",
                "The input parameter PhysicalConnectionId that is mandatory is not supplied.",
            )
        found = self.connections.get(pc_id)
        if found is None or found.region != region:
            raise actions.not_found(pc_id)
        return found

    def _describe(self, region: str, params: dict[str, str]) -> dict[str, Any]:
        page, size = _paging(params)
        filters = _filters(params)
        ids = filters.get("PhysicalConnectionId")
        if ids is not None:  # by id: looked up, not searched (the poller's filter)
            candidates = [self.connections[i] for i in dict.fromkeys(ids) if i in self.connections]
        else:
            candidates = list(self.connections.values())
        items = [c for c in candidates if c.region == region and _matches(c, filters)]
        shown = items[(page - 1) * size : page * size]
        return {
            "PageNumber": page,
            "PageSize": size,
            "TotalCount": len(items),
            "PhysicalConnectionSet": {"PhysicalConnectionType": [c.wire() for c in shown]},
        }

    def _vbrs(self, region: str, params: dict[str, str]) -> dict[str, Any]:
        connection = self._find(region, params.get("PhysicalConnectionId"))
        page, size = _paging(params)
        vbrs = connection.vbrs[(page - 1) * size : page * size]
        return {
            "PageNumber": page,
            "PageSize": str(size),
            "TotalCount": str(len(connection.vbrs)),
            "VirtualBorderRouterForPhysicalConnectionSet": {
                "VirtualBorderRouterForPhysicalConnectionType": [
                    v.wire(connection.circuit_code) for v in vbrs
                ]
            },
        }

    def _create(self, region: str, params: dict[str, str]) -> dict[str, Any]:
        actions.check_account(list(self.connections.values()))
        actions.check_fields(params, creating=True)
        actions.check_redundant(params.get("RedundantPhysicalConnectionId"), self._same_account)
        self.created += 1
        connection = actions.new_connection(new_id(region, self.created), region, params, self.clock.now())
        self.connections[connection.pc_id] = connection
        return {"PhysicalConnectionId": connection.pc_id}

    def _same_account(self, pc_id: str) -> Connection | None:
        return self.connections.get(pc_id)

    def _modify(self, region: str, params: dict[str, str]) -> dict[str, Any]:
        connection = self._find(region, params.get("PhysicalConnectionId"))
        actions.modify(connection, params, self._same_account, self.clock.now())
        return {}

    def _simple(self, act: Any) -> Any:
        def handle(region: str, params: dict[str, str]) -> dict[str, Any]:
            act(self._find(region, params.get("PhysicalConnectionId")), self.clock.now())
            return {}

        return handle

    def _delete(self, region: str, params: dict[str, str]) -> dict[str, Any]:
        connection = self._find(region, params.get("PhysicalConnectionId"))
        actions.check_delete(connection, self.delete_states)
        del self.connections[connection.pc_id]
        return {}


def new_id(region: str, number: int) -> str:
    """The id of the ``number``-th connection created: ``pc-`` and 20 characters, as Alibaba's look,
    the same in every run so a walk-through can be written down."""
    return "pc-" + hashlib.sha256(f"{region}/{number}".encode()).hexdigest()[:20]


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _paging(params: Mapping[str, str]) -> tuple[int, int]:
    try:
        page = int(params.get("PageNumber", "1"))
        size = int(params.get("PageSize", "10"))
    except ValueError:
        raise RpcError(400, "InvalidParameter", "PageNumber and PageSize are integers.") from None
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise RpcError(
            400, "InvalidParameter", f"PageNumber is at least 1 and PageSize 1 to {MAX_PAGE_SIZE}."
        )
    return page, size


def _filters(params: Mapping[str, str]) -> dict[str, list[str]]:
    """``Filter.N.Key`` / ``Filter.N.Value.M`` as {key: values}; N and M at most 5."""
    keys: dict[int, str] = {}
    values: dict[int, list[tuple[int, str]]] = {}
    for name, value in params.items():
        match = _FILTER.match(name)
        if match is None:
            continue
        n = int(match.group(1))
        m = int(match.group(3)) if match.group(3) else 0
        if not 1 <= n <= 5 or m > 5:
            raise RpcError(400, "InvalidParameter", f"{name}: at most 5 filters of at most 5 values.")
        if match.group(2) == "Key":
            if value not in FILTERED_FIELDS:  # the documented filter keys
                raise RpcError(
                    404,
                    "InvalidFilterKey.ValueNotSupported",
                    f"Specified filter key is not supported: Filter.{n}.Key",
                )
            keys[n] = value
        else:
            values.setdefault(n, []).append((m, value))
    return {keys[n]: [v for _, v in sorted(values.get(n, []))] for n in keys}


FILTERED_FIELDS = {
    "PhysicalConnectionId": lambda c: c.pc_id,
    "AccessPointId": lambda c: c.access_point_id,
    "Type": lambda c: "VPC",
    "LineOperator": lambda c: c.line_operator,
    "Spec": lambda c: c.spec(),
    "Status": lambda c: key(c.status),
    "Name": lambda c: c.name or "",
    "ProductType": lambda c: "PhysicalConnection",
}


def _matches(connection: Connection, filters: Mapping[str, list[str]]) -> bool:
    """Every filter holds (AND), each by one of its values (OR); Status in either spelling."""
    for name, wanted in filters.items():
        have = FILTERED_FIELDS[name](connection)
        if have not in ({key(w) for w in wanted} if name == "Status" else wanted):
            return False
    return True
