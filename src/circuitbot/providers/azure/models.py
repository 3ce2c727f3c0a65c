"""Wire models of the Azure ExpressRoute partner API (ARM, Microsoft.Network).

Field names follow the REST specs (cross-connections at 2025-07-01, provider ports at
2025-05-01; their examples are in ``tests/contracts/data/azure``) and the partner docs (seeds
000 and 001). Python names are snake_case with the wire's camelCase as aliases; the irregular
ones (``azureASN``, ``peerASN``, ``customerASN``) are spelled out.

Every model keeps fields it does not declare (``extra="allow"``) so a round trip loses
nothing. Enumerations are typed ``str``: the service answers with values outside the spec's
enums (``provisioningState: "Enabled"`` in the official examples). The ``StrEnum`` classes
below only name the documented values for comparisons.

These models are for reading. A PUT must echo the raw JSON that GET returned (see
``client.py``): the spec marks ``peeringLocation`` and the ports read-only, but the service
rejects a PUT without them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

CROSS_CONNECTION_TYPE = "Microsoft.Network/expressRouteCrossConnections"
PROVIDER_PORT_TYPE = "Microsoft.Network/expressRouteProviderPort"
BGP_SERVICE_COMMUNITY_TYPE = "Microsoft.Network/bgpServiceCommunities"


class ProvisioningState(StrEnum):
    SUCCEEDED = "Succeeded"
    UPDATING = "Updating"
    DELETING = "Deleting"
    FAILED = "Failed"


class ServiceProviderProvisioningState(StrEnum):
    NOT_PROVISIONED = "NotProvisioned"
    PROVISIONING = "Provisioning"
    PROVISIONED = "Provisioned"
    DEPROVISIONING = "Deprovisioning"


class PeeringType(StrEnum):
    AZURE_PUBLIC = "AzurePublicPeering"
    AZURE_PRIVATE = "AzurePrivatePeering"
    MICROSOFT = "MicrosoftPeering"


class PeeringState(StrEnum):
    DISABLED = "Disabled"
    ENABLED = "Enabled"


class AdvertisedPublicPrefixesState(StrEnum):
    NOT_CONFIGURED = "NotConfigured"
    CONFIGURING = "Configuring"
    CONFIGURED = "Configured"
    VALIDATION_NEEDED = "ValidationNeeded"


class DevicePath(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


class OperationStatus(StrEnum):
    """AzureAsyncOperationResult.status; ``Canceled`` is the ARM-wide terminal value."""

    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"


ROUTING_REGISTRIES = ("ARIN", "APNIC", "AFRINIC", "LACNIC", "RIPENCC", "RADB", "ALTDB", "LEVEL3")


class AzureModel(BaseModel):
    """Base of every wire model: camelCase aliases, unknown fields kept.

    There is deliberately no "back to JSON" helper: writes echo the raw JSON that GET returned
    (see ``client.py``), and a dump of a peering would carry its BGP shared key.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


# --- shared ARM shapes ------------------------------------------------------------------------


class SubResource(AzureModel):
    id: str | None = None


class ExpressRouteCircuitReference(AzureModel):
    id: str | None = None


class TagsObject(AzureModel):
    tags: dict[str, str] | None = None


class CloudErrorBody(AzureModel):
    code: str | None = None
    message: str | None = None
    target: str | None = None
    details: list[CloudErrorBody] | None = None


class CloudError(AzureModel):
    error: CloudErrorBody | None = None


class ErrorDetails(AzureModel):
    code: str | None = None
    target: str | None = None
    message: str | None = None


class Error(AzureModel):
    """The error inside an AzureAsyncOperationResult (not the CloudError shape)."""

    code: str | None = None
    message: str | None = None
    target: str | None = None
    details: list[ErrorDetails] | None = None
    inner_error: str | None = None


class AzureAsyncOperationResult(AzureModel):
    status: str | None = None
    error: Error | None = None


# --- peerings ---------------------------------------------------------------------------------


