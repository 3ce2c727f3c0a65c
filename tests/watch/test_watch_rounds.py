"""A tick's rounds overlap: while the first round's read waits (on a listing the rounds share),
the next rounds are claimed and their reads started; rounds are still recorded one at a time, each
change once. Providers take turns, so each one's listing starts at the beginning of the tick. A
round whose listing failed backs off on its own; a stop gives back every round claimed and not
recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select
from watch_support import FakePoller, ProviderDown, drain, make_runtime

from circuitbot.actions.registry import WatchTarget
from circuitbot.clock import FakeClock
from circuitbot.providers.base import Snapshot
from circuitbot.providers.kit.listing import SweepListing
from circuitbot.store.db import Database
from circuitbot.store.tables import Watch
from circuitbot.watch.engine import ROUNDS_AHEAD, WatchEngine
from support.poster import RecordingPoster

FAST = 15.0
RESOURCES = [f"xc{n}" for n in range(9)]  # rounds of two: 2, 2, 2, 2, 1


class ListingPoller(FakePoller):
    """A provider answered from one listing a sweep (``SweepListing``), as Azure's poller is.

    While ``open`` is clear a load waits; ``fail_loads`` loads fail before one succeeds.
    """

    def __init__(self, clock: FakeClock, provider: str = "azure") -> None:
        super().__init__(provider)
        self.listing: SweepListing[dict[str, Snapshot]] = SweepListing(clock, max_age=0.0)
        self.loads = 0
        self.loaded = asyncio.Event()
        self.fail_loads = 0
        self.open = asyncio.Event()
        self.open.set()

    def begin_sweep(self) -> None:
        self.listing.begin_sweep()

    async def _load(self) -> dict[str, Snapshot]:
        await self.open.wait()
        self.loads += 1
        self.loaded.set()
        if self.fail_loads:
            self.fail_loads -= 1
            raise ProviderDown("listing answered 503")
        return {rid: dict(snapshot) for rid, snapshot in self.resources.items()}

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]:
        self.many_calls.append(list(resource_ids))
        listed = await self.listing.get(self._load)
        for rid in resource_ids:
            self.read[rid] += 1
        return {rid: listed.get(rid) for rid in resource_ids}


@pytest.fixture
def listing_poller(clock: FakeClock) -> ListingPoller:
    return ListingPoller(clock)


@pytest.fixture
async def engine(settings, database: Database, clock: FakeClock, listing_poller: ListingPoller, poster):
    """Nine watches (one a channel), cards posted, due; rounds of two watches."""
    settings.watch.batch_size = 2
    settings.watch.provider_concurrency = 1
    engine = make_runtime(settings, database, clock, listing_poller, poster).watches
    for n, rid in enumerate(RESOURCES):
        listing_poller.set(rid, provisioningState="Updating")
        await engine.watch(WatchTarget("azure", rid), f"C{n}", created_by="UREQ")
    await drain(engine, clock)
    await clock.advance(FAST)
    listing_poller.reset_counts()
    return engine


class Claims:
    """Counts the engine's claims; ``reached`` is set once ``expected`` rounds were claimed."""

    def __init__(self, engine: WatchEngine, expected: int) -> None:
        self.sizes: list[int] = []
        self.expected = expected
        self.reached = asyncio.Event()
        claim = engine._claim

        async def counted(cutoff, limit, lane):  # type: ignore[no-untyped-def]
            due = await claim(cutoff, limit, lane)
            if due:  # the lane of unconfigured providers finds none
                self.sizes.append(len(due))
            if len(self.sizes) >= self.expected:
                self.reached.set()
            return due

        engine._claim = counted  # type: ignore[method-assign]


def announced(poster: RecordingPoster, rid: str, state: str) -> int:
    """How many times the thread of ``rid``'s card said it moved to ``state``."""
    channel = f"C{RESOURCES.index(rid)}"
    return sum(f"→ *{state}*" in str(p.reply.blocks) for p in poster.posts(channel) if p.thread_ts)


async def leases(db: Database) -> dict[str, object]:
    async with db.session() as session:
        rows = await session.execute(select(Watch.resource_id, Watch.next_poll_at))
        return {row[0]: row[1] for row in rows}


