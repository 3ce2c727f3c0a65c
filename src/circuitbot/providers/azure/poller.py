"""What the watch engine reads of an Azure circuit: its states and its peerings' states.

A watched resource id is a cross-connection's service key (its name) or its ARM id. The
batched read lists the cross-connections once and picks out the wanted ones; peerings come
embedded in each cross-connection, so one list answers for the circuits and their peerings alike.
Azure keeps a location's cross-connections in resource group ``CrossConnection-<location>``, so
once the poller knows the groups (from the ids it has seen and the partner's port-pair
locations) it lists the groups side by side, each following its own nextLink, rather than
follow one subscription-wide chain of pages. Ids the groups lack are read one by one; when more
than a handful are missing (a location it did not know), that sweep lists whole subscriptions.

The watch engine hands over due ids in batches of ``batch_size``, several batches at once and
further rounds while the first ones still wait for the listing. One listing serves the whole tick
(``providers.kit.listing``): concurrent batches wait for the listing in flight rather than start
their own, and the engine's ``begin_sweep()`` at the start of each tick makes the next batch
list afresh, so no tick is answered with what an earlier tick read. A caller that never marks
sweeps gets a listing reused only until ``listing_max_age`` seconds after it ended. A sweep of
10,000 circuits is read from the raw JSON of the pages, without validating every item into
models.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.providers.azure.errors import NotFound
from circuitbot.providers.base import Snapshot, snapshot_of
from circuitbot.providers.kit.listing import SweepListing

log = logging.getLogger(__name__)

# (express route circuit id, peering location, service key): what a label is made of
LabelParts = tuple[str | None, str | None, str]

# Without sweeps marked, how long after a listing ended it still answers: long enough for the
# batches of one round, short of any poll interval, so the next poll reads Azure again.
LISTING_MAX_AGE_SECONDS = 1.0
# Resource groups listed at once: enough to hide the per-page latency, few enough to stay
# well inside ARM's read throttling.
GROUP_LISTINGS_AT_ONCE = 8
# Port pairs change rarely (a new location); reading them again now and then finds new groups.
PORT_LOCATIONS_MAX_AGE_SECONDS = 600.0
# More ids than this missing from the group listings: a location the poller does not know.
MISSING_BEFORE_FULL_LISTING = 5

# (subscription id, resource group) as Azure spelled them
Group = tuple[str, str]
_GROUP_IN_ID = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/", re.IGNORECASE)
# name or ARM id (lower case) -> (snapshot, label parts)
Listing = dict[str, tuple[Snapshot, LabelParts]]


class _Listed(NamedTuple):
    entries: Listing
    complete: bool  # whole subscriptions listed, not only the known groups


def snapshot(cross_connection: m.ExpressRouteCrossConnection | Mapping[str, Any]) -> Snapshot:
    """provisioningState, serviceProviderProvisioningState, and per peering its states.

    Takes the cross-connection as ARM sent it (JSON) or as a model.
    """
    raw = (
        cross_connection.model_dump(by_alias=True, exclude_unset=True)
        if isinstance(cross_connection, m.ExpressRouteCrossConnection)
        else cross_connection
    )
    properties = _object(raw.get("properties"))
    values: dict[str, Any] = {
        "provisioningState": properties.get("provisioningState"),
        "serviceProviderProvisioningState": properties.get("serviceProviderProvisioningState"),
    }
    for peering in properties.get("peerings") or ():
        peering = _object(peering)
        peering_properties = _object(peering.get("properties"))
        name = peering.get("name") or peering_properties.get("peeringType") or "peering"
        values[f"peering[{name}].state"] = peering_properties.get("state")
        values[f"peering[{name}].provisioningState"] = peering_properties.get("provisioningState")
        config = peering_properties.get("microsoftPeeringConfig")
        if isinstance(config, Mapping):
            values[f"peering[{name}].advertisedPublicPrefixesState"] = config.get(
                "advertisedPublicPrefixesState"
            )
    return snapshot_of(values)


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def cross_connection_group(location: str) -> str:
    """The resource group Azure keeps a peering location's cross-connections in."""
    return "CrossConnection-" + location.replace(" ", "")


def _label_parts(raw: Mapping[str, Any], fallback: str) -> LabelParts:
    properties = _object(raw.get("properties"))
    circuit_id = _object(properties.get("expressRouteCircuit")).get("id")
    name = raw.get("name")
    return (
        circuit_id if isinstance(circuit_id, str) else None,
        properties.get("peeringLocation"),
        name if isinstance(name, str) and name else fallback,
    )


