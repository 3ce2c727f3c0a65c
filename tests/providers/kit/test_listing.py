"""The listing a poller shares within one sweep and never across sweeps."""

from __future__ import annotations

import asyncio

import pytest

from circuitbot.clock import FakeClock
from circuitbot.providers.kit.listing import SweepListing


class Loader:
    """Counts its loads; each returns a new listing, and waits for ``gate`` while it is closed."""

    def __init__(self, *, complete: bool = False) -> None:
        self.loads = 0
        self.complete = complete
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> dict[str, object]:
        self.loads += 1
        await self.gate.wait()
        return {"load": self.loads, "complete": self.complete}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_concurrent_callers_share_the_load_in_flight(clock: FakeClock) -> None:
    listing: SweepListing[dict[str, object]] = SweepListing(clock, max_age=1.0)
    load = Loader()
    load.gate.clear()
    listing.begin_sweep()
    callers = [asyncio.ensure_future(listing.get(load)) for _ in range(4)]
    await asyncio.sleep(0)
    load.gate.set()
    answers = await asyncio.gather(*callers)
    assert load.loads == 1
    assert all(answer is answers[0] for answer in answers)


async def test_a_listing_serves_its_whole_sweep_and_the_next_sweep_loads_afresh(clock: FakeClock) -> None:
    listing: SweepListing[dict[str, object]] = SweepListing(clock, max_age=1.0)
    load = Loader()
    listing.begin_sweep()
    first = await listing.get(load)
    await clock.advance(60)  # a long round of recording: still the same sweep
    assert await listing.get(load) is first
    listing.begin_sweep()
    second = await listing.get(load)
    assert (load.loads, second["load"]) == (2, 2)
    assert await listing.get(load) is second


async def test_a_sweep_begun_while_loading_is_not_answered_with_that_load(clock: FakeClock) -> None:
    listing: SweepListing[dict[str, object]] = SweepListing(clock, max_age=3600.0)
    load = Loader()
    load.gate.clear()
    listing.begin_sweep()
    loading = asyncio.ensure_future(listing.get(load))
    await asyncio.sleep(0)
    listing.begin_sweep()
    load.gate.set()
    assert (await loading)["load"] == 1
    assert (await listing.get(load))["load"] == 2


async def test_without_sweeps_a_listing_serves_only_until_its_max_age(clock: FakeClock) -> None:
    listing: SweepListing[dict[str, object]] = SweepListing(clock, max_age=1.0)
    load = Loader()
    first = await listing.get(load)
    await clock.advance(0.5)
    assert await listing.get(load) is first
    await clock.advance(1.0)
    assert (await listing.get(load))["load"] == 2


async def test_without_sweeps_callers_that_waited_for_a_load_take_it_however_long_it_took(
    clock: FakeClock,
) -> None:
    listing: SweepListing[dict[str, object]] = SweepListing(clock, max_age=1.0)
    load = Loader()
    load.gate.clear()
    callers = [asyncio.ensure_future(listing.get(load)) for _ in range(3)]
    await asyncio.sleep(0)
    await clock.advance(30)  # a slow listing; the waiters still take it
    load.gate.set()
    await asyncio.gather(*callers)
    assert load.loads == 1


async def test_an_upgrade_replaces_the_listing_once_and_counts_for_the_same_sweep(clock: FakeClock) -> None:
    listing: SweepListing[dict[str, object]] = SweepListing(clock, max_age=1.0)
    partial, whole = Loader(), Loader(complete=True)
    listing.begin_sweep()
    await listing.get(partial)
    whole.gate.clear()
    upgrades = [
        asyncio.ensure_future(listing.upgrade(lambda latest: bool(latest["complete"]), whole))
        for _ in range(3)
    ]
    await asyncio.sleep(0)
    whole.gate.set()
    answers = await asyncio.gather(*upgrades)
    assert whole.loads == 1 and all(answer["complete"] for answer in answers)
    assert (await listing.get(partial))["complete"] is True  # the sweep's listing now
    assert partial.loads == 1
    listing.begin_sweep()
    assert (await listing.get(partial))["complete"] is False