class AdvertisedPublicPrefixProperties(AzureModel):
    prefix: str | None = None
    validation_id: str | None = None
    signature: str | None = None
    validation_state: str | None = None


class ExpressRouteCircuitPeeringConfig(AzureModel):
    advertised_public_prefixes: list[str] | None = None
    advertised_communities: list[str] | None = None
    advertised_public_prefixes_state: str | None = None
    legacy_mode: int | None = None
    customer_asn: int | None = Field(default=None, alias="customerASN")
    routing_registry_name: str | None = None
    advertised_public_prefix_info: list[AdvertisedPublicPrefixProperties] | None = None


class Ipv6ExpressRouteCircuitPeeringConfig(AzureModel):
    primary_peer_address_prefix: str | None = None
    secondary_peer_address_prefix: str | None = None
    microsoft_peering_config: ExpressRouteCircuitPeeringConfig | None = None
    route_filter: SubResource | None = None
    state: str | None = None


class ExpressRouteCrossConnectionPeeringProperties(AzureModel):
    peering_type: str | None = None
    state: str | None = None
    azure_asn: int | None = Field(default=None, alias="azureASN")
    peer_asn: int | None = Field(default=None, alias="peerASN")
    primary_peer_address_prefix: str | None = None
    secondary_peer_address_prefix: str | None = None
    primary_azure_port: str | None = None
    secondary_azure_port: str | None = None
    # the BGP MD5 secret: kept out of repr so it never lands in a log line by accident
    shared_key: str | None = Field(default=None, repr=False)
    vlan_id: int | None = None
    microsoft_peering_config: ExpressRouteCircuitPeeringConfig | None = None
    provisioning_state: str | None = None
    gateway_manager_etag: str | None = None
    last_modified_by: str | None = None
    ipv6_peering_config: Ipv6ExpressRouteCircuitPeeringConfig | None = None


class ExpressRouteCrossConnectionPeering(AzureModel):
    """A SubResource: ``id``, ``name`` and ``etag``, no ``type``."""

    id: str | None = None
    name: str | None = None
    etag: str | None = None
    properties: ExpressRouteCrossConnectionPeeringProperties | None = None


class ExpressRouteCrossConnectionPeeringList(AzureModel):
    value: list[ExpressRouteCrossConnectionPeering] = Field(default_factory=list)
    next_link: str | None = None


# --- cross-connections ------------------------------------------------------------------------


class ExpressRouteCrossConnectionProperties(AzureModel):
    primary_azure_port: str | None = None
    secondary_azure_port: str | None = None
    s_tag: int | None = None
    peering_location: str | None = None
    bandwidth_in_mbps: int | None = None
    express_route_circuit: ExpressRouteCircuitReference | None = None
    service_provider_provisioning_state: str | None = None
    service_provider_notes: str | None = None
    provisioning_state: str | None = None
    peerings: list[ExpressRouteCrossConnectionPeering] | None = None


class ExpressRouteCrossConnection(AzureModel):
    """The partner's shadow of a customer's circuit; its ``name`` is the circuit's service key."""

    id: str | None = None
    name: str | None = None
    type: str | None = None
    location: str | None = None
    tags: dict[str, str] | None = None
    etag: str | None = None
    properties: ExpressRouteCrossConnectionProperties | None = None

    @property
    def service_key(self) -> str | None:
        return self.name

    @property
    def resource_group(self) -> str | None:
        return resource_id_part(self.id, "resourceGroups")

    @property
    def subscription_id(self) -> str | None:
        return resource_id_part(self.id, "subscriptions")


class ExpressRouteCrossConnectionListResult(AzureModel):
    value: list[ExpressRouteCrossConnection] = Field(default_factory=list)
    next_link: str | None = None


# --- troubleshooting tables -------------------------------------------------------------------


class ExpressRouteCircuitArpTable(AzureModel):
    age: int | None = None
    interface: str | None = None
    ip_address: str | None = None
    mac_address: str | None = None


