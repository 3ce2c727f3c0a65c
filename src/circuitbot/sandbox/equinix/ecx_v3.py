"""v3 routes, exactly the seed's endpoints, plus the create of ecx-go (``POST /l2/connections``).

* Ports and metros answer bare arrays; profiles and buyer connections pages numbered from 0
  (``pageSize`` 1..100, default 20) with ``isFirstPage``, ``isLastPage`` and ``totalCount``.
* ``status`` filters take comma-separated values, ``metroCode`` repeats.
* One profile answers on both ``/l2/serviceprofiles/services/{uuid}`` (the seed) and
  ``/l2/serviceprofiles/{uuid}`` (ecx-go).
* A create orders the primary and (``secondary*`` fields) its redundant twin at once and
  answers only their ids; a delete answers ``{message, primaryConnectionId}``.
* Errors are one object, or an array when there are several.
"""

from __future__ import annotations

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
from circuitbot.sandbox.equinix.data import CURRENCY, LOCAL_PRICES, REMOTE_PRICES, Connection
from circuitbot.sandbox.equinix.state import EquinixState

ROOT = "/ecx/v3"
MAX_POINTS = 24


def numbered_page(request: Request, items: list[Any]) -> dict[str, Any]:
    size = int_param(request.query_params.get("pageSize"), "pageSize", 20, low=1, high=100)
    number = int_param(request.query_params.get("pageNumber"), "pageNumber", 0, low=0, high=10**6)
    start = number * size
    return {
        "isFirstPage": number == 0,
        "isLastPage": start + size >= len(items),
        "totalCount": len(items),
        "pageSize": size,
        "content": items[start : start + size],
        "pageNumber": number,
    }


