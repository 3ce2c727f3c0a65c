"""What the watch engine reads of an Equinix connection: its states, on either generation.

A watched id is a connection's uuid (lower case). The snapshot holds the generation's own
state fields: v3 ``status`` and ``providerStatus``; v4 ``state``, ``equinixStatus`` and
``providerStatus`` (from ``operation``).

The batched strategy:

* v4 searches ``POST /fabric/v4/connections/search`` with the batch's uuids in one ``IN``
  filter, 100 a page: a batch costs one request whatever the account holds.
* v3 has no such filter: the buyer connections listing, all pages, is read once per sweep and
  shared by the sweep's batches (``providers.kit.listing``); concurrent batches wait for the
  listing in flight.

An id the batch's answer lacks is read on its own before it is called gone (a listing can miss
an item while the collection changes, and None ends the watch). The per-resource strategy, one
GET per connection, stays for comparison. Snapshots are read from the raw JSON, without
validating models, so a sweep of 10,000 connections stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.base import Snapshot, snapshot_of
from circuitbot.providers.kit.listing import SweepListing

from .client import EquinixClient
from .errors import NotFound

LISTING_MAX_AGE_SECONDS = 1.0

# uuid (lower case) -> (snapshot, label parts (name, metro))
Label = tuple[str | None, str | None]
Listing = dict[str, tuple[Snapshot, Label]]


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def snapshot(raw: Mapping[str, Any]) -> Snapshot:
    """The watched states of a connection as either generation sent it."""
    if "operation" in raw or "aSide" in raw or "state" in raw:
        operation = _object(raw.get("operation"))
        return snapshot_of(
            {
                "state": raw.get("state"),
                "equinixStatus": operation.get("equinixStatus"),
                "providerStatus": operation.get("providerStatus"),
            }
        )
    return snapshot_of({"status": raw.get("status"), "providerStatus": raw.get("providerStatus")})


def label(raw: Mapping[str, Any]) -> Label:
    name = raw.get("name")
    metro = raw.get("metroCode") or _object(
        _object(_object(raw.get("aSide")).get("accessPoint")).get("location")
    ).get("metroCode")
    return (name if isinstance(name, str) else None, metro if isinstance(metro, str) else None)


class EquinixPoller:
    """The watch engine's view of Equinix (``providers.base.Poller``)."""

    provider = "equinix"

    def __init__(
        self,
        client: EquinixClient,
        *,
        clock: Clock | None = None,
        listing_max_age: float = LISTING_MAX_AGE_SECONDS,
    ) -> None:
        self.client = client
        self.clock = clock or SystemClock()
        self._listing: SweepListing[Listing] = SweepListing(self.clock, max_age=listing_max_age)
        self._labels: dict[str, Label] = {}

    def begin_sweep(self) -> None:
        self._listing.begin_sweep()

    def normalize(self, resource_id: str) -> str:
        """Connection uuids ignore case: one spelling, so one watch."""
        return resource_id.strip().lower()

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]:
        wanted = [self.normalize(r) for r in resource_ids]
        if self.client.api_version == "v4":
            found: Listing = {}
            for item in await self.client.v4.connections_by_uuid(sorted(set(wanted))):
                self._add(found, item)
        else:
            found = await self._listing.get(self._list_v3)
        answers: dict[str, Snapshot | Exception | None] = {}
        for resource_id, key in zip(resource_ids, wanted, strict=True):
            entry = found.get(key)
            if entry is None:
                try:
                    answers[resource_id] = await self.snapshot_one(key)
                except Exception as exc:  # this id's failure, not the batch's
                    answers[resource_id] = exc
                continue
            self._labels[key] = entry[1]
            answers[resource_id] = entry[0]
        return answers

    async def _list_v3(self) -> Listing:
        listing: Listing = {}
        async for item in self.client.v3.connection_items():
            self._add(listing, item)
        return listing

    def _add(self, listing: Listing, item: Mapping[str, Any]) -> None:
        uuid = item.get("uuid")
        if isinstance(uuid, str) and uuid:
            listing[uuid.lower()] = (snapshot(item), label(item))

    async def snapshot_one(self, resource_id: str) -> Snapshot | None:
        key = self.normalize(resource_id)
        try:
            raw = await self.client.gen.connection_raw(key)
        except NotFound:
            return None
        self._labels[key] = label(raw)
        return snapshot(raw)

    def describe(self, resource_id: str, snapshot: Snapshot | None) -> str:
        """``Fabrikam-SV-ER-PRI @ SV (006d08e2…)`` once read; the uuid otherwise."""
        key = self.normalize(resource_id)
        name, metro = self._labels.get(key, (None, None))
        if name is None:
            return resource_id
        where = f" @ {metro}" if metro else ""
        return f"{name}{where} ({key[:8]}…)"