class ExpressRouteCircuitsArpTableListResult(AzureModel):
    value: list[ExpressRouteCircuitArpTable] = Field(default_factory=list)
    next_link: str | None = None


class ExpressRouteCircuitRoutesTable(AzureModel):
    network: str | None = None
    next_hop: str | None = None
    loc_prf: str | None = None
    weight: int | None = None
    path: str | None = None


class ExpressRouteCircuitsRoutesTableListResult(AzureModel):
    value: list[ExpressRouteCircuitRoutesTable] = Field(default_factory=list)
    next_link: str | None = None


class ExpressRouteCrossConnectionRoutesTableSummary(AzureModel):
    """Cross-connection summary row; differs from the circuit summary (``v``, ``as``, ``statePfxRcd``)."""

    neighbor: str | None = None
    asn: int | None = None
    up_down: str | None = None
    state_or_prefixes_received: str | None = None


class ExpressRouteCrossConnectionsRoutesTableSummaryListResult(AzureModel):
    value: list[ExpressRouteCrossConnectionRoutesTableSummary] = Field(default_factory=list)
    next_link: str | None = None


# --- provider ports (port pairs) --------------------------------------------------------------


class ExpressRouteProviderPortProperties(AzureModel):
    port_pair_descriptor: str | None = None
    primary_azure_port: str | None = None
    secondary_azure_port: str | None = None
    peering_location: str | None = None
    overprovision_factor: int | None = None
    port_bandwidth_in_mbps: int | None = None
    used_bandwidth_in_mbps: int | None = None
    remaining_bandwidth_in_mbps: int | None = None


class ExpressRouteProviderPort(AzureModel):
    """A port pair the partner owns at a peering location.

    The circuit-placement doc (seed 000) also puts ``portPairDescriptor`` at the top level,
    next to ``properties``; both are read.
    """

    id: str | None = None
    name: str | None = None
    type: str | None = None
    location: str | None = None
    tags: dict[str, str] | None = None
    etag: str | None = None
    port_pair_descriptor: str | None = None
    properties: ExpressRouteProviderPortProperties | None = None

    @property
    def descriptor(self) -> str | None:
        """The port pair's name: the spec's ``properties.portPairDescriptor`` first."""
        if self.properties and self.properties.port_pair_descriptor:
            return self.properties.port_pair_descriptor
        if self.port_pair_descriptor:
            return self.port_pair_descriptor
        if self.name:
            return self.name
        return self.id.rstrip("/").rsplit("/", 1)[-1].strip() if self.id else None


class ExpressRouteProviderPortListResult(AzureModel):
    value: list[ExpressRouteProviderPort] = Field(default_factory=list)
    next_link: str | None = None


# --- BGP service communities ------------------------------------------------------------------


class BGPCommunity(AzureModel):
    service_supported_region: str | None = None
    community_name: str | None = None
    community_value: str | None = None
    community_prefixes: list[str] | None = None
    is_authorized_to_use: bool | None = None
    service_group: str | None = None


class BgpServiceCommunityPropertiesFormat(AzureModel):
    service_name: str | None = None
    bgp_communities: list[BGPCommunity] | None = None


class BgpServiceCommunity(AzureModel):
    id: str | None = None
    name: str | None = None
    type: str | None = None
    location: str | None = None
    tags: dict[str, str] | None = None
    properties: BgpServiceCommunityPropertiesFormat | None = None


class BgpServiceCommunityListResult(AzureModel):
    value: list[BgpServiceCommunity] = Field(default_factory=list)
    next_link: str | None = None


# --- resource ids -----------------------------------------------------------------------------


def resource_id_part(resource_id: str | None, segment: str) -> str | None:
    """The value after ``segment`` in an ARM id (segment names compare case-insensitively)."""
    if not resource_id:
        return None
    parts = [p for p in resource_id.split("/") if p]
    for index, part in enumerate(parts[:-1]):
        if part.lower() == segment.lower():
            return parts[index + 1]
    return None
