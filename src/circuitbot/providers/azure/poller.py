"""What the watch engine reads of an Azure circuit: its states and its peerings' states.

A watched resource id is a cross-connection's service key (its name) or its ARM id. The
batched read lists the cross-connections of every partner subscription once, following
nextLink, and picks out the wanted ones; peerings come embedded in each cross-connection, so
one list answers for the circuits and their peerings alike.

The watch engine hands over due ids in batches of ``batch_size``; a listing is kept for
``listing_max_age`` seconds, so the batches of one sweep share one listing instead of each paging
through every subscription again.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.providers.azure.errors import NotFound
from circuitbot.providers.base import Snapshot, snapshot_of


def snapshot(cross_connection: m.ExpressRouteCrossConnection) -> Snapshot:
    """provisioningState, serviceProviderProvisioningState, and per peering its states."""
    properties = cross_connection.properties or m.ExpressRouteCrossConnectionProperties()
    values: dict[str, str | None] = {
        "provisioningState": properties.provisioning_state,
        "serviceProviderProvisioningState": properties.service_provider_provisioning_state,
    }
    for peering in properties.peerings or []:
        peering_properties = peering.properties or m.ExpressRouteCrossConnectionPeeringProperties()
        name = peering.name or peering_properties.peering_type or "peering"
        values[f"peering[{name}].state"] = peering_properties.state
        values[f"peering[{name}].provisioningState"] = peering_properties.provisioning_state
        config = peering_properties.microsoft_peering_config
        if config is not None:
            values[f"peering[{name}].advertisedPublicPrefixesState"] = config.advertised_public_prefixes_state
    return snapshot_of(values)


class AzurePoller:
    """The watch engine's view of Azure (``providers.base.Poller``)."""

    provider = "azure"

    def __init__(
        self, client: AzurePartnerClient, *, clock: Clock | None = None, listing_max_age: float = 5.0
    ) -> None:
        self.client = client
        self.clock = clock or SystemClock()
        self.listing_max_age = listing_max_age
        self._labels: dict[str, str] = {}  # resource id (lower case) -> label, from the latest read
        # name or ARM id (lower case) -> snapshot, from the latest listing, and when it was read
        self._listing: dict[str, Snapshot] = {}
        self._listed_at: float | None = None

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]:
        """One listing of every partner subscription (paged) answers for all the ids."""
        listing = await self._fresh_listing()
        return {resource_id: listing.get(resource_id.strip().lower()) for resource_id in resource_ids}

    async def _fresh_listing(self) -> dict[str, Snapshot]:
        now = self.clock.monotonic()
        if self._listed_at is not None and now - self._listed_at <= self.listing_max_age:
            return self._listing
        listing: dict[str, Snapshot] = {}
        async for cross_connection in self.client.iter_cross_connections():
            state = snapshot(cross_connection)
            for handle in (cross_connection.name, cross_connection.id):
                if handle:
                    listing[handle.lower()] = state
                    self._remember(handle, cross_connection)
        self._listing, self._listed_at = listing, self.clock.monotonic()
        return listing

    async def snapshot_one(self, resource_id: str) -> Snapshot | None:
        try:
            read = await self.client.get_cross_connection(resource_id.strip())
        except NotFound:
            return None
        self._remember(resource_id, read.model)
        return snapshot(read.model)

    def describe(self, resource_id: str, snapshot: Snapshot | None) -> str:
        """``er1 @ SiliconValley (24e6ea2b…)`` once the circuit was read; the key otherwise."""
        return self._labels.get(resource_id.strip().lower(), resource_id)

    def _remember(self, resource_id: str, cross_connection: m.ExpressRouteCrossConnection) -> None:
        properties = cross_connection.properties
        if properties is None:
            return
        circuit_id = properties.express_route_circuit.id if properties.express_route_circuit else None
        circuit = m.resource_id_part(circuit_id, "expressRouteCircuits") or "circuit"
        key = cross_connection.name or resource_id
        where = f" @ {properties.peering_location}" if properties.peering_location else ""
        self._labels[resource_id.strip().lower()] = f"{circuit}{where} ({key[:8]}…)"
