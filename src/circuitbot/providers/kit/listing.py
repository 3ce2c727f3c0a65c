"""A poller's listing, shared within one sweep and never across sweeps.

A poller answers many ids from one listing of the provider's resources. The watch engine hands
over a sweep's due ids in batches, several at once and then in further rounds: one listing
serves them all. Concurrent batches wait for the listing in flight rather than start their own,
and ``begin_sweep()`` at the start of each sweep makes the next batch load afresh, so no sweep
is answered with what an earlier one read. A caller that never marks sweeps gets a listing
reused only until ``max_age`` seconds after it was loaded, or by the batches that waited
while it loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from circuitbot.clock import Clock

ListingT = TypeVar("ListingT")


class SweepListing(Generic[ListingT]):
    """The latest listing and the sweep it was loaded in."""

    def __init__(self, clock: Clock, *, max_age: float) -> None:
        self.clock = clock
        self.max_age = max_age
        self._lock = asyncio.Lock()
        self._listing: ListingT | None = None
        self._loaded_at: float | None = None  # monotonic, when the latest load ended
        self._loads = 0  # completed loads: a waiter whose count moved got a fresh listing
        self._sweep: int | None = None  # counts begin_sweep() calls; None until the first
        self._listing_sweep: int | None = None  # the sweep the latest listing was loaded in

    def begin_sweep(self) -> None:
        """A new sweep starts: its first caller loads afresh, and that listing serves the sweep."""
        self._sweep = 0 if self._sweep is None else self._sweep + 1

    async def get(self, load: Callable[[], Awaitable[ListingT]]) -> ListingT:
        """The listing of the current sweep, loaded by ``load()`` once for concurrent callers."""
        loads_before = self._loads
        async with self._lock:
            if self._listing is not None and self._reusable(waited_for_one=self._loads != loads_before):
                return self._listing
            sweep = self._sweep  # a sweep begun while loading gets a listing of its own
            listing = await load()
            self._keep(listing, sweep)
            return listing

    async def upgrade(
        self, enough: Callable[[ListingT], bool], load: Callable[[], Awaitable[ListingT]]
    ) -> ListingT:
        """The latest listing if ``enough`` finds it so; otherwise ``load()``'s, once for
        concurrent callers, in its place and for the same sweep."""
        async with self._lock:
            if self._listing is not None and enough(self._listing):
                return self._listing
            sweep = self._listing_sweep
            listing = await load()
            self._keep(listing, sweep)
            return listing

    def _keep(self, listing: ListingT, sweep: int | None) -> None:
        self._listing, self._listing_sweep = listing, sweep
        self._loaded_at = self.clock.monotonic()
        self._loads += 1

    def _reusable(self, *, waited_for_one: bool) -> bool:
        """The latest listing was loaded in the current sweep, or (sweeps not marked) while
        this caller waited or at most ``max_age`` seconds ago."""
        if self._loaded_at is None:
            return False
        if self._sweep is not None:
            return self._listing_sweep == self._sweep
        return waited_for_one or self.clock.monotonic() - self._loaded_at <= self.max_age