class AzurePoller:
    """The watch engine's view of Azure (``providers.base.Poller``)."""

    provider = "azure"

    def __init__(
        self,
        client: AzurePartnerClient,
        *,
        clock: Clock | None = None,
        listing_max_age: float = LISTING_MAX_AGE_SECONDS,
    ) -> None:
        self.client = client
        self.clock = clock or SystemClock()
        self._listing: SweepListing[_Listed] = SweepListing(self.clock, max_age=listing_max_age)
        self._labels: dict[str, LabelParts] = {}  # resource id (lower case) -> its label's parts
        self._groups: dict[tuple[str, str], Group] = {}  # lower-cased key -> as Azure spelled it
        self._port_locations_read: float | None = None  # monotonic

    @property
    def listing_max_age(self) -> float:
        """Without sweeps marked, how long after it ended a listing still answers."""
        return self._listing.max_age

    @listing_max_age.setter
    def listing_max_age(self, seconds: float) -> None:
        self._listing.max_age = seconds

    def begin_sweep(self) -> None:
        """A new tick starts: its first batch lists afresh, and the listing serves the whole tick."""
        self._listing.begin_sweep()

    def normalize(self, resource_id: str) -> str:
        """Service keys and ARM ids ignore case: one spelling per circuit, so one watch."""
        return resource_id.strip().lower()

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]:
        """One listing (by resource group, or of every partner subscription) answers for all the ids.

        An id the listing lacks is read on its own before it is called gone: a listing can miss
        an item (paging while the collection changes), and None ends the watch at once.
        """
        listed = await self._listing.get(self._list)
        missing = [r for r in resource_ids if r.strip().lower() not in listed.entries]
        if len(missing) > MISSING_BEFORE_FULL_LISTING:
            # whole subscriptions listed, once for the batches that found the group listing short
            listed = await self._listing.upgrade(lambda latest: latest.complete, self._list_subscriptions)
        listing = listed.entries
        answers: dict[str, Snapshot | Exception | None] = {}
        for resource_id in resource_ids:
            found = listing.get(resource_id.strip().lower())
            if found is None:
                try:
                    answers[resource_id] = await self._confirm(resource_id)
                except Exception as exc:  # this id's failure, not the batch's
                    answers[resource_id] = exc
                continue
            state, parts = found
            self._labels[resource_id.strip().lower()] = parts
            answers[resource_id] = state
        return answers

    async def _list(self) -> _Listed:
        """The known groups side by side, or whole subscriptions while no group is known."""
        await self._learn_port_locations()
        return await (self._list_groups() if self._groups else self._list_subscriptions())

    async def _list_subscriptions(self) -> _Listed:
        listing: Listing = {}
        async for item in self.client.iter_cross_connection_items():
            self._add(listing, item)
        return _Listed(listing, complete=True)

    async def _list_groups(self) -> _Listed:
        """Every known group of every partner subscription, several at a time."""
        at_once = asyncio.Semaphore(GROUP_LISTINGS_AT_ONCE)

        async def list_group(group: Group) -> list[dict[str, Any]]:
            async with at_once:
                try:
                    return [item async for item in self.client.iter_cross_connection_items_in_group(*group)]
                except NotFound:  # the group is gone (or never held cross-connections)
                    self._groups.pop((group[0].lower(), group[1].lower()), None)
                    return []

        try:
            async with asyncio.TaskGroup() as tasks:
                pending = [tasks.create_task(list_group(group)) for group in list(self._groups.values())]
        except ExceptionGroup as failed:  # one group's failure fails the sweep: say which, not "TaskGroup"
            raise failed.exceptions[0] from None
        listing: Listing = {}
        for task in pending:
            for item in task.result():
                self._add(listing, item, learn=False)  # its group is known: it was listed by it
        return _Listed(listing, complete=False)

    def _add(self, listing: Listing, item: Mapping[str, Any], *, learn: bool = True) -> None:
        entry = (snapshot(item), _label_parts(item, ""))
        for handle in (item.get("name"), item.get("id")):
            if isinstance(handle, str) and handle:
                listing[handle.lower()] = entry
        if learn:
            self._learn_group(item.get("id"))

    def _learn_group(self, resource_id: Any) -> None:
        match = _GROUP_IN_ID.match(resource_id) if isinstance(resource_id, str) else None
        if match is not None:
            self._remember_group(match[1], match[2])

    def _remember_group(self, subscription: str, resource_group: str) -> None:
        key = (subscription.lower(), resource_group.lower())
        self._groups.setdefault(key, (subscription, resource_group))

    async def _learn_port_locations(self) -> None:
        """The groups of the partner's port-pair locations, read now and then."""
        now = self.clock.monotonic()
        read = self._port_locations_read
        if read is not None and now - read < PORT_LOCATIONS_MAX_AGE_SECONDS:
            return
        self._port_locations_read = now
        try:
            ports = await self.client.list_provider_ports()
        except Exception as exc:  # the groups seen in ids still serve; a full listing otherwise
            log.warning("azure poller: could not read the port pairs' locations: %s", type(exc).__name__)
            return
        for port in ports:
            location = port.properties.peering_location if port.properties else None
            if location:
                for subscription in self.client.subscription_ids:
                    self._remember_group(subscription, cross_connection_group(location))

    async def _confirm(self, resource_id: str) -> Snapshot | None:
        """The circuit read directly, or None when it is gone: by its id when it is one or a
        listing showed it before, else by a name-filtered lookup (everything was just listed)."""
        handle = resource_id.strip()
        known = handle if handle.lower().startswith("/subscriptions/") else self.client.known_id(handle)
        try:
            if known is None:
                found = await self.client.find_by_service_key(handle, list_all=False)
                if found is None or not found.id:
                    return None
                known = found.id
            read = await self.client.get_cross_connection(known)
        except NotFound:
            return None
        self._labels[handle.lower()] = _label_parts(read.raw, handle)
        self._learn_group(read.raw.get("id"))
        return snapshot(read.raw)

    async def snapshot_one(self, resource_id: str) -> Snapshot | None:
        try:
            read = await self.client.get_cross_connection(resource_id.strip())
        except NotFound:
            return None
        self._labels[resource_id.strip().lower()] = _label_parts(read.raw, resource_id.strip())
        self._learn_group(read.raw.get("id"))
        return snapshot(read.raw)

    def describe(self, resource_id: str, snapshot: Snapshot | None) -> str:
        """``er1 @ SiliconValley (24e6ea2b…)`` once the circuit was read; the key otherwise."""
        parts = self._labels.get(resource_id.strip().lower())
        if parts is None:
            return resource_id
        circuit_id, location, key = parts
        circuit = m.resource_id_part(circuit_id, "expressRouteCircuits") or "circuit"
        where = f" @ {location}" if location else ""
        return f"{circuit}{where} ({(key or resource_id)[:8]}…)"
