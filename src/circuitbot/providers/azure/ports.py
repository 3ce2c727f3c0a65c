"""The partner's catalog at ARM: its port pairs (expressRouteProviderPorts) and Azure's BGP
service communities. Reads only; ``AzurePartnerClient`` offers them with its subscriptions.

Two ways of asking for the port pairs at one location are in use: the REST spec's
``$filter=location eq '<loc>'`` and the partner docs' ``?location=<loc>``; both are kept. One
port pair by descriptor answers with the object (spec), a ``{"value": [...]}`` wrapper (partner
docs; only an entry naming the descriptor counts) or 204 for an unknown descriptor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal
from urllib.parse import quote

from . import models as m
from .arm import Arm, json_object, odata_string
from .errors import NotFound

ProviderPortQueryForm = Literal["filter", "query"]


def _provider_ports_path(subscription_id: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Network/expressRouteProviderPorts"


async def list_provider_ports(
    arm: Arm,
    subscription_ids: Sequence[str],
    api_version: str,
    location: str | None,
    form: ProviderPortQueryForm,
) -> list[m.ExpressRouteProviderPort]:
    if form not in ("filter", "query"):
        raise ValueError(f"form must be 'filter' or 'query', not {form!r}")
    found: list[m.ExpressRouteProviderPort] = []
    for subscription_id in subscription_ids:
        params = {"api-version": api_version}
        if location is not None:
            if form == "filter":
                params["$filter"] = f"location eq {odata_string(location)}"
            else:
                params["location"] = location
        url = _provider_ports_path(subscription_id)
        found.extend(
            [m.ExpressRouteProviderPort.model_validate(item) async for item in arm.pages(url, params)]
        )
    return found


async def get_provider_port(
    arm: Arm, subscription_ids: Sequence[str], api_version: str, descriptor: str
) -> m.ExpressRouteProviderPort | None:
    wanted = descriptor.strip().lower()
    for subscription_id in subscription_ids:
        url = f"{_provider_ports_path(subscription_id)}/{quote(descriptor.strip(), safe='')}"
        try:
            response = await arm.send("GET", url, api_version)
        except NotFound:
            continue
        if response.status_code == 204 or not response.content:
            continue
        body = json_object(response)
        if isinstance(body.get("value"), list):
            for item in body["value"]:
                port = m.ExpressRouteProviderPort.model_validate(item)
                if wanted in {(port.descriptor or "").lower(), (port.name or "").lower()}:
                    return port
            continue
        return m.ExpressRouteProviderPort.model_validate(body)
    return None


async def list_bgp_service_communities(
    arm: Arm, subscription_id: str, api_version: str
) -> list[m.BgpServiceCommunity]:
    url = f"/subscriptions/{subscription_id}/providers/Microsoft.Network/bgpServiceCommunities"
    params = {"api-version": api_version}
    return [m.BgpServiceCommunity.model_validate(item) async for item in arm.pages(url, params)]
