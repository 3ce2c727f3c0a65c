"""The watch engine: transitions posted once each and in order, adaptive intervals, terminal states,
provider errors announced once, batched and per-resource polling."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update
from watch_support import (
    CaseInsensitivePoller,
    FakePoller,
    drain,
    make_runtime,
    poll_when_due,
)

from circuitbot.actions.registry import OperationError, WatchTarget
from circuitbot.clock import FakeClock
from circuitbot.store.tables import OutboxMessage, Watch, WatchTransition
from circuitbot.watch.engine import WatchEngine
from circuitbot.watch.model import TickReport
from support.poster import RecordingPoster

CHANNEL = "COPS"
FAST = 15.0  # the default settings' intervals
SLOW = 300.0


async def watch(engine: WatchEngine, resource_id: str = "xc1", channel: str = CHANNEL, **kwargs):
    return await engine.watch(WatchTarget("azure", resource_id), channel, created_by="UREQ", **kwargs)


async def until_due(engine: WatchEngine, clock: FakeClock, watch_id: int):
    """Move the clock to the watch's next poll and tick; returns the tick's report."""
    info = next(w for w in await engine.list_watches() if w.id == watch_id)
    await clock.advance(max(0.0, (info.next_poll_at - clock.now()).total_seconds()))
    return await engine.tick()


async def count(engine: WatchEngine, model, *where) -> int:
    async with engine.runtime.db.session() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_each_transition_is_posted_once_in_order_in_the_cards_thread(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Updating", serviceProviderProvisioningState="NotProvisioned")
    info = await watch(engine)
    await drain(engine, clock)
    [card] = poster.posts(CHANNEL)
    assert card.thread_ts is None
    assert "circuit-xc1" in card.text and info.created

    steps = [
        {"serviceProviderProvisioningState": "Provisioning"},
        {"serviceProviderProvisioningState": "Provisioned"},
        {"provisioningState": "Succeeded", "peering[AzurePrivatePeering].state": "Enabled"},
    ]
    for step in steps:
        poller.update("xc1", **step)
        await poll_when_due(engine, clock, FAST)
        await poll_when_due(engine, clock, FAST)  # nothing new: nothing said
        await drain(engine, clock)

    thread = [r.text for r in poster.thread(card.ts)]
    assert len(thread) == 3
    assert "NotProvisioned → *Provisioning*" in thread[0]
    assert "Provisioning → *Provisioned*" in thread[1]
    assert "Updating → *Succeeded*" in thread[2] and "— → *Enabled*" in thread[2]
    assert len(set(thread)) == 3

    # The card reads the current state, and a timeline of the three changes, oldest first.
    latest = poster.latest(card.ts)
    body = "\n".join(str(b) for b in latest.blocks)
    assert "Succeeded" in body and "Provisioned" in body and "stable" in latest.text
    texts = [b.get("text", {}).get("text", "") for b in latest.blocks]
    [timeline] = [t for t in texts if t.startswith("```")]
    assert timeline.index("Provisioning") < timeline.index("→ Provisioned") < timeline.index("Enabled")

    assert await count(engine, WatchTransition) == 3
    # Every row delivered exactly once: nothing pending, and one Slack call per sent row.
    assert await count(engine, OutboxMessage, OutboxMessage.status == "pending") == 0
    sent = await count(engine, OutboxMessage, OutboxMessage.status == "sent")
    assert sent == len(poster.sent)


async def test_intervals_are_fast_while_changing_and_slow_when_stable(
    engine: WatchEngine, poller: FakePoller, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Succeeded", serviceProviderProvisioningState="Provisioned")
    info = await watch(engine)
    assert info.next_poll_at == clock.now() + timedelta(seconds=SLOW)

    assert (await poll_when_due(engine, clock, FAST)).claimed == 0
    assert (await poll_when_due(engine, clock, SLOW - FAST)).claimed == 1

    poller.update("xc1", serviceProviderProvisioningState="Deprovisioning")
    assert (await poll_when_due(engine, clock, SLOW)).transitions == 1
    assert (await poll_when_due(engine, clock, FAST)).claimed == 1  # in flight: polled fast


async def test_a_terminal_state_is_announced_and_ends_the_watch(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Succeeded", serviceProviderProvisioningState="Deprovisioning")
    info = await watch(engine)
    await drain(engine, clock)
    card = poster.posts(CHANNEL)[0]

    poller.update("xc1", serviceProviderProvisioningState="Deprovisioned")
    report = await poll_when_due(engine, clock, FAST)
    assert (report.transitions, report.ended) == (1, 1)
    await drain(engine, clock)

    thread = [r.text for r in poster.thread(card.ts)]
    assert len(thread) == 2
    assert "Deprovisioning → *Deprovisioned*" in thread[0]
    assert "reached *Deprovisioned*" in thread[1] and "no longer watched" in thread[1]
    assert "ended" in poster.latest(card.ts).text
    assert await engine.list_watches() == []
    async with engine.runtime.db.session() as session:
        row = await session.get(Watch, info.id)
    assert (row.status, row.status_reason) == ("ended", "reached Deprovisioned")

    poller.reset_counts()
    assert (await poll_when_due(engine, clock, 10 * SLOW)).claimed == 0
    assert not poller.read


async def test_a_resource_that_disappears_is_announced_and_ends_the_watch(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", status="PROVISIONING")
    await watch(engine)
    del poller.resources["xc1"]

    report = await poll_when_due(engine, clock, FAST)
    await drain(engine, clock)

    assert report.ended == 1
    card = poster.posts(CHANNEL)[0]
    assert [r.text for r in poster.thread(card.ts) if "no longer exists" in r.text]
    assert await engine.list_watches() == []


async def test_provider_errors_are_announced_once_and_the_recovery_once(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock, settings
) -> None:
    settings.watch.max_backoff_seconds = 100
    poller.set("xc1", provisioningState="Updating")
    info = await watch(engine)
    await drain(engine, clock)
    card = poster.posts(CHANNEL)[0]

    poller.down = True
    waits = []
    for _ in range(6):
        report = await until_due(engine, clock, info.id)
        assert report.errors == 1
        [now_watched] = await engine.list_watches()
        waits.append((now_watched.next_poll_at - clock.now()).total_seconds())
        await drain(engine, clock)
    # Backing off: each wait twice the last, up to the ceiling.
    assert waits == [FAST, 2 * FAST, 4 * FAST, 100, 100, 100]
    unreachable = [r.text for r in poster.thread(card.ts) if "cannot read" in r.text]
    assert len(unreachable) == 1
    assert "unreachable" in poster.latest(card.ts).text

    poller.down = False
    for _ in range(3):
        await until_due(engine, clock, info.id)
        await drain(engine, clock)
    thread = [r.text for r in poster.thread(card.ts)]
    assert len([t for t in thread if "answers again" in t]) == 1
    assert len([t for t in thread if "cannot read" in t]) == 1
    assert "unreachable" not in poster.latest(card.ts).text
    assert not (await engine.list_watches())[0].unreachable


async def test_a_short_hiccup_is_not_announced(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Updating")
    info = await watch(engine)
    poller.failing.add("xc1")
    await until_due(engine, clock, info.id)
    poller.failing.clear()
    await until_due(engine, clock, info.id)
    await drain(engine, clock)

    assert [s.text for s in poster.sent if "cannot read" in s.text or "answers again" in s.text] == []


async def test_watching_what_does_not_exist_is_an_error(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster
) -> None:
    with pytest.raises(OperationError, match="has no `nope`"):
        await watch(engine, "nope")
    with pytest.raises(OperationError, match="cannot be watched"):
        await engine.watch(WatchTarget("equinix", "x"), CHANNEL, created_by="UREQ")
    poller.set("old", Status="Terminated")
    with pytest.raises(OperationError, match="already Terminated"):
        await watch(engine, "old")
    poller.down = True
    poller.set("xc1", status="ACTIVE")
    with pytest.raises(OperationError, match="could not read"):
        await watch(engine, "xc1")

    assert await count(engine, Watch) == 0
    assert await count(engine, OutboxMessage) == 0


async def test_watching_twice_keeps_one_watch_and_one_card(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", status="ACTIVE")
    first = await watch(engine)
    second = await watch(engine)
    other = await watch(engine, channel="CELSEWHERE")
    await drain(engine, clock)

    assert first.created and not second.created and other.created
    assert second.id == first.id != other.id
    assert len(poster.posts(CHANNEL)) == 1 and len(poster.posts("CELSEWHERE")) == 1


async def test_a_watch_started_in_a_thread_posts_its_card_and_changes_there(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Updating")
    await watch(engine, thread_ts="1699999999.000100", request_id="req1")
    poller.update("xc1", provisioningState="Succeeded")
    await poll_when_due(engine, clock, FAST)
    await drain(engine, clock)

    posts = poster.posts(CHANNEL)
    assert [p.thread_ts for p in posts] == ["1699999999.000100"] * 2
    assert "Updating → *Succeeded*" in posts[1].text
    assert poster.updates(posts[0].ts)  # the card in the thread is the one kept up to date


async def test_batched_polling_makes_one_call_per_batch_and_per_resource_one_per_resource(
    engine: WatchEngine, poller: FakePoller, clock: FakeClock, settings
) -> None:
    settings.watch.batch_size = 5
    settings.watch.provider_concurrency = 2
    ids = [f"xc{n}" for n in range(23)]
    for rid in ids:
        poller.set(rid, provisioningState="Succeeded")
        await watch(engine, rid)
    await watch(engine, "xc0", channel="CSECOND")  # two channels, one resource: read once
    poller.reset_counts()

    report = await poll_when_due(engine, clock, SLOW)
    assert report.claimed == 24 and report.resources == 23
    assert len(poller.many_calls) == math.ceil(23 / 5) == report.calls["azure"]
    assert poller.one_calls == []
    assert all(len(c) <= 5 for c in poller.many_calls)
    assert poller.read == dict.fromkeys(ids, 1)
    assert 1 < poller.max_in_flight <= 2

    settings.watch.strategy = "per-resource"
    poller.reset_counts()
    report = await poll_when_due(engine, clock, SLOW)
    assert len(poller.one_calls) == 23 == report.calls["azure"]
    assert poller.many_calls == []
    assert poller.read == dict.fromkeys(ids, 1)
    assert 1 < poller.max_in_flight <= 2


async def test_a_batch_that_fails_as_a_whole_counts_as_an_error_for_each_watch(
    engine: WatchEngine, poller: FakePoller, clock: FakeClock
) -> None:
    for rid in ("a1", "a2"):
        poller.set(rid, provisioningState="Updating")
        await watch(engine, rid)
    poller.failing.add("a2")
    report = await poll_when_due(engine, clock, FAST)
    assert (report.claimed, report.errors) == (2, 1)

    poller.down = True
    report = await poll_when_due(engine, clock, 2 * FAST)
    assert report.errors == 2


async def test_unwatch_stops_polling_and_says_so_in_the_thread(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Updating")
    await watch(engine)
    await drain(engine, clock)
    card = poster.posts(CHANNEL)[0]

    [ended] = await engine.unwatch("azure", "circuit-xc1", CHANNEL, by="UREQ")  # by label
    await drain(engine, clock)

    assert ended.status == "ended"
    assert "stopped watching" in poster.thread(card.ts)[0].text
    assert "no longer watched" in poster.latest(card.ts).text
    poller.reset_counts()
    assert (await poll_when_due(engine, clock, SLOW)).claimed == 0
    with pytest.raises(OperationError, match="not watched"):
        await engine.unwatch("azure", "xc1", CHANNEL, by="UREQ")


async def test_a_change_seen_by_a_poll_whose_claim_expired_is_recorded_once(
    engine: WatchEngine, poller: FakePoller, clock: FakeClock
) -> None:
    """Two polls of one watch (the first outlived its lease): the version check keeps one."""
    poller.set("xc1", provisioningState="Updating")
    await watch(engine)
    await clock.advance(FAST)
    claimed_at = clock.now()
    due = await engine._claim(claimed_at, 10)
    await clock.advance(engine.lease.total_seconds())
    poller.update("xc1", provisioningState="Succeeded")
    assert (await engine.tick()).transitions == 1  # the second poller, after the lease ran out

    late = TickReport()
    results = await engine._read(due, late)
    await engine.recorder.record(due, results, late, claimed_at=claimed_at)  # the first poller, finally done
    assert late.transitions == 0
    assert await count(engine, WatchTransition) == 1


async def test_a_late_round_records_only_the_changes_nobody_recorded_meanwhile(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    """The changes of a round are one compare-and-set statement, each row guarded by its own
    version: the rows another poll recorded meanwhile are left alone, the others written."""
    for rid in ("xc1", "xc2", "xc3"):
        poller.set(rid, provisioningState="Updating")
        await watch(engine, rid)
    await drain(engine, clock)
    await clock.advance(FAST)
    claimed_at = clock.now()
    due = await engine._claim(claimed_at, 10)  # this poll stalls
    async with engine.runtime.db.session() as session:  # meanwhile another poll records xc2
        await session.execute(
            update(Watch).where(Watch.resource_id == "xc2").values(version=Watch.version + 1)
        )

    for rid in ("xc1", "xc2", "xc3"):
        poller.update(rid, provisioningState="Deleting")
    late = TickReport()
    results = await engine._read(due, late)
    await engine.recorder.record(due, results, late, claimed_at=claimed_at)  # the stalled poll, done
    assert late.transitions == 2  # xc1 and xc3: nobody wrote them since this claim; not xc2
    await drain(engine, clock)
    snapshots = {
        rid: [w.snapshot for w in await engine.list_watches() if w.resource_id == rid]
        for rid in ("xc1", "xc2", "xc3")
    }
    assert snapshots == {
        "xc1": [{"provisioningState": "Deleting"}],
        "xc2": [{"provisioningState": "Updating"}],
        "xc3": [{"provisioningState": "Deleting"}],
    }
    assert sum("→ *Deleting*" in p.text for p in poster.posts(CHANNEL) if p.thread_ts) == 2


async def test_a_quiet_poll_whose_claim_expired_does_not_undo_a_later_polls_record(
    engine: WatchEngine, poller: FakePoller, clock: FakeClock
) -> None:
    """The late poll read the resource fine; the later one failed: its error count and backoff stay."""
    poller.set("xc1", provisioningState="Updating")
    info = await watch(engine)
    poller.failing.add("xc1")
    assert (await until_due(engine, clock, info.id)).errors == 1
    await clock.advance(2 * FAST)
    claimed_at = clock.now()
    due = await engine._claim(claimed_at, 10)  # this poll stalls
    await clock.advance(engine.lease.total_seconds())
    assert (await engine.tick()).errors == 1  # the next poll, after the lease ran out: failing still
    [failed] = await engine.list_watches()

    poller.failing.clear()
    late = TickReport()
    results = await engine._read(due, late)
    await engine.recorder.record(due, results, late, claimed_at=claimed_at)  # the stalled poll, finally done

    async with engine.runtime.db.session() as session:
        row = await session.get(Watch, info.id)
    assert (row.error_count, row.next_poll_at) == (2, failed.next_poll_at)


async def test_a_claim_takes_at_most_its_limit_and_leases_what_it_took(
    engine: WatchEngine, poller: FakePoller, clock: FakeClock
) -> None:
    for n in range(7):
        poller.set(f"xc{n}", provisioningState="Updating")
        await watch(engine, f"xc{n}")
    await clock.advance(FAST)

    first = await engine._claim(clock.now(), 3)
    second = await engine._claim(clock.now(), 10)

    assert [d.resource_id for d in first] == ["xc0", "xc1", "xc2"]
    assert [d.resource_id for d in second] == ["xc3", "xc4", "xc5", "xc6"]
    assert await engine._claim(clock.now(), 10) == []
    leased = [w for w in await engine.list_watches() if w.next_poll_at == clock.now() + engine.lease]
    assert len(leased) == 7


async def test_two_calls_at_once_start_one_watch_with_one_card(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Updating")
    poller.gate = asyncio.Barrier(2)  # a double click: both calls read the provider, then both write

    first, second = await asyncio.gather(watch(engine), watch(engine))

    assert first.id == second.id
    assert sorted([first.created, second.created]) == [False, True]
    assert await count(engine, Watch) == 1
    assert await count(engine, OutboxMessage, OutboxMessage.kind == "parent") == 1
    await drain(engine, clock)
    assert len(poster.posts(CHANNEL)) == 1


async def test_two_calls_at_once_resume_a_paused_watch_once(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Updating")
    paused = await watch(engine)
    async with engine.runtime.db.session() as session:
        row = await session.get(Watch, paused.id)
        row.status, row.version = "paused", row.version + 1
    poller.gate = asyncio.Barrier(2)

    first, second = await asyncio.gather(watch(engine), watch(engine))

    assert first.id == second.id == paused.id
    assert sorted([first.created, second.created]) == [False, True]
    assert await count(engine, Watch) == 1
    assert await count(engine, OutboxMessage, OutboxMessage.kind == "parent") == 2  # the first, and one fresh


async def test_one_resource_spelled_two_ways_is_one_watch(
    engine: WatchEngine, poller: FakePoller, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Updating")
    first = await watch(engine, "xc1")
    again = await watch(engine, "  xc1 ")
    assert again.id == first.id and not again.created

    azure = CaseInsensitivePoller("azure")
    azure.set("xc2", provisioningState="Updating")
    engine.runtime.pollers = {"azure": azure}
    upper = await watch(engine, "XC2")
    lower = await watch(engine, "xc2")
    assert upper.id == lower.id and upper.resource_id == "xc2" and not lower.created
    [stopped] = await engine.unwatch("azure", " Xc2", CHANNEL, by="UREQ")
    assert stopped.id == upper.id


async def test_a_mass_event_costs_no_statement_more_per_changed_watch(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    """A change shares the round's statements: the compare-and-sets, transitions, timelines,
    superseded edits and outbox rows are written for all the changes at once."""
    ids = [f"xc{n:02d}" for n in range(25)]
    for rid in ids:
        poller.set(rid, provisioningState="Updating")
        await watch(engine, rid)
    statements: list[str] = []

    def count_statement(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    async def statements_for_a_round_changing(changed: list[str], state: str) -> int:
        for rid in changed:
            poller.update(rid, provisioningState=state)
        statements.clear()
        event.listen(engine.runtime.db.engine.sync_engine, "before_cursor_execute", count_statement)
        try:
            report = await poll_when_due(engine, clock, FAST)
        finally:
            event.remove(engine.runtime.db.engine.sync_engine, "before_cursor_execute", count_statement)
        assert report.transitions == len(changed)
        return len(statements)

    few = await statements_for_a_round_changing(ids[:5], "Provisioning")
    many = await statements_for_a_round_changing(ids[:20], "Deleting")

    assert many == few
    await drain(engine, clock)  # and every card reads its own timeline
    cards = {p.text.split("*")[1]: p for p in poster.posts(CHANNEL) if p.thread_ts is None}
    for rid, steps in (("xc00", 2), ("xc07", 1), ("xc22", 0)):
        card = cards[f"circuit-{rid}"]
        assert len(poster.thread(card.ts)) == steps
        assert str(poster.latest(card.ts).blocks).count("→") == steps


class SlowPoller(FakePoller):
    """A provider whose batched reads take ``read_seconds`` on the clock."""

    def __init__(self, clock: FakeClock, read_seconds: float) -> None:
        super().__init__("azure")
        self.clock = clock
        self.read_seconds = read_seconds

    async def snapshot_many(self, resource_ids):
        await self.clock.advance(self.read_seconds)
        return await super().snapshot_many(resource_ids)


async def test_a_watch_whose_interval_is_the_tick_is_polled_every_tick(
    settings, database, clock: FakeClock, poster: RecordingPoster
) -> None:
    tick = 2.0
    settings.watch.tick_seconds = settings.watch.fast_interval_seconds = tick
    settings.watch.slow_interval_seconds = tick
    slow = SlowPoller(clock, read_seconds=0.3)
    engine = make_runtime(settings, database, clock, slow, poster).watches
    for n in range(5):
        slow.set(f"xc{n}", provisioningState="Succeeded", serviceProviderProvisioningState="Provisioned")
        await watch(engine, f"xc{n}")
    slow.reset_counts()
    beat = clock.monotonic()

    claimed, transitions = [], []
    for n in range(6):
        beat += tick  # ticks on the beat, as a scheduler or the other replicas start them
        await clock.advance(beat - clock.monotonic())
        claimed_at = clock.now()
        if n == 3:
            slow.update("xc2", serviceProviderProvisioningState="Deprovisioning")
        report = await engine.tick()
        claimed.append(report.claimed)
        transitions.append(report.transitions)
        assert clock.now() > claimed_at  # the read took time, and did not push the schedule
        assert {w.next_poll_at for w in await engine.list_watches()} == {claimed_at + timedelta(seconds=tick)}

    assert claimed == [5] * 6
    assert transitions == [0, 0, 0, 1, 0, 0]  # seen at the first tick after the change
    assert slow.read == {f"xc{n}": 6 for n in range(5)}