class EcxV3:
    state: EquinixState

    def v3_routes(self, guard: Any) -> list[Route]:
        return [
            Route(f"{ROOT}/port/userport", guard(self._v3_ports), methods=["GET"]),
            Route(f"{ROOT}/l2/common/metros", guard(self._v3_metros), methods=["GET"]),
            Route(f"{ROOT}/l2/connections/prices", guard(self._v3_prices), methods=["GET"]),
            Route(f"{ROOT}/l2/serviceprofiles/services", guard(self._v3_profiles), methods=["GET"]),
            Route(f"{ROOT}/l2/serviceprofiles/services/{{uuid}}", guard(self._v3_profile), methods=["GET"]),
            Route(f"{ROOT}/l2/serviceprofiles/{{uuid}}", guard(self._v3_profile), methods=["GET"]),
            Route(
                f"{ROOT}/l2/connections/validateAuthorizationKey", guard(self._v3_validate), methods=["GET"]
            ),
            Route(f"{ROOT}/l2/buyer/connections", guard(self._v3_connections), methods=["GET"]),
            Route(f"{ROOT}/l2/connections", guard(self._v3_create), methods=["POST"]),
            Route(f"{ROOT}/l2/connections/{{uuid}}", guard(self._v3_get), methods=["GET"]),
            Route(f"{ROOT}/l2/connections/{{uuid}}", guard(self._v3_delete), methods=["DELETE"]),
            Route(f"{ROOT}/stats/port/{{uuid}}", guard(self._v3_stats), methods=["GET"]),
        ]

    async def _v3_ports(self, request: Request) -> Response:
        return JSONResponse([self.state.v3_port(p) for p in self.state.ports.values()])

    async def _v3_metros(self, request: Request) -> Response:
        return JSONResponse(
            [
                {"name": m.name, "code": m.code, "region": m.region, "cloudReach": list(m.reach)}
                for m in self.state.metros.values()
            ]
        )

    async def _v3_prices(self, request: Request) -> Response:
        q = request.query_params
        port = self.state.port_of(q.get("portUUID"))
        metro = (q.get("destinationMetro") or "").upper()
        if port is None or metro not in self.state.metros:
            problems = (
                [Problem("portUUID must be one of your ports", property="portUUID")] if port is None else []
            )
            if metro not in self.state.metros:
                problems.append(Problem("destinationMetro must be a metro code", property="destinationMetro"))
            raise SimError(400, *problems)
        speeds = sorted(REMOTE_PRICES)
        if q.get("customSpeeds"):
            try:
                speeds = [int(s) for s in q["customSpeeds"].split(",") if s.strip()]
            except ValueError:
                raise SimError(
                    400, Problem("customSpeeds must be numbers", property="customSpeeds")
                ) from None
        lists = [("Equinix Fabric Service Provider Product", "localConnection", LOCAL_PRICES)]
        if metro != port.metro:
            lists.append(("Equinix Fabric Remote Connection Product", "remoteConnection", REMOTE_PRICES))
        return JSONResponse(
            {
                "currency": CURRENCY.get(port.region, "USD"),
                "originMetro": port.metro,
                "destinationMetro": metro,
                "priceList": [
                    {
                        "productName": name,
                        "connectionType": kind,
                        "prices": [
                            {"speedBillingTier": str(s), "price": str(table[s])} for s in speeds if s in table
                        ],
                    }
                    for name, kind, table in lists
                ],
            }
        )

    async def _v3_profiles(self, request: Request) -> Response:
        metros = {m.upper() for m in request.query_params.getlist("metroCode")}
        profiles = [p for p in self.state.profiles.values() if not metros or metros & set(p.metros)]
        return JSONResponse(numbered_page(request, [self.state.v3_profile(p) for p in profiles]))

    async def _v3_profile(self, request: Request) -> Response:
        profile = self.state.profiles.get(request.path_params["uuid"].lower())
        if profile is None:
            raise SimError(404, Problem("Service profile not found", property="uuid"))
        return JSONResponse(self.state.v3_profile(profile))

    async def _v3_validate(self, request: Request) -> Response:
        q = request.query_params
        missing = [name for name in ("authorizationKey", "metroCode", "profileId") if not q.get(name)]
        if missing:
            raise SimError(400, *(Problem(f"{name} is required", property=name) for name in missing))
        profile = self.state.profiles.get(q["profileId"].lower())
        if profile is None:
            raise SimError(400, Problem("Service profile not found", property="profileId"))
        if not self.state.known_key(q["authorizationKey"]):
            return JSONResponse({"message": "Authorization key provided is not valid", "status": "INVALID"})
        bandwidth = {"bandwidth": f"{max(profile.speeds)}MB"}
        return JSONResponse(
            {
                "message": "Authorization key provided is valid",
                "status": "VALID",
                "primary": bandwidth,
                "secondary": bandwidth,
            }
        )

    async def _v3_connections(self, request: Request) -> Response:
        """Filtered on the state itself and rendered a page at a time: a listing of thousands
        stays cheap to page through."""
        q = request.query_params
        statuses = {s.strip().upper() for v in q.getlist("status") for s in v.split(",") if s.strip()}
        metros = {m.upper() for m in q.getlist("metroCode")}
        key = (q.get("authorizationKey") or "").lower()
        port = (q.get("buyerPortUUID") or "").lower()
        state = self.state

        def wanted(c: Connection) -> bool:
            aside = state.ports.get(c.port_uuid)
            return (
                (not statuses or state.states(c)[1] in statuses)
                and (not metros or (aside is not None and aside.metro in metros))
                and (not key or c.key == key)
                and (not port or c.port_uuid == port)
            )

        found = [c for c in state.connections.values() if wanted(c)]
        listing = numbered_page(request, found)
        listing["content"] = [state.v3_connection(c) for c in listing["content"]]
        return JSONResponse(listing)

    async def _v3_create(self, request: Request) -> Response:
        body = await json_body(request)
        legs = [
            orders.LegRequest(
                body.get("primaryName"),
                body.get("primaryPortUUID"),
                _int(body.get("primaryVlanSTag")),
                "PRIMARY",
            )
        ]
        if body.get("secondaryPortUUID") or body.get("secondaryName"):
            legs.append(
                orders.LegRequest(
                    body.get("secondaryName"),
                    body.get("secondaryPortUUID"),
                    _int(body.get("secondaryVlanSTag")),
                    "SECONDARY",
                )
            )
        speed = _int(body.get("speed"))
        if speed is not None and str(body.get("speedUnit") or "MB").upper().startswith("G"):
            speed *= 1000
        order = orders.OrderRequest(
            profile_uuid=str(body.get("profileUUID") or "").lower() or None,
            seller_metro=body.get("sellerMetroCode"),
            speed_mbps=speed,
            key=body.get("authorizationKey"),
            peering=str(body.get("namedTag") or "Private"),
            notifications=[str(e) for e in body.get("notifications") or []],
            legs=legs,
            purchase_order=body.get("purchaseOrderNumber"),
            redundant_in_one=True,
        )
        orders.check(self.state, order)
        made = orders.place(self.state, order)
        answer = {
            "message": "Connection created successfully",
            "primaryConnectionId": made[0].uuid,
            "status": "SUCCESS",
        }
        if len(made) > 1:
            answer["secondaryConnectionId"] = made[1].uuid
        return JSONResponse(answer)

    async def _v3_get(self, request: Request) -> Response:
        return JSONResponse(self.state.v3_connection(orders.find(self.state, request.path_params["uuid"])))

    async def _v3_delete(self, request: Request) -> Response:
        connection = orders.remove(self.state, request.path_params["uuid"])
        return JSONResponse(
            {"message": "Connection deleted Successfully", "primaryConnectionId": connection.uuid}
        )

    async def _v3_stats(self, request: Request) -> Response:
        port = self.state.port_of(request.path_params["uuid"])
        if port is None:
            raise SimError(404, Problem("Port not found", property="uuid"))
        start = parse_time(request.query_params.get("startDate"), "startDate")
        end = parse_time(request.query_params.get("endDate"), "endDate")
        body: dict[str, Any] = {"capacity": port.bandwidth_mbps * 1_000_000}
        for direction in ("inbound", "outbound"):
            series = traffic_series(port.uuid, direction, start, end, MAX_POINTS)
            body[f"{direction}Max"] = max(p[1] for p in series)
            body[f"{direction}Avg"] = round(sum(p[2] for p in series) / len(series), 3)
            body[f"{direction}LastPolled"] = series[-1][2]
            body[f"{direction}Stats"] = [
                {"time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "max": top, "mean": mean}
                for at, top, mean in series
            ]
        return JSONResponse(body)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
