"""What the provider offers, read-only: its port pairs (with their usage) and BGP service communities."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from circuitbot.sandbox.azure.arm import ArmError, json_response, no_content, parse_eq_filter, region_key
from circuitbot.sandbox.azure.state import NETWORK, SUBSCRIPTION_NETWORK_PATH, ExpressRouteState
from circuitbot.sandbox.world import PortPair

PROVIDER_PORT_TYPE = "Microsoft.Network/expressRouteProviderPort"
COMMUNITY_TYPE = "Microsoft.Network/bgpServiceCommunities"

# Azure's BGP service communities: a few services, with the community values Microsoft publishes.
BGP_SERVICE_COMMUNITIES: tuple[tuple[str, str, tuple[tuple[str, str, str, str], ...]], ...] = (
    ("exchange", "O365", (("Global", "Exchange Online", "12076:5010", "40.92.0.0/15"),)),
    ("sharepoint", "O365", (("Global", "SharePoint Online", "12076:5020", "13.107.136.0/22"),)),
    ("skype", "O365", (("Global", "Skype For Business Online", "12076:5030", "13.107.64.0/18"),)),
    (
        "azureactivedirectory",
        "O365",
        (("Global", "Azure Active Directory", "12076:5060", "20.190.128.0/18"),),
    ),
    (
        "azurewestus",
        "Azure",
        (
            ("West US", "Azure West US", "12076:51006", "13.64.0.0/16"),
            ("West US", "Azure Storage West US", "12076:52006", "20.150.34.0/23"),
        ),
    ),
    ("azurewestus2", "Azure", (("West US 2", "Azure West US 2", "12076:51026", "13.66.128.0/17"),)),
    ("azureeastus2", "Azure", (("East US 2", "Azure East US 2", "12076:51005", "13.68.0.0/17"),)),
)


class CatalogRoutes(ExpressRouteState):
    def catalog_routes(self) -> list[Route]:
        ports = f"{SUBSCRIPTION_NETWORK_PATH}/expressRouteProviderPorts"
        return [
            Route(ports, self._arm(self._list_ports), methods=["GET"]),
            Route(f"{ports}/{{providerport}}", self._arm(self._get_port), methods=["GET"]),
            Route(
                f"{SUBSCRIPTION_NETWORK_PATH}/bgpServiceCommunities",
                self._arm(self._list_communities),
                methods=["GET"],
            ),
        ]

    async def _list_ports(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        location: str | None = request.query_params.get("location")
        if "$filter" in request.query_params:
            location = parse_eq_filter(request.query_params["$filter"], "location")
        pairs = list(self.world.port_pairs)
        if location is not None:
            wanted = region_key(location)
            at_peering_location = [p for p in pairs if region_key(p.peering_location) == wanted]
            in_region = [p for p in pairs if region_key(p.location) == wanted]
            known = any(region_key(loc.name) == wanted for loc in self.world.locations)
            if not at_peering_location and not in_region and not known:
                raise ArmError(
                    400,
                    "InvalidPeeringLocation",
                    f"'{location}' is not a peering location of this provider.",
                    target="location",
                )
            pairs = at_peering_location or in_region
        return json_response({"value": [self._render_port(p, subscription_id) for p in pairs]})

    async def _get_port(self, request: Request) -> Response:
        descriptor = request.path_params["providerport"].strip()
        pair = next((p for p in self.world.port_pairs if p.descriptor.lower() == descriptor.lower()), None)
        if pair is None:
            # the circuit-placement doc: "204 The port pair with the mentioned descriptor ID isn't available"
            return no_content()
        return json_response(self._render_port(pair, request.path_params["subscriptionId"]))

    def _render_port(self, pair: PortPair, subscription_id: str) -> dict[str, Any]:
        used = self.used_bandwidth(pair.descriptor)
        location_segment = pair.peering_location.replace(" ", "")
        return {
            "id": (
                f"/subscriptions/{subscription_id}{NETWORK}/ExpressRoutePortsLocations/"
                f"{location_segment}/{pair.descriptor}"
            ),
            "name": pair.descriptor,
            "type": PROVIDER_PORT_TYPE,
            "location": pair.location,
            # the etag follows the pair's usage, the only thing about it that changes
            "etag": f'W/"{uuid.uuid5(uuid.NAMESPACE_URL, f"azure-sim-port-{pair.descriptor}-{used}")}"',
            "properties": {
                "portPairDescriptor": pair.descriptor,
                "primaryAzurePort": pair.primary_azure_port,
                "secondaryAzurePort": pair.secondary_azure_port,
                "peeringLocation": pair.peering_location,
                "overprovisionFactor": pair.overprovision_factor,
                "portBandwidthInMbps": pair.port_bandwidth_mbps,
                "usedBandwidthInMbps": used,
                "remainingBandwidthInMbps": self.remaining_bandwidth(pair),
            },
        }

    async def _list_communities(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        return json_response({"value": [_community(subscription_id, *c) for c in BGP_SERVICE_COMMUNITIES]})


def _community(
    subscription_id: str, service: str, group: str, communities: tuple[tuple[str, str, str, str], ...]
) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{subscription_id}{NETWORK}/bgpServiceCommunities/{service}",
        "name": service,
        "type": COMMUNITY_TYPE,
        "properties": {
            "serviceName": service,
            "bgpCommunities": [
                {
                    "serviceSupportedRegion": region,
                    "communityName": name,
                    "communityValue": value,
                    "communityPrefixes": [prefix],
                    "isAuthorizedToUse": True,
                    "serviceGroup": group,
                }
                for region, name, value, prefix in communities
            ],
        },
    }