async def test_the_next_rounds_are_claimed_while_the_first_waits_for_the_shared_listing(
    engine: WatchEngine, listing_poller: ListingPoller, clock: FakeClock, database: Database, poster
) -> None:
    changed = ["xc0", "xc3", "xc8"]  # in the first, a middle and the last round
    for rid in changed:
        listing_poller.update(rid, provisioningState="Succeeded")
    listing_poller.open.clear()
    claims = Claims(engine, ROUNDS_AHEAD)
    ticking = asyncio.create_task(engine.tick())
    await asyncio.wait_for(claims.reached.wait(), 5)

    # four rounds claimed while the listing is not loaded yet; the fifth waits for a record
    assert claims.sizes == [2] * ROUNDS_AHEAD
    leased = await leases(database)
    claimed = {rid for rid, at in leased.items() if at > clock.now() + timedelta(seconds=FAST)}
    assert claimed == set(RESOURCES[: 2 * ROUNDS_AHEAD]) and listing_poller.loads == 0

    listing_poller.open.set()
    report = await asyncio.wait_for(ticking, 5)
    assert claims.sizes == [2, 2, 2, 2, 1]
    assert (report.claimed, report.transitions, report.errors) == (9, 3, 0)
    assert listing_poller.loads == 1, "one listing answered every round"
    assert listing_poller.read == dict.fromkeys(RESOURCES, 1)

    await drain(engine, clock)
    await clock.advance(FAST)
    report = await engine.tick()  # the next sweep lists afresh; the settled ones are polled slower
    assert (report.claimed, report.transitions, listing_poller.loads) == (6, 0, 2)
    await drain(engine, clock)
    assert {rid: announced(poster, rid, "Succeeded") for rid in RESOURCES} == {
        rid: int(rid in changed) for rid in RESOURCES
    }


async def test_a_round_whose_listing_failed_backs_off_and_the_others_are_recorded(
    engine: WatchEngine, listing_poller: ListingPoller, clock: FakeClock, database: Database, poster
) -> None:
    for rid in ("xc0", "xc5"):
        listing_poller.update(rid, provisioningState="Succeeded")
    listing_poller.fail_loads = 1  # the first round's batch; the next one loads afresh

    report = await engine.tick()
    assert (report.claimed, report.errors, report.transitions) == (9, 2, 1)
    assert listing_poller.loads == 2
    async with database.session() as session:
        errors = {r: n for r, n in await session.execute(select(Watch.resource_id, Watch.error_count))}
    assert errors == {rid: int(rid in ("xc0", "xc1")) for rid in RESOURCES}

    # after its backoff the failed round is read again, and its change is said then, once
    for _ in range(3):
        await drain(engine, clock)
        await clock.advance(FAST)
        await engine.tick()
    await drain(engine, clock)
    assert announced(poster, "xc0", "Succeeded") == announced(poster, "xc5", "Succeeded") == 1
    assert "unreachable" not in poster.everything()


async def test_a_stop_gives_back_every_round_claimed_and_not_recorded(
    engine: WatchEngine, listing_poller: ListingPoller, clock: FakeClock, database: Database
) -> None:
    listing_poller.open.clear()
    claims = Claims(engine, ROUNDS_AHEAD)
    await engine.start()
    await asyncio.wait_for(claims.reached.wait(), 5)
    leased = await leases(database)
    assert sum(at > clock.now() for at in leased.values()) == 2 * ROUNDS_AHEAD
    await engine.stop(grace_seconds=0.05)

    assert all(at <= clock.now() for at in (await leases(database)).values()), "all due again"
    assert listing_poller.loads == 0


async def test_providers_take_turns_so_each_listing_starts_at_the_beginning(
    settings, database: Database, clock: FakeClock, poster
) -> None:
    settings.watch.batch_size = 2
    settings.watch.provider_concurrency = 1
    azure, equinix = ListingPoller(clock), ListingPoller(clock, "equinix")
    retired = FakePoller("consoleconnect")
    runtime = make_runtime(settings, database, clock, azure, poster)
    runtime.pollers = {"azure": azure, "equinix": equinix, "consoleconnect": retired}
    for poller, count in ((azure, 5), (equinix, 3), (retired, 1)):
        for n in range(count):
            poller.set(f"r{n}", provisioningState="Updating")
            await runtime.watches.watch(WatchTarget(poller.provider, f"r{n}"), "C1", created_by="UREQ")
    await drain(runtime.watches, clock)
    await clock.advance(FAST)
    del runtime.pollers["consoleconnect"]  # its watch is of a provider nobody can poll now

    azure.open.clear()
    ticking = asyncio.create_task(runtime.watches.tick())
    await asyncio.wait_for(equinix.loaded.wait(), 5)  # Equinix lists while Azure's listing waits
    assert azure.loads == 0

    azure.open.set()
    report = await asyncio.wait_for(ticking, 5)
    assert (report.claimed, report.errors) == (9, 1), "the retired provider's watch too, as an error"
    assert (azure.loads, equinix.loads) == (1, 1)
    assert report.calls == {"azure": 3, "equinix": 2}
