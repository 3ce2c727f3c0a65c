"""Stopping the watch engine and its outbox (SIGTERM): a round under way finishes within the grace
or gives its claims back, due at once; the outbox delivers what is due within its bound, and a
delivery cut short gives its row back, still marked as in flight so the next try looks first."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select
from watch_support import FakePoller, drain, make_runtime

from circuitbot.actions.registry import WatchTarget
from circuitbot.chat.reply import Reply
from circuitbot.clock import FakeClock
from circuitbot.store.db import Database
from circuitbot.store.tables import OutboxMessage, Watch
from circuitbot.watch.delivery import IN_FLIGHT
from circuitbot.watch.engine import WatchEngine
from circuitbot.watch.outbox import enqueue
from support.poster import RecordingPoster

RESOURCES = [f"xc{n}" for n in range(6)]
FAST = 15.0


class HeldPoller(FakePoller):
    """Reads wait at ``release`` once ``hold`` is set; ``entered`` says one is waiting."""

    def __init__(self) -> None:
        super().__init__("azure")
        self.hold = False
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    async def snapshot_many(self, resource_ids: Sequence[str]):  # type: ignore[no-untyped-def]
        if self.hold:
            self.entered.set()
            await self.release.wait()
        return await super().snapshot_many(resource_ids)


class HeldPoster(RecordingPoster):
    """Posts wait at ``gate`` once ``hold`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = False
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str:
        if self.hold:
            self.entered.set()
            await self.gate.wait()
        return await super().post(channel, reply, thread_ts=thread_ts)


@pytest.fixture
def held() -> HeldPoller:
    return HeldPoller()


@pytest.fixture
async def watching(settings, database: Database, clock: FakeClock, held: HeldPoller) -> WatchEngine:
    """Six watches, cards posted, due for their next poll, the next read held."""
    engine = make_runtime(settings, database, clock, held, RecordingPoster()).watches
    for n, rid in enumerate(RESOURCES):
        held.set(rid, provisioningState="Updating")
        await engine.watch(WatchTarget("azure", rid), f"C{n}", created_by="UREQ")
    await drain(engine, clock)
    await clock.advance(FAST)
    held.hold = True
    return engine


async def next_polls(db: Database) -> list:
    async with db.session() as session:
        return list(await session.scalars(select(Watch.next_poll_at).order_by(Watch.id)))


async def test_a_round_cut_short_gives_its_claims_back_due_now(
    watching: WatchEngine, held: HeldPoller, clock: FakeClock, database: Database
) -> None:
    await watching.start()
    await asyncio.wait_for(held.entered.wait(), 5)
    leased = await next_polls(database)
    await watching.stop(grace_seconds=0.05)

    assert all(at > clock.now() + timedelta(seconds=FAST) for at in leased), (
        "the round held its claims while it ran"
    )
    assert await next_polls(database) == [clock.now()] * len(RESOURCES)


async def test_a_round_that_ends_within_the_grace_is_recorded(
    watching: WatchEngine, held: HeldPoller, clock: FakeClock, database: Database
) -> None:
    for rid in RESOURCES:
        held.update(rid, provisioningState="Succeeded")
    await watching.start()
    await asyncio.wait_for(held.entered.wait(), 5)
    stopping = asyncio.create_task(watching.stop(grace_seconds=10))
    await asyncio.sleep(0.05)
    held.release.set()
    await asyncio.wait_for(stopping, 15)

    polls = await next_polls(database)
    assert all(at != clock.now() for at in polls), "recorded, so nothing was given back"
    async with database.session() as session:
        snapshots = list(await session.scalars(select(Watch.snapshot)))
    assert {s["provisioningState"] for s in snapshots} == {"Succeeded"}


async def test_stop_delivers_what_is_due_first(settings, database: Database, clock: FakeClock) -> None:
    poster = RecordingPoster()
    engine = make_runtime(settings, database, clock, FakePoller(), poster).watches
    async with database.session() as session:
        for n in range(3):
            enqueue(session, kind="post", channel=f"C{n}", reply=Reply.plain(f"due {n}"), at=clock.now())
    await engine.sender.start()
    await engine.sender.stop(flush_seconds=5)

    assert sorted(s.text for s in poster.sent) == ["due 0", "due 1", "due 2"]
    assert await engine.sender.pending() == 0


async def test_a_delivery_cut_short_gives_its_row_back_marked_in_flight(
    settings, database: Database, clock: FakeClock
) -> None:
    poster = HeldPoster()
    poster.hold = True
    engine = make_runtime(settings, database, clock, FakePoller(), poster).watches
    async with database.session() as session:
        enqueue(session, kind="post", channel="C1", reply=Reply.plain("cut short"), at=clock.now())
    await engine.sender.start()
    await asyncio.wait_for(poster.entered.wait(), 5)
    await engine.sender.stop(flush_seconds=0.05)

    async with database.session() as session:
        row = (await session.scalars(select(OutboxMessage))).one()
    assert (row.status, row.next_attempt_at, row.last_error) == ("pending", clock.now(), IN_FLIGHT)
    assert poster.sent == []
