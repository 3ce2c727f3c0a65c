"""Fabric v4 routes: ports, metros, prices, service profiles, connections (search, validate,
create, get, delete) and port stats, in the spec's shapes.

* Lists page with ``offset``/``limit`` (1..100; more is a 400), answering
  ``{pagination: {offset, limit, total, next, previous}, data}``.
* Searches evaluate the spec's filter language on the connection as rendered: ``and``/``or``
  nesting of ``{property, operator, values}`` with ``=``, ``!=``, ``IN``, ``LIKE`` over JSON
  pointers such as ``/zSide/accessPoint/authenticationKey``.
* A create answers 201 with the connection; a delete 200 with it, DEPROVISIONING.
"""

from __future__ import annotations

import fnmatch
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from circuitbot.sandbox.equinix import orders
from circuitbot.sandbox.equinix.common import (
    Problem,
    SimError,
    int_param,
    json_body,
    parse_time,
    traffic_series,
)
from circuitbot.sandbox.equinix.data import CURRENCY, LOCAL_PRICES, REMOTE_PRICES
from circuitbot.sandbox.equinix.state import EquinixState

ROOT = "/fabric/v4"
MAX_LIMIT = 100
MAX_POINTS = 48


def page(items: list[Any], offset: int, limit: int, path: str) -> dict[str, Any]:
    pagination: dict[str, Any] = {"offset": offset, "limit": limit, "total": len(items)}
    if offset + limit < len(items):
        pagination["next"] = f"{path}?offset={offset + limit}&limit={limit}"
    if offset > 0:
        pagination["previous"] = f"{path}?offset={max(0, offset - limit)}&limit={limit}"
    return {"pagination": pagination, "data": items[offset : offset + limit]}


def pointer(document: Any, path: str) -> Any:
    for part in path.strip("/").split("/"):
        if isinstance(document, dict):
            document = document.get(part)
        elif isinstance(document, list):
            return [pointer(item, part) for item in document]
        else:
            return None
    return document


def matches(document: dict[str, Any], expression: Any) -> bool:
    if not isinstance(expression, dict):
        raise SimError(400, Problem("A filter expression must be an object.", property="filter"))
    if "and" in expression:
        return all(matches(document, e) for e in expression["and"])
    if "or" in expression:
        return any(matches(document, e) for e in expression["or"])
    prop, operator, values = expression.get("property"), expression.get("operator"), expression.get("values")
    if not isinstance(prop, str) or not isinstance(values, list):
        raise SimError(400, Problem("A filter needs property, operator and values.", property="filter"))
    found = pointer(document, prop)
    candidates = (
        [str(v) for v in found] if isinstance(found, list) else [str(found)] if found is not None else []
    )
    wanted = [str(v) for v in values]
    if operator in ("=", "IN"):
        return any(c in wanted for c in candidates)
    if operator == "!=":
        return not any(c in wanted for c in candidates)
    if operator in ("LIKE", "ILIKE"):
        return any(
            fnmatch.fnmatch(c.lower(), w.replace("%", "*").lower()) for c in candidates for w in wanted
        )
    raise SimError(400, Problem(f"Operator {operator} is not supported.", property="filter"))


def uuids_wanted(expression: Any) -> list[str] | None:
    """The uuids a filter's top-level ``and`` restricts it to (``/uuid`` ``=`` or ``IN``), so a
    search by uuid renders those connections only; None when it does not restrict them."""
    if not isinstance(expression, dict):
        return None
    terms = expression.get("and") if "and" in expression else [expression]
    for term in terms if isinstance(terms, list) else []:
        if isinstance(term, dict) and term.get("property") == "/uuid" and term.get("operator") in ("=", "IN"):
            values = term.get("values")
            if isinstance(values, list):
                return [str(v).lower() for v in values]
    return None


def _only_uuids(expression: Any) -> bool:
    """The filter is nothing but a uuid restriction (the poller's search)."""
    terms = expression.get("and") if isinstance(expression, dict) and "and" in expression else [expression]
    return isinstance(terms, list) and len(terms) == 1 and uuids_wanted(expression) is not None


