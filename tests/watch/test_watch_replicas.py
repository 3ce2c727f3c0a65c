"""Two processes on one database: they share the watches and the outbox, and between them
nothing is polled twice and nothing is posted twice."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select
from watch_support import FakePoller, make_runtime

from circuitbot.actions.registry import WatchTarget
from circuitbot.chat.reply import Reply
from circuitbot.clock import FakeClock
from circuitbot.store.db import Database
from circuitbot.store.tables import OutboxMessage, Watch
from circuitbot.watch.engine import WatchEngine
from circuitbot.watch.outbox import enqueue
from support.poster import RecordingPoster

RESOURCES = [f"xc{n:02d}" for n in range(40)]
FAST = 15.0


async def test_two_replicas_share_the_work_without_double_polls_or_double_posts(
    settings, database: Database, clock: FakeClock, poller: FakePoller, poster: RecordingPoster
) -> None:
    settings.watch.batch_size = 3  # small rounds, so the replicas' claims interleave
    settings.watch.provider_concurrency = 1
    url = database.url.render_as_string(hide_password=False)
    other_db = Database(url)
    try:
        one = make_runtime(settings, database, clock, poller, poster).watches
        two = make_runtime(settings, other_db, clock, poller, poster).watches
        for n, rid in enumerate(RESOURCES):
            poller.set(rid, provisioningState="Updating")
            await (one if n % 2 else two).watch(WatchTarget("azure", rid), f"C{n % 4}", created_by="UREQ")
        await drain_both(one, two, clock)
        poller.reset_counts()

        changed = RESOURCES[::4]
        for rid in changed:
            poller.update(rid, provisioningState="Succeeded")
        await clock.advance(FAST)
        reports = await asyncio.gather(one.tick(), two.tick())

        assert sum(r.claimed for r in reports) == len(RESOURCES)
        assert all(r.claimed for r in reports), "both replicas took a share"
        assert poller.read == dict.fromkeys(RESOURCES, 1)  # every resource read exactly once
        assert sum(r.transitions for r in reports) == len(changed)

        await drain_both(one, two, clock)
    finally:
        await other_db.dispose()

    replies = [s.text for s in poster.sent if s.kind == "post" and s.thread_ts]
    assert sorted(r.split("*")[1] for r in replies) == sorted(f"circuit-{rid}" for rid in changed)
    cards = [s for s in poster.sent if s.kind == "post" and not s.thread_ts]
    assert len(cards) == len(RESOURCES)
    sent_ts = Counter(s.ts for s in poster.sent if s.kind == "post")
    assert max(sent_ts.values()) == 1
    async with database.session() as session:
        statuses = Counter((await session.execute(select(OutboxMessage.status))).scalars())
    assert statuses["pending"] == 0
    assert statuses["sent"] == len(poster.sent)


async def drain_both(one: WatchEngine, two: WatchEngine, clock: FakeClock) -> None:
    for _ in range(200):
        await asyncio.gather(one.sender.run_once(), two.sender.run_once())
        if await one.sender.pending() == 0:
            return
        await clock.advance(1)
    raise AssertionError("the outbox did not drain")


async def test_watches_another_replica_is_claiming_are_skipped_not_waited_for(
    settings, database: Database, clock: FakeClock, poller: FakePoller, poster: RecordingPoster
) -> None:
    if not database.skip_locked:
        pytest.skip("SQLite serves one process: there are no row locks to skip")
    engine = make_runtime(settings, database, clock, poller, poster).watches
    for rid in RESOURCES[:6]:
        poller.set(rid, provisioningState="Updating")
        await engine.watch(WatchTarget("azure", rid), "C1", created_by="UREQ")
    await clock.advance(FAST)
    poller.reset_counts()

    async with database.session() as other:  # another replica, in the middle of its claim
        locked = select(Watch.resource_id).order_by(Watch.id).limit(2).with_for_update()
        held = list((await other.execute(locked)).scalars())
        report = await asyncio.wait_for(engine.tick(), timeout=30)

    assert report.claimed == 4
    assert set(poller.read) == set(RESOURCES[:6]) - set(held)


async def test_a_message_another_replica_is_claiming_holds_back_the_rest_of_its_stream(
    settings, database: Database, clock: FakeClock, poller: FakePoller, poster: RecordingPoster
) -> None:
    if not database.skip_locked:
        pytest.skip("SQLite serves one process: there are no row locks to skip")
    engine = make_runtime(settings, database, clock, poller, poster).watches
    async with database.session() as session:
        for text in ("first", "second"):
            enqueue(
                session,
                kind="post",
                channel="C1",
                thread_ts="1700000000.000001",
                reply=Reply.plain(text, ephemeral=False),
                at=clock.now(),
            )
        enqueue(session, kind="post", channel="C2", reply=Reply.plain("other"), at=clock.now())

    async with database.session() as other:
        first = select(OutboxMessage.id).order_by(OutboxMessage.id).limit(1).with_for_update()
        await other.execute(first)
        claimed = await asyncio.wait_for(engine.sender.run_once(), timeout=30)

    assert claimed == 1 and [s.text for s in poster.sent] == ["other"]  # "second" waits for "first"
    await clock.advance(1)
    await engine.sender.run_once()
    await clock.advance(1)
    await engine.sender.run_once()
    assert [s.text for s in poster.sent] == ["other", "first", "second"]
