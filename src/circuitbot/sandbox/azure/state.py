"""The ExpressRoute partner resources the simulator holds, seeded from the World, and their wire view.

Cross-connections live in resource groups ``CrossConnection-<PeeringLocation>``, named by their
service key. ``ExpressRouteState`` is the base every route group of the simulator builds on: it
seeds the state and holds the lookups and renderings those groups share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request

from circuitbot.clock import Clock
from circuitbot.sandbox.azure.arm import ArmError, ArmSimulator
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import DemoCircuit, PeeringSeed, PortPair, World

NETWORK = "/providers/Microsoft.Network"
CROSS_CONNECTION_TYPE = "Microsoft.Network/expressRouteCrossConnections"
AZURE_ASN = 12076
PROVIDER_STATES = ("NotProvisioned", "Provisioning", "Provisioned", "Deprovisioning")

# Route path templates; the simulator's call counts are keyed by them.
SUBSCRIPTION_NETWORK_PATH = f"/subscriptions/{{subscriptionId}}{NETWORK}"
GROUP_CROSS_CONNECTIONS_PATH = (
    f"/subscriptions/{{subscriptionId}}/resourceGroups/{{resourceGroupName}}{NETWORK}"
    "/expressRouteCrossConnections"
)
CROSS_CONNECTION_PATH = f"{GROUP_CROSS_CONNECTIONS_PATH}/{{crossConnectionName}}"
PEERING_PATH = f"{CROSS_CONNECTION_PATH}/peerings/{{peeringName}}"


@dataclass
class Peering:
    name: str
    properties: dict[str, Any]
    etag: str
    enabled_at: datetime | None = None


@dataclass
class CrossConnection:
    name: str  # the service key
    resource_group: str
    location: str  # ARM region
    peering_location: str
    bandwidth_mbps: int
    circuit_id: str
    port_pair: str
    primary_port: str
    secondary_port: str
    s_tag: int
    provider_state: str
    etag: str
    notes: str | None = None
    provisioning_state: str = "Succeeded"
    tags: dict[str, str] | None = None
    peerings: dict[str, Peering] = field(default_factory=dict)


def resource_key(resource_group: str, name: str) -> str:
    return f"{resource_group.lower()}/{name.lower()}"


class ExpressRouteState(ArmSimulator):
    namespace = NETWORK

    def __init__(
        self,
        world: World,
        clock: Clock,
        faults: FaultConfig | None,
        *,
        operation_seconds: float,
        retry_after_seconds: int,
        page_size: int,
        conditional_headers: bool,
    ) -> None:
        super().__init__(
            world,
            clock,
            faults,
            retry_after_seconds=retry_after_seconds,
            page_size=page_size,
            conditional_headers=conditional_headers,
        )
        self.operation_seconds = operation_seconds
        self.cross_connections: dict[str, CrossConnection] = {}
        """Keyed by ``<resource group>/<service key>``, lower case, in listing order: sorted once
        here, so a skip token (an offset into this order) stays valid while circuits change state."""
        seeded = sorted(
            (self._from_world(circuit) for circuit in world.circuits),
            key=lambda c: (c.resource_group.lower(), c.name.lower()),
        )
        for cross_connection in seeded:
            self.cross_connections[resource_key(cross_connection.resource_group, cross_connection.name)] = (
                cross_connection
            )

    # --- for tests and the shell --------------------------------------------------------------

    def cross_connection(self, service_key: str) -> CrossConnection:
        wanted = service_key.lower()
        for cross_connection in self.cross_connections.values():
            if cross_connection.name.lower() == wanted:
                return cross_connection
        raise KeyError(service_key)

    def used_bandwidth(self, descriptor: str) -> int:
        return sum(c.bandwidth_mbps for c in self.cross_connections.values() if c.port_pair == descriptor)

    def remaining_bandwidth(self, pair: PortPair) -> int:
        # the docs' figures are port bandwidth minus used (4000 - 2500 = 1500); never below zero
        return max(0, pair.port_bandwidth_mbps - self.used_bandwidth(pair.descriptor))

    # --- seeding ------------------------------------------------------------------------------

    def _from_world(self, circuit: DemoCircuit) -> CrossConnection:
        location = self.world.location(circuit.peering_location)
        pair = self.world.port_pair(circuit.port_pair)
        cross_connection = CrossConnection(
            name=circuit.service_key,
            resource_group=location.resource_group,
            location=location.arm_location,
            peering_location=location.name,
            bandwidth_mbps=circuit.bandwidth_mbps,
            circuit_id=circuit.azure.id,
            port_pair=pair.descriptor,
            primary_port=pair.primary_azure_port,
            secondary_port=pair.secondary_azure_port,
            s_tag=circuit.s_tag,
            provider_state=circuit.service_provider_provisioning_state,
            etag=self._new_etag(),
        )
        for seed in circuit.peerings:
            cross_connection.peerings[seed.peering_type.lower()] = self._seed_peering(seed)
        return cross_connection

    def _seed_peering(self, seed: PeeringSeed) -> Peering:
        properties: dict[str, Any] = {
            "provisioningState": "Succeeded",
            "peeringType": seed.peering_type,
            "azureASN": AZURE_ASN,
            "peerASN": seed.peer_asn,
            "primaryPeerAddressPrefix": seed.primary_peer_address_prefix,
            "secondaryPeerAddressPrefix": seed.secondary_peer_address_prefix,
            "primaryAzurePort": "",
            "secondaryAzurePort": "",
            "state": "Enabled",
            "vlanId": seed.vlan_id,
            "gatewayManagerEtag": "",
            "lastModifiedBy": "Customer",
        }
        if seed.shared_key:
            properties["sharedKey"] = seed.shared_key
        if seed.peering_type == "MicrosoftPeering":
            properties["microsoftPeeringConfig"] = {
                "advertisedPublicPrefixes": list(seed.advertised_public_prefixes),
                "advertisedCommunities": [],
                "advertisedPublicPrefixesState": "Configured",
                "customerASN": seed.customer_asn or 0,
                "legacyMode": 0,
                "routingRegistryName": seed.routing_registry_name or "",
            }
        return Peering(
            seed.peering_type,
            properties,
            self._new_etag(),
            enabled_at=self.clock.now() - timedelta(days=1, hours=14),
        )

    # --- lookups ------------------------------------------------------------------------------

    def _find(self, request: Request) -> CrossConnection:
        group = request.path_params["resourceGroupName"]
        name = request.path_params["crossConnectionName"]
        self._check_resource_group(group)
        cross_connection = self.cross_connections.get(resource_key(group, name))
        if cross_connection is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource '{CROSS_CONNECTION_TYPE}/{name}' under resource group '{group}' "
                "was not found.",
            )
        return cross_connection

    def _peering(self, cross_connection: CrossConnection, request: Request) -> Peering:
        name = request.path_params["peeringName"]
        peering = cross_connection.peerings.get(name.lower())
        if peering is None:
            parent = self._cross_connection_id(cross_connection, request.path_params["subscriptionId"])
            raise ArmError(404, "NotFound", f"Resource {parent}/peerings/{name} not found.")
        return peering

    def _check_resource_group(self, group: str) -> None:
        if group.lower() not in {location.resource_group.lower() for location in self.world.locations}:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")

    # --- rendering ----------------------------------------------------------------------------

    def _cross_connection_id(self, cross_connection: CrossConnection, subscription_id: str) -> str:
        return (
            f"/subscriptions/{subscription_id}/resourceGroups/{cross_connection.resource_group}"
            f"{NETWORK}/expressRouteCrossConnections/{cross_connection.name}"
        )

    def _render(self, cross_connection: CrossConnection, subscription_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "provisioningState": cross_connection.provisioning_state,
            "expressRouteCircuit": {"id": cross_connection.circuit_id},
            "peeringLocation": cross_connection.peering_location,
            "bandwidthInMbps": cross_connection.bandwidth_mbps,
            "serviceProviderProvisioningState": cross_connection.provider_state,
            "primaryAzurePort": cross_connection.primary_port,
            "secondaryAzurePort": cross_connection.secondary_port,
            "sTag": cross_connection.s_tag,
            "peerings": [
                self._render_peering(cross_connection, peering, subscription_id)
                for peering in cross_connection.peerings.values()
            ],
        }
        if cross_connection.notes is not None:
            properties["serviceProviderNotes"] = cross_connection.notes
        body: dict[str, Any] = {
            "name": cross_connection.name,
            "id": self._cross_connection_id(cross_connection, subscription_id),
            "etag": cross_connection.etag,
            "type": CROSS_CONNECTION_TYPE,
            "location": cross_connection.location,
        }
        if cross_connection.tags is not None:
            body["tags"] = dict(cross_connection.tags)
        body["properties"] = properties
        return body

    def _render_peering(
        self, cross_connection: CrossConnection, peering: Peering, subscription_id: str
    ) -> dict[str, Any]:
        return {
            "name": peering.name,
            "id": f"{self._cross_connection_id(cross_connection, subscription_id)}/peerings/{peering.name}",
            "etag": peering.etag,
            "properties": json.loads(json.dumps(peering.properties)),
        }