class FabricV4:
    state: EquinixState

    def v4_routes(self, guard: Any) -> list[Route]:
        return [
            Route(f"{ROOT}/ports", guard(self._v4_ports), methods=["GET"]),
            Route(f"{ROOT}/ports/{{portId}}", guard(self._v4_port), methods=["GET"]),
            Route(f"{ROOT}/ports/{{portId}}/stats", guard(self._v4_port_stats), methods=["GET"]),
            Route(f"{ROOT}/metros", guard(self._v4_metros), methods=["GET"]),
            Route(f"{ROOT}/prices/search", guard(self._v4_prices), methods=["POST"]),
            Route(f"{ROOT}/serviceProfiles", guard(self._v4_profiles), methods=["GET"]),
            Route(f"{ROOT}/serviceProfiles/search", guard(self._v4_profile_search), methods=["POST"]),
            Route(f"{ROOT}/serviceProfiles/{{profileId}}", guard(self._v4_profile), methods=["GET"]),
            Route(f"{ROOT}/connections", guard(self._v4_create), methods=["POST"]),
            Route(f"{ROOT}/connections/search", guard(self._v4_search), methods=["POST"]),
            Route(f"{ROOT}/connections/validate", guard(self._v4_validate), methods=["POST"]),
            Route(f"{ROOT}/connections/{{connectionId}}", guard(self._v4_get), methods=["GET"]),
            Route(f"{ROOT}/connections/{{connectionId}}", guard(self._v4_delete), methods=["DELETE"]),
        ]

    def _v4_query_page(self, request: Request, items: list[Any]) -> Response:
        q = request.query_params
        offset = int_param(q.get("offset"), "offset", 0, low=0, high=10**9)
        limit = int_param(q.get("limit"), "limit", 20, low=1, high=MAX_LIMIT)
        return JSONResponse(page(items, offset, limit, request.url.path))

    async def _v4_search_page(
        self, request: Request, items: list[dict[str, Any]], *, filtered: bool = False
    ) -> Response:
        """``items`` by the body's filter (unless ``filtered`` already) and pagination."""
        body = await json_body(request)
        if "filter" in body and not filtered:
            items = [item for item in items if matches(item, body["filter"])]
        pagination = body.get("pagination") or {}
        offset = int_param(pagination.get("offset"), "offset", 0, low=0, high=10**9)
        limit = int_param(pagination.get("limit"), "limit", 20, low=1, high=MAX_LIMIT)
        return JSONResponse(page(items, offset, limit, request.url.path))

    async def _v4_ports(self, request: Request) -> Response:
        return self._v4_query_page(request, [self.state.v4_port(p) for p in self.state.ports.values()])

    async def _v4_port(self, request: Request) -> Response:
        port = self.state.port_of(request.path_params["portId"])
        if port is None:
            raise SimError(404, Problem("uuid not found"))
        return JSONResponse(self.state.v4_port(port))

    async def _v4_port_stats(self, request: Request) -> Response:
        port = self.state.port_of(request.path_params["portId"])
        if port is None:
            raise SimError(404, Problem("uuid not found"))
        start = parse_time(request.query_params.get("startDateTime"), "startDateTime")
        end = parse_time(request.query_params.get("endDateTime"), "endDateTime")
        utilization: dict[str, Any] = {"unit": "Mbps", "metricInterval": _interval(start, end)}
        for direction in ("inbound", "outbound"):
            series = traffic_series(port.uuid, direction, start, end, MAX_POINTS)
            utilization[direction] = {
                "max": max(p[1] for p in series),
                "mean": round(sum(p[2] for p in series) / len(series), 3),
                "lastPolled": series[-1][2],
                "metrics": [
                    {"intervalEndDateTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "max": top, "mean": mean}
                    for at, top, mean in series
                ],
            }
        return JSONResponse(
            {
                "type": "XF_PORT",
                "uuid": port.uuid,
                "name": port.name,
                "stats": {
                    "startDateTime": request.query_params["startDateTime"],
                    "endDateTime": request.query_params["endDateTime"],
                    "bandwidthUtilization": utilization,
                },
            }
        )

    async def _v4_metros(self, request: Request) -> Response:
        metros = [
            {
                "href": f"https://api.equinix.com/fabric/v4/metros/{m.code}",
                "type": "XF_METRO",
                "code": m.code,
                "name": m.name,
                "region": m.region,
                "connectedMetros": [
                    {"code": code, "avgLatency": 10 + 3 * n, "remoteVCBandwidthMax": 10000}
                    for n, code in enumerate(m.reach)
                ],
            }
            for m in self.state.metros.values()
        ]
        return self._v4_query_page(request, metros)

    async def _v4_prices(self, request: Request) -> Response:
        body = await json_body(request)
        port = None
        for expression in (body.get("filter") or {}).get("and") or []:
            if (
                isinstance(expression, dict)
                and expression.get("property") == "/connection/aSide/accessPoint/port/uuid"
            ):
                port = self.state.port_of(str((expression.get("values") or [""])[0]))
        if port is None:
            raise SimError(
                400,
                Problem(
                    "A price search needs /connection/aSide/accessPoint/port/uuid of your port.",
                    property="filter",
                ),
            )
        items = []
        for speed, remote in REMOTE_PRICES.items():
            for metro in self.state.metros:
                price = LOCAL_PRICES[speed] if metro == port.metro else remote
                items.append(
                    {
                        "type": "VIRTUAL_CONNECTION_PRODUCT",
                        "code": "ECX00015.PROD",
                        "name": "Equinix Fabric Virtual Connection Product",
                        "charges": [{"type": "MONTHLY_RECURRING", "price": price}],
                        "currency": CURRENCY.get(port.region, "USD"),
                        "connection": {
                            "type": "EVPL_VC",
                            "bandwidth": speed,
                            "aSide": {
                                "accessPoint": {
                                    "type": "COLO",
                                    "location": {"metroCode": port.metro},
                                    "port": {"uuid": port.uuid},
                                }
                            },
                            "zSide": {"accessPoint": {"type": "SP", "location": {"metroCode": metro}}},
                        },
                    }
                )
        filtered = [item for item in items if matches(item, body.get("filter") or {"and": []})]
        return JSONResponse(page(filtered, 0, max(1, len(filtered)), request.url.path))

    async def _v4_profiles(self, request: Request) -> Response:
        return self._v4_query_page(request, [self.state.v4_profile(p) for p in self.state.profiles.values()])

    async def _v4_profile_search(self, request: Request) -> Response:
        return await self._v4_search_page(
            request, [self.state.v4_profile(p) for p in self.state.profiles.values()]
        )

    async def _v4_profile(self, request: Request) -> Response:
        profile = self.state.profiles.get(request.path_params["profileId"].lower())
        if profile is None:
            raise SimError(404, Problem("uuid not found"))
        return JSONResponse(self.state.v4_profile(profile))

    async def _v4_search(self, request: Request) -> Response:
        """Connections by filter; a search by uuid renders only the connections it names."""
        body = await json_body(request)
        wanted = uuids_wanted(body.get("filter"))
        connections = self.state.connections
        chosen = (
            connections.values() if wanted is None else [connections[u] for u in wanted if u in connections]
        )
        return await self._v4_search_page(request, [self.state.v4_connection(c) for c in chosen])

    async def _v4_validate(self, request: Request) -> Response:
        body = await json_body(request)
        values = {
            e.get("property"): (e.get("values") or [None])[0]
            for e in (body.get("filter") or {}).get("and") or []
            if isinstance(e, dict)
        }
        key = values.get("/zSide/accessPoint/authenticationKey")
        profile = self.state.profiles.get(str(values.get("/zSide/accessPoint/profile/uuid") or "").lower())
        if not key or profile is None:
            raise SimError(400, Problem("Invalid argument value passed.", property="filter"))
        if not self.state.known_key(str(key)):
            raise SimError(
                400,
                Problem(
                    "Authorization key is not valid for this profile.",
                    property="/zSide/accessPoint/authenticationKey",
                ),
            )
        existing = [
            c for c in self.state.connections.values() if c.key == str(key).lower() and not self.state.gone(c)
        ]
        return JSONResponse(
            {
                "additionalInfo": [{"key": "message", "value": "Authorization key provided is valid"}],
                "data": [
                    {
                        "bandwidth": c.speed_mbps,
                        "redundancy": {"priority": c.priority},
                        "zSide": {
                            "accessPoint": {
                                "type": "SP",
                                "location": {"metroCode": c.seller_metro},
                                "peeringType": c.peering,
                            }
                        },
                    }
                    for c in existing
                ],
            }
        )

    async def _v4_create(self, request: Request) -> Response:
        body = await json_body(request)
        order = _order(body)
        orders.check(self.state, order)
        [connection] = orders.place(self.state, order)
        return JSONResponse(self.state.v4_connection(connection), status_code=201)

    async def _v4_get(self, request: Request) -> Response:
        connection = orders.find(self.state, request.path_params["connectionId"])
        return JSONResponse(self.state.v4_connection(connection))

    async def _v4_delete(self, request: Request) -> Response:
        connection = orders.remove(self.state, request.path_params["connectionId"])
        return JSONResponse(self.state.v4_connection(connection))


def _interval(start: datetime, end: datetime) -> str:
    minutes = max(5, int((end - start).total_seconds() // 60 // MAX_POINTS))
    return f"PT{minutes}M"


def _order(body: dict[str, Any]) -> orders.OrderRequest:
    a = pointer(body, "/aSide/accessPoint") or {}
    z = pointer(body, "/zSide/accessPoint") or {}
    link = a.get("linkProtocol") or {} if isinstance(a, dict) else {}
    redundancy = body.get("redundancy") or {}
    emails = [
        e for n in body.get("notifications") or [] if isinstance(n, dict) for e in n.get("emails") or []
    ]
    if not isinstance(a, dict) or not isinstance(z, dict):
        raise SimError(400, Problem("aSide and zSide access points are required.", property="aSide"))
    bandwidth = body.get("bandwidth")
    return orders.OrderRequest(
        profile_uuid=str(pointer(z, "/profile/uuid") or "").lower() or None,
        seller_metro=pointer(z, "/location/metroCode"),
        speed_mbps=bandwidth if isinstance(bandwidth, int) else None,
        key=z.get("authenticationKey"),
        peering=str(z.get("peeringType") or "PRIVATE"),
        notifications=[str(e) for e in emails],
        legs=[
            orders.LegRequest(
                name=body.get("name"),
                port_uuid=pointer(a, "/port/uuid"),
                vlan=link.get("vlanTag", link.get("vlanSTag")),
                priority=str(redundancy.get("priority") or "PRIMARY").upper(),
                group=redundancy.get("group"),
            )
        ],
        purchase_order=pointer(body, "/order/purchaseOrderNumber"),
    )
