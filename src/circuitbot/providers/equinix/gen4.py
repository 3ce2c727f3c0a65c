"""Fabric v4 (``/fabric/v4``) behind the common views.

Pitfalls (besides those in ``models_v4``):

* Lists page with ``offset``/``limit`` (at most 100), in the query for GETs and in the body for
  searches; the walk stops at ``pagination.total``, at an empty page, or at ``MAX_PAGES``.
* Prices come from ``POST /prices/search`` one per bandwidth, without Equinix saying local or
  remote: a price is local when the port sits in the destination metro, remote otherwise.
* A redundant pair is two creates: the primary first, then the secondary with the primary's
  ``redundancy.group`` and priority ``SECONDARY``.
* Deleting a connection already gone answers ``EQ-3142509``: that is success.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

from . import models_v4 as m
from .api import Api, identified, unexpected
from .errors import already_deleted
from .views import (
    ConnectionFilter,
    ConnectionView,
    MetroView,
    Order,
    Ordered,
    PortStats,
    PortView,
    PriceQuote,
    PriceTier,
    ProfileView,
    StatPoint,
    Traffic,
    Validation,
)

ROOT = "/fabric/v4"
LIMIT = m.MAX_LIMIT
MAX_PAGES = 1000
# Searches of one batch in flight together: Equinix documents no rate limit; keep it modest.
SEARCHES_AT_ONCE = 3
NEWEST_FIRST = [{"property": "/changeLog/updatedDateTime", "direction": "DESC"}]


def expression(prop: str, values: Sequence[str], operator: str | None = None) -> dict[str, Any]:
    return {
        "property": prop,
        "operator": operator or ("=" if len(values) == 1 else "IN"),
        "values": list(values),
    }


def port_view(port: m.Port) -> PortView:
    location = port.location or m.Location()
    return PortView(
        uuid=port.uuid or "",
        name=port.name,
        metro=location.metro_code,
        metro_name=location.metro_name,
        ibx=location.ibx,
        bandwidth_mbps=port.bandwidth,
        encapsulation=port.encapsulation.type if port.encapsulation else None,
        priority=port.redundancy.priority if port.redundancy else None,
        # v4 has no placeVcOrderPermission: a port takes orders once it is active
        can_order=(port.state or "").upper() in ("ACTIVE", "PROVISIONED") if port.state else None,
        state=port.state,
    )


def connection_view(c: m.Connection) -> ConnectionView:
    a = (c.a_side.access_point if c.a_side else None) or m.AccessPoint()
    z = (c.z_side.access_point if c.z_side else None) or m.AccessPoint()
    operation = c.operation or m.Operation()
    states = {
        "state": c.state or "",
        "equinixStatus": operation.equinix_status or "",
        "providerStatus": operation.provider_status or "",
    }
    link = a.link_protocol or m.LinkProtocol()
    return ConnectionView(
        uuid=c.uuid or "",
        name=c.name,
        generation="v4",
        states={k: v for k, v in states.items() if v},
        speed_mbps=c.bandwidth,
        port_uuid=a.port.uuid if a.port else None,
        port_name=a.port.name if a.port else None,
        vlan=link.vlan_tag if link.vlan_tag is not None else link.vlan_s_tag,
        metro=a.location.metro_code if a.location else None,
        seller_metro=z.location.metro_code if z.location else None,
        profile=(z.profile.name or z.profile.uuid) if z.profile else None,
        authorization_key=z.authentication_key,
        redundancy=c.redundancy.priority if c.redundancy else None,
        redundancy_group=c.redundancy.group if c.redundancy else None,
        peering=z.peering_type,
        created=c.change_log.created_date_time if c.change_log else None,
    )


def profile_view(p: m.ServiceProfile) -> ProfileView:
    configs = p.access_point_type_configs or []
    colo = next(
        (c for c in configs if c.type == "COLO"), configs[0] if configs else m.AccessPointTypeConfig()
    )
    encapsulation = colo.link_protocol_config.encapsulation_strategy if colo.link_protocol_config else None
    return ProfileView(
        uuid=p.uuid or "",
        name=p.name,
        speeds_mbps=tuple(colo.supported_bandwidths or ()),
        metros=tuple(x.code for x in p.metros or () if x.code),
        redundancy_required=bool(colo.connection_redundancy_required),
        tag_type=encapsulation,
        custom_speed=bool(colo.allow_custom_bandwidth),
    )


def _traffic(direction: m.Direction | None) -> Traffic:
    if direction is None:
        return Traffic(None, None)
    points = tuple(StatPoint(p.interval_end_date_time, p.max, p.mean) for p in direction.metrics or ())
    return Traffic(direction.max, direction.mean, points)


class V4:
    generation = "v4"

    def __init__(self, api: Api) -> None:
        self.api = api

    async def _listed(self, path: str, params: dict[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        """A GET list, page by page (offset and limit in the query)."""
        for number in range(MAX_PAGES):
            page = await self.api.get_json(path, {**(params or {}), "offset": number * LIMIT, "limit": LIMIT})
            async for item in self._items(page, number):
                yield item
            if not _more(page, number):
                return

    async def search(self, path: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """A search, page by page (offset and limit in the body)."""
        for number in range(MAX_PAGES):
            page = await self.api.post_json(
                path, {**body, "pagination": {"offset": number * LIMIT, "limit": LIMIT}}
            )
            async for item in self._items(page, number):
                yield item
            if not _more(page, number):
                return

    @staticmethod
    async def _items(page: Any, number: int) -> AsyncIterator[dict[str, Any]]:
        if not isinstance(page, dict) or not isinstance(page.get("data", []), list):
            raise unexpected(None, "a list that is not {pagination, data}")
        for item in page.get("data") or ():
            if isinstance(item, dict):
                yield item

    async def ports(self) -> list[PortView]:
        return [port_view(m.Port.model_validate(i)) async for i in self._listed(f"{ROOT}/ports")]

    async def port(self, uuid: str) -> PortView:
        return port_view(
            m.Port.model_validate(await self.api.get_json(f"{ROOT}/ports/{quote(uuid, safe='')}"))
        )

    async def metros(self) -> list[MetroView]:
        metros = [m.Metro.model_validate(i) async for i in self._listed(f"{ROOT}/metros")]
        return [
            MetroView(
                x.code or "", x.name, x.region, tuple(c.code for c in x.connected_metros or () if c.code)
            )
            for x in metros
        ]

    async def prices(self, port: str, metro: str, speeds: Sequence[int]) -> PriceQuote:
        origin = (await self.port(port)).metro
        filters = [
            expression("/type", ["VIRTUAL_CONNECTION_PRODUCT"]),
            expression("/connection/type", ["EVPL_VC"]),
            expression("/connection/aSide/accessPoint/type", ["COLO"]),
            expression("/connection/aSide/accessPoint/port/uuid", [port]),
            expression("/connection/zSide/accessPoint/location/metroCode", [metro]),
        ]
        if speeds:
            filters.append(expression("/connection/bandwidth", [str(s) for s in speeds], "IN"))
        prices = [
            m.Price.model_validate(i)
            async for i in self.search(f"{ROOT}/prices/search", {"filter": {"and": filters}})
        ]
        remote = (origin or "").upper() != metro.upper()
        tiers: dict[int, float | None] = {}
        for price in prices:
            speed = price.connection.bandwidth if price.connection else None
            if speed is not None:
                tiers[speed] = next(
                    (float(c.price) for c in price.charges or () if c.price is not None), None
                )
        return PriceQuote(
            currency=next((p.currency for p in prices if p.currency), None),
            origin=origin,
            destination=metro.upper(),
            tiers=tuple(
                PriceTier(s, None if remote else amount, amount if remote else None)
                for s, amount in sorted(tiers.items())
            ),
        )

    async def profiles(self, metros: Sequence[str] = ()) -> list[ProfileView]:
        if metros:
            body = {
                "filter": {"and": [expression("/metros/code", [x.upper() for x in metros])]},
                "sort": NEWEST_FIRST,
            }
            items = self.search(f"{ROOT}/serviceProfiles/search", body)
        else:
            items = self._listed(f"{ROOT}/serviceProfiles", {"viewPoint": "zSide"})
        return [profile_view(m.ServiceProfile.model_validate(i)) async for i in items]

    async def profile(self, uuid: str) -> ProfileView:
        raw = await self.api.get_json(f"{ROOT}/serviceProfiles/{quote(uuid, safe='')}")
        return profile_view(m.ServiceProfile.model_validate(identified(raw, "profile")))

    async def validate(self, key: str, metro: str, profile: str, region: str | None) -> Validation:
        filters = [
            expression("/zSide/accessPoint/authenticationKey", [key]),
            expression("/zSide/accessPoint/profile/uuid", [profile]),
        ]
        if region:
            filters.append(expression("/zSide/accessPoint/sellerRegion", [region]))
        answer = m.ValidateResponse.model_validate(
            await self.api.post_json(f"{ROOT}/connections/validate", {"filter": {"and": filters}})
        )
        message = next((i.value for i in answer.additional_info or () if i.key == "message" and i.value), "")
        bandwidths = tuple(
            f"{c.redundancy.priority.lower() if c.redundancy and c.redundancy.priority else 'connection'} "
            f"{c.bandwidth} Mbps in use"
            for c in answer.data or ()
            if c.bandwidth is not None
        )
        return Validation(True, message or "the key is valid", bandwidths)

    def search_body(self, filters: ConnectionFilter) -> dict[str, Any]:
        """Outgoing connections with ``filters``: a status matches ``state`` or ``equinixStatus``."""
        conditions: list[dict[str, Any]] = [expression("/direction", ["OUTGOING"])]
        if filters.statuses:
            conditions.append(
                {
                    "or": [
                        expression("/state", list(filters.statuses), "IN"),
                        expression("/operation/equinixStatus", list(filters.statuses), "IN"),
                    ]
                }
            )
        for prop, value in (
            ("/aSide/accessPoint/location/metroCode", filters.metro),
            ("/zSide/accessPoint/authenticationKey", filters.key),
            ("/aSide/accessPoint/port/uuid", filters.port),
        ):
            if value:
                conditions.append(expression(prop, [value]))
        return {"filter": {"and": conditions}, "sort": NEWEST_FIRST}

    async def connection_items(
        self, filters: ConnectionFilter | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        async for item in self.search(
            f"{ROOT}/connections/search", self.search_body(filters or ConnectionFilter())
        ):
            yield item

    async def connections_by_uuid(self, uuids: Sequence[str]) -> list[dict[str, Any]]:
        """The connections among ``uuids``, as sent: one search per ``LIMIT`` uuids, up to
        ``SEARCHES_AT_ONCE`` of them in flight."""
        at_once = asyncio.Semaphore(SEARCHES_AT_ONCE)

        async def search(chunk: list[str]) -> list[dict[str, Any]]:
            async with at_once:
                body = {"filter": {"and": [expression("/uuid", chunk, "IN")]}}
                return [item async for item in self.search(f"{ROOT}/connections/search", body)]

        chunks = [list(uuids[start : start + LIMIT]) for start in range(0, len(uuids), LIMIT)]
        try:
            async with asyncio.TaskGroup() as tasks:
                pending = [tasks.create_task(search(chunk)) for chunk in chunks]
        except ExceptionGroup as failed:  # the batch failed: say why, not "TaskGroup"
            raise failed.exceptions[0] from None
        return [item for task in pending for item in task.result()]

    async def connections(self, filters: ConnectionFilter | None = None) -> list[ConnectionView]:
        return [connection_view(m.Connection.model_validate(i)) async for i in self.connection_items(filters)]

    async def connection_raw(self, uuid: str) -> dict[str, Any]:
        return identified(await self.api.get_json(f"{ROOT}/connections/{quote(uuid, safe='')}"), "connection")

    async def connection(self, uuid: str) -> ConnectionView:
        return connection_view(m.Connection.model_validate(await self.connection_raw(uuid)))

    async def port_stats(self, port: str, start: str, end: str) -> PortStats:
        raw = await self.api.get_json(
            f"{ROOT}/ports/{quote(port, safe='')}/stats", {"startDateTime": start, "endDateTime": end}
        )
        stats = m.Statistics.model_validate(raw).stats or m.Stats()
        usage = stats.bandwidth_utilization or m.Utilization()
        return PortStats(
            port=port,
            start=stats.start_date_time or start,
            end=stats.end_date_time or end,
            unit=usage.unit,
            inbound=_traffic(usage.inbound),
            outbound=_traffic(usage.outbound),
        )

    async def create(self, order: Order) -> Ordered:
        first = await self._create_one(order_body(order, secondary=False, group=None))
        if order.secondary is None:
            return Ordered(first.uuid or "", None)
        group = first.redundancy.group if first.redundancy else None
        return Ordered(first.uuid or "", await self.create_secondary(order, group))

    async def create_secondary(self, order: Order, group: str | None) -> str | None:
        """The secondary of a pair whose primary exists (in redundancy ``group``)."""
        if order.secondary is None:
            return None
        second = await self._create_one(order_body(order, secondary=True, group=group))
        return second.uuid

    async def _create_one(self, body: dict[str, Any]) -> m.Connection:
        response = await self.api.send("POST", f"{ROOT}/connections", json=body, once=True)
        return m.Connection.model_validate(response.json())

    async def delete(self, uuid: str) -> None:
        try:
            await self.api.send("DELETE", f"{ROOT}/connections/{quote(uuid, safe='')}")
        except Exception as exc:
            if not already_deleted(exc):
                raise


def _more(page: Any, number: int) -> bool:
    if not isinstance(page, dict) or not page.get("data"):
        return False
    pagination = page.get("pagination")
    if not isinstance(pagination, dict):
        return False
    total = pagination.get("total")
    if isinstance(total, int):
        return (number + 1) * LIMIT < total
    return bool(pagination.get("next"))


def order_body(order: Order, *, secondary: bool, group: str | None) -> dict[str, Any]:
    """``ConnectionPostRequest`` of a COLO port to a service profile (spec: Colo2Sp-Azure-Primary)."""
    leg = order.secondary if secondary and order.secondary is not None else order.primary
    z_side: dict[str, Any] = {
        "type": "SP",
        "profile": {"type": "L2_PROFILE", "uuid": order.profile_uuid},
        "location": {"metroCode": order.metro},
        "authenticationKey": order.authorization_key,
        "peeringType": order.peering.upper(),
    }
    if order.seller_region:
        z_side["sellerRegion"] = order.seller_region
    body: dict[str, Any] = {
        "type": "EVPL_VC",
        "name": leg.name,
        "bandwidth": order.speed_mbps,
        "redundancy": {"priority": "SECONDARY" if secondary else "PRIMARY"},
        "notifications": [{"type": "ALL", "emails": list(order.notifications)}],
        "aSide": {
            "accessPoint": {
                "type": "COLO",
                "port": {"uuid": leg.port_uuid},
                "linkProtocol": (
                    {"type": "QINQ", "vlanSTag": leg.vlan}
                    if leg.encapsulation.upper() == "QINQ"
                    else {"type": "DOT1Q", "vlanTag": leg.vlan}
                ),
            }
        },
        "zSide": {"accessPoint": z_side},
    }
    if secondary and group:
        body["redundancy"]["group"] = group
    if order.purchase_order:
        body["order"] = {"purchaseOrderNumber": order.purchase_order}
    return body
