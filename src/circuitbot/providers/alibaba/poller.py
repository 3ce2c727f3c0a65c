"""What the watch engine reads of an Alibaba physical connection: Status and BusinessStatus.

A watched id is a physical connection id (``pc-…``). Ids do not say their region, so the
client remembers where each listing showed them; ids never seen are looked for in every watched
region.

The batched strategy works per region, regions side by side, and in each picks the cheaper of:

* the whole ``DescribePhysicalConnections`` listing at PageSize 50 (``ceil(total / 50)`` calls,
  the total known from the region's last listing), shared by every batch of the sweep through
  ``providers.kit.listing``; once loaded in a sweep it costs nothing more;
* the ``PhysicalConnectionId`` filter, at most five values a call (``ceil(wanted / 5)`` calls).

With the total not yet known, a region is listed whole when more than five of its ids are
wanted. ``snapshot_one`` (the per-resource strategy, kept for comparison) reads one id with the
filter.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

from circuitbot.clock import Clock
from circuitbot.providers.base import Snapshot, snapshot_of
from circuitbot.providers.kit.listing import SweepListing

from . import models as m
from .client import MAX_FILTER_VALUES, PAGE_SIZE, AlibabaClient

LISTING_MAX_AGE_SECONDS = 1.0
Listing = dict[str, m.PhysicalConnection]


def snapshot(connection: m.PhysicalConnection) -> Snapshot:
    return snapshot_of({"Status": connection.status, "BusinessStatus": connection.business_status})


class AlibabaPoller:
    provider = "alibaba"

    def __init__(
        self, client: AlibabaClient, clock: Clock, *, listing_max_age: float = LISTING_MAX_AGE_SECONDS
    ) -> None:
        self.client = client
        self.clock = clock
        self._listings = {r: SweepListing[Listing](clock, max_age=listing_max_age) for r in client.regions}
        self._totals: dict[str, int] = {}  # region -> TotalCount of its last whole listing
        self._sweep = 0
        self._listed_in: dict[str, int] = {}  # region -> the sweep its listing was loaded in
        self._names: dict[str, str] = {}
        self.calls_by_strategy = {"listing": 0, "filter": 0}

    def normalize(self, resource_id: str) -> str:
        return resource_id.strip().lower()

    def begin_sweep(self) -> None:
        self._sweep += 1
        for listing in self._listings.values():
            listing.begin_sweep()

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]:
        ids = list(dict.fromkeys(resource_ids))
        by_region: dict[str, list[str]] = {r: [] for r in self.client.regions}
        unknown: list[str] = []
        for rid in ids:
            region = self.client.known_region(rid)
            (by_region[region] if region in by_region else unknown).append(rid)
        for region in by_region:  # an id never seen may be in any region
            by_region[region].extend(unknown)
        results = await asyncio.gather(
            *(self._region(region, wanted) for region, wanted in by_region.items() if wanted),
            return_exceptions=True,
        )
        found: dict[str, m.PhysicalConnection] = {}
        failed: dict[str, Exception] = {}
        for (_region, wanted), result in zip(
            [(r, w) for r, w in by_region.items() if w], results, strict=True
        ):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                failed.update({rid: result for rid in wanted if rid not in found})
                continue
            found.update(result)
        answers: dict[str, Snapshot | Exception | None] = {}
        for rid in ids:
            if rid in found:
                answers[rid] = snapshot(found[rid])
            else:
                answers[rid] = failed.get(rid)
        return answers

    async def _region(self, region: str, wanted: list[str]) -> dict[str, m.PhysicalConnection]:
        if self._use_listing(region, len(wanted)):
            listing = await self._listings[region].get(lambda: self._load(region))
            return {rid: listing[rid] for rid in wanted if rid in listing}
        found: dict[str, m.PhysicalConnection] = {}
        for start in range(0, len(wanted), MAX_FILTER_VALUES):
            chunk = wanted[start : start + MAX_FILTER_VALUES]
            self.calls_by_strategy["filter"] += 1
            page = await self.client.list_region(region, {"PhysicalConnectionId": chunk})
            found.update(self._keep(page))
        return found

    def _use_listing(self, region: str, count: int) -> bool:
        if self._listed_in.get(region) == self._sweep:
            return True  # already loaded this sweep: free
        total = self._totals.get(region)
        filter_calls = math.ceil(count / MAX_FILTER_VALUES)
        if total is None:
            return count > MAX_FILTER_VALUES
        return max(1, math.ceil(total / PAGE_SIZE)) <= filter_calls

    async def _load(self, region: str) -> Listing:
        items = await self.client.list_region(region)
        self.calls_by_strategy["listing"] += max(1, math.ceil(len(items) / PAGE_SIZE))
        self._totals[region] = len(items)
        self._listed_in[region] = self._sweep
        return self._keep(items)

    def _keep(self, items: Sequence[m.PhysicalConnection]) -> Listing:
        listing = {item.physical_connection_id: item for item in items}
        for item in items:
            if item.name:
                self._names[item.physical_connection_id] = item.name
        return listing

    async def snapshot_one(self, resource_id: str) -> Snapshot | None:
        found = await self.client.find(resource_id)
        if found is None:
            return None
        self._keep([found])
        return snapshot(found)

    def describe(self, resource_id: str, snapshot: Snapshot | None) -> str:
        name = self._names.get(resource_id)
        return f"{name} ({resource_id})" if name else resource_id
