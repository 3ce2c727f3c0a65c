"""The v3 Layer-2 buyer API (``/ecx/v3``), exactly the seed's endpoints, behind the common views.

Pitfalls (besides those in ``models_v3``):

* Pages are numbered from 0; the walk stops at ``isLastPage`` or once ``pageSize × pages``
  reaches ``totalCount``, whichever comes first, and never past ``MAX_PAGES`` (a server that
  always says "more" must not hold the caller forever).
* ``status`` takes several values comma-separated; ``metroCode`` repeats.
* Port stats come as fractions and maxima with no unit stated; ``totalBandwidth`` and
  ``capacity`` are bits per second.
* A create orders the redundant pair in one request (``secondary*`` fields) and answers only
  the ids.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

from . import models_v3 as m
from .api import Api, identified, unexpected
from .errors import NotFound
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

ROOT = "/ecx/v3"
PAGE_SIZE = 100
MAX_PAGES = 1000


def listed(items: Any, what: str) -> list[Any]:
    """A bare JSON array, as v3 lists ports and metros."""
    if not isinstance(items, list):
        raise unexpected(None, f"{what} that are not a list")
    return items


def _mbps(bits: int | None) -> int | None:
    return None if bits is None else bits // 1_000_000


def _speed_mbps(speed: float | int | None, unit: str | None) -> int | None:
    if speed is None:
        return None
    return int(speed * 1000) if (unit or "MB").upper().startswith("G") else int(speed)


def port_view(port: m.Port) -> PortView:
    return PortView(
        uuid=port.uuid or "",
        name=port.name,
        metro=port.metro_code,
        metro_name=port.metro_description,
        ibx=port.ibx,
        bandwidth_mbps=_mbps(port.total_bandwidth),
        encapsulation=(port.encapsulation or "").upper() or None,
        priority=(port.device_priority or "").upper() or None,
        can_order=port.place_vc_order_permission,
        state=port.provision_status,
    )


def connection_view(c: m.Connection) -> ConnectionView:
    states = {"status": c.status or "", "providerStatus": c.provider_status or ""}
    return ConnectionView(
        uuid=c.uuid or "",
        name=c.name,
        generation="v3",
        states={k: v for k, v in states.items() if v},
        speed_mbps=_speed_mbps(c.speed, c.speed_unit),
        port_uuid=c.port_uuid,
        port_name=c.port_name,
        vlan=c.vlan_s_tag,
        metro=c.metro_code,
        seller_metro=c.seller_metro_code,
        profile=c.seller_service_name,
        authorization_key=c.authorization_key,
        redundancy=(c.redundancy_type or "").upper() or None,
        redundancy_group=c.redundancy_group,
        peering=c.named_tag,
        created=c.created_date,
    )


def profile_view(p: m.Profile) -> ProfileView:
    return ProfileView(
        uuid=p.uuid or "",
        name=p.name,
        speeds_mbps=tuple(
            s for s in (_speed_mbps(b.speed, b.unit) for b in p.speed_bands or ()) if s is not None
        ),
        metros=tuple(x.code for x in p.metros or () if x.code),
        redundancy_required=bool(p.required_redundancy),
        tag_type=p.tag_type,
        custom_speed=bool(p.allow_custom_speed),
        organization=p.organization_name,
    )


def _traffic(top: float | None, mean: float | None, points: list[m.StatPoint] | None) -> Traffic:
    return Traffic(top, mean, tuple(StatPoint(p.time, p.max, p.mean) for p in points or ()))


class V3:
    generation = "v3"

    def __init__(self, api: Api) -> None:
        self.api = api

    async def _pages(self, path: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        seen = 0
        for number in range(MAX_PAGES):
            page = await self.api.get_json(path, {**params, "pageSize": PAGE_SIZE, "pageNumber": number})
            if not isinstance(page, dict) or not isinstance(page.get("content", []), list):
                raise unexpected(None, "a page that is not {content, totalCount, …}")
            content = [item for item in page.get("content") or () if isinstance(item, dict)]
            for item in content:
                yield item
            seen += len(content)
            total = page.get("totalCount")
            if not content or page.get("isLastPage") or (isinstance(total, int) and seen >= total):
                return

    async def ports(self) -> list[PortView]:
        items = await self.api.get_json(f"{ROOT}/port/userport")
        return [port_view(m.Port.model_validate(item)) for item in listed(items, "ports")]

    async def port(self, uuid: str) -> PortView:
        for port in await self.ports():
            if port.uuid.lower() == uuid.lower():
                return port
        raise NotFound(status=None, code="PortNotFound", message=f"No port {uuid} among your ports.")

    async def metros(self) -> list[MetroView]:
        items = await self.api.get_json(f"{ROOT}/l2/common/metros")
        metros = [m.Metro.model_validate(item) for item in listed(items, "metros")]
        return [MetroView(x.code or "", x.name, x.region, tuple(x.cloud_reach or ())) for x in metros]

    async def prices(self, port: str, metro: str, speeds: Sequence[int]) -> PriceQuote:
        params: dict[str, Any] = {"destinationMetro": metro, "portUUID": port}
        if speeds:
            params["customSpeeds"] = ",".join(str(s) for s in speeds)
        answer = m.PriceResponse.model_validate(
            await self.api.get_json(f"{ROOT}/l2/connections/prices", params)
        )
        tiers: dict[int, dict[str, float | None]] = {}
        for listed in answer.price_list or ():
            column = "remote" if (listed.connection_type or "").lower().startswith("remote") else "local"
            for price in listed.prices or ():
                try:
                    speed, amount = int(price.speed_billing_tier or ""), float(price.price or "")
                except ValueError:
                    continue
                tiers.setdefault(speed, {"local": None, "remote": None})[column] = amount
        return PriceQuote(
            currency=answer.currency,
            origin=answer.origin_metro,
            destination=answer.destination_metro,
            tiers=tuple(PriceTier(s, t["local"], t["remote"]) for s, t in sorted(tiers.items())),
        )

    async def profiles(self, metros: Sequence[str] = ()) -> list[ProfileView]:
        params = {"metroCode": list(metros)} if metros else {}
        path = f"{ROOT}/l2/serviceprofiles/services"
        return [profile_view(m.Profile.model_validate(item)) async for item in self._pages(path, params)]

    async def profile(self, uuid: str) -> ProfileView:
        raw = await self.api.get_json(f"{ROOT}/l2/serviceprofiles/services/{quote(uuid, safe='')}")
        return profile_view(m.Profile.model_validate(identified(raw, "profile")))

    async def validate(self, key: str, metro: str, profile: str, region: str | None) -> Validation:
        params = {"authorizationKey": key, "metroCode": metro, "profileId": profile, "region": region or ""}
        answer = m.Validation.model_validate(
            await self.api.get_json(f"{ROOT}/l2/connections/validateAuthorizationKey", params)
        )
        bandwidths = tuple(b.bandwidth for b in (answer.primary, answer.secondary) if b and b.bandwidth)
        valid = (answer.status or "").upper() == "VALID"
        return Validation(valid, answer.message or answer.status or "", bandwidths)

    async def connection_items(
        self, filters: ConnectionFilter | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """The buyer connections as sent, all pages: the poller reads a few fields of many."""
        filters = filters or ConnectionFilter()
        params: dict[str, Any] = {}
        if filters.statuses:
            params["status"] = ",".join(filters.statuses)
        if filters.metro:
            params["metroCode"] = filters.metro
        if filters.key:
            params["authorizationKey"] = filters.key
        if filters.port:
            params["buyerPortUUID"] = filters.port
        async for item in self._pages(f"{ROOT}/l2/buyer/connections", params):
            yield item

    async def connections(self, filters: ConnectionFilter | None = None) -> list[ConnectionView]:
        return [connection_view(m.Connection.model_validate(i)) async for i in self.connection_items(filters)]

    async def connection_raw(self, uuid: str) -> dict[str, Any]:
        raw = await self.api.get_json(f"{ROOT}/l2/connections/{quote(uuid, safe='')}")
        if isinstance(raw, dict) and isinstance(raw.get("content"), list):  # the seed's page shape
            found = [c for c in raw["content"] if isinstance(c, dict) and c.get("uuid") == uuid]
            if not found:
                raise NotFound(status=404, code="ConnectionNotFound", message=f"No connection {uuid}.")
            raw = found[0]
        return identified(raw, "connection")

    async def connection(self, uuid: str) -> ConnectionView:
        return connection_view(m.Connection.model_validate(await self.connection_raw(uuid)))

    async def port_stats(self, port: str, start: str, end: str) -> PortStats:
        raw = await self.api.get_json(
            f"{ROOT}/stats/port/{quote(port, safe='')}", {"startDate": start, "endDate": end}
        )
        stats = m.PortStats.model_validate(raw)
        capacity = stats.capacity
        return PortStats(
            port=port,
            start=start,
            end=end,
            unit=None,
            inbound=_traffic(stats.inbound_max, stats.inbound_avg, stats.inbound_stats),
            outbound=_traffic(stats.outbound_max, stats.outbound_avg, stats.outbound_stats),
            capacity_mbps=_mbps(int(capacity)) if capacity is not None else None,
        )

    async def create(self, order: Order) -> Ordered:
        response = await self.api.send("POST", f"{ROOT}/l2/connections", json=order_body(order), once=True)
        answer = m.CreateResponse.model_validate(response.json())
        return Ordered(answer.primary_connection_id or "", answer.secondary_connection_id)

    async def delete(self, uuid: str) -> None:
        await self.api.send("DELETE", f"{ROOT}/l2/connections/{quote(uuid, safe='')}")


def order_body(order: Order) -> dict[str, Any]:
    """``L2ConnectionRequest`` for a connection to a profile, with its redundant twin if any."""
    body: dict[str, Any] = {
        "primaryName": order.primary.name,
        "profileUUID": order.profile_uuid,
        "speed": order.speed_mbps,
        "speedUnit": "MB",
        "notifications": list(order.notifications),
        "purchaseOrderNumber": order.purchase_order,
        "primaryPortUUID": order.primary.port_uuid,
        "primaryVlanSTag": order.primary.vlan,
        "namedTag": order.peering.capitalize(),
        "sellerMetroCode": order.metro,
        "authorizationKey": order.authorization_key,
    }
    if order.seller_region:
        body["sellerRegion"] = order.seller_region
    if order.secondary is not None:
        body |= {
            "secondaryName": order.secondary.name,
            "secondaryPortUUID": order.secondary.port_uuid,
            "secondaryVlanSTag": order.secondary.vlan,
        }
    return body
