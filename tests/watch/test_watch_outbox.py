"""The outbox sender: every message delivered exactly once and in order, through rate limits,
server errors, restarts and channels that disappear."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from watch_support import FakePoller, drain, make_runtime, poll_when_due

from circuitbot.actions.registry import WatchTarget
from circuitbot.chat.reply import PostError, Reply
from circuitbot.clock import FakeClock
from circuitbot.settings import Settings
from circuitbot.slack.app import slack_client
from circuitbot.slack.poster import SlackPoster
from circuitbot.store.db import Database
from circuitbot.store.tables import OutboxMessage, Watch
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.watch import sender
from circuitbot.watch.engine import WatchEngine
from circuitbot.watch.outbox import enqueue
from support.poster import RecordingPoster

CHANNEL = "COPS"
FAST = 15.0


async def watch(engine: WatchEngine, resource_id: str = "xc1", channel: str = CHANNEL):
    return await engine.watch(WatchTarget("azure", resource_id), channel, created_by="UREQ")


async def rows(engine: WatchEngine, *where) -> list[OutboxMessage]:
    async with engine.runtime.db.session() as session:
        return list((await session.execute(select(OutboxMessage).where(*where))).scalars())


async def post(engine: WatchEngine, text: str, channel: str = CHANNEL, thread_ts: str | None = None) -> None:
    """A message some other room (approvals) puts in the outbox."""
    async with engine.runtime.db.session() as session:
        enqueue(
            session,
            kind="post",
            channel=channel,
            thread_ts=thread_ts,
            reply=Reply.plain(text, ephemeral=False),
            at=engine.runtime.clock.now(),
        )


async def provisioning_steps(engine: WatchEngine, poller: FakePoller, clock: FakeClock, states: list[str]):
    for state in states:
        poller.update("xc1", provisioningState=state)
        await poll_when_due(engine, clock, FAST)


async def test_a_rate_limited_message_waits_as_long_as_slack_says(
    engine: WatchEngine, poster: RecordingPoster, clock: FakeClock
) -> None:
    await post(engine, "hello")
    poster.failures.append(PostError("ratelimited", retry_after=30))

    assert await engine.sender.run_once() == 1
    assert poster.sent == []
    await clock.advance(29)
    await engine.sender.run_once()
    assert poster.sent == [] and poster.attempts == 1  # not even tried before Slack's time
    await clock.advance(1)
    await engine.sender.run_once()
    assert [s.text for s in poster.sent] == ["hello"]
    [row] = await rows(engine)
    assert (row.status, row.attempts, row.sent_ts) == ("sent", 2, poster.sent[0].ts)


async def test_each_channel_gets_about_one_message_a_second(
    engine: WatchEngine, poster: RecordingPoster, clock: FakeClock
) -> None:
    for n in range(3):
        await post(engine, f"ops {n}", thread_ts=f"1700000000.00000{n}")  # three streams, one channel
    await post(engine, "elsewhere", channel="CELSEWHERE")

    await engine.sender.run_once()
    assert sorted(s.text for s in poster.sent) == ["elsewhere", "ops 0"]
    await engine.sender.run_once()
    assert len(poster.sent) == 2  # the same second: COPS waits
    await clock.advance(1)
    await engine.sender.run_once()
    await clock.advance(1)
    await engine.sender.run_once()
    assert [s.text for s in poster.posts(CHANNEL)] == ["ops 0", "ops 1", "ops 2"]


async def test_a_failing_message_holds_back_the_later_messages_of_its_watch(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Creating")
    await watch(engine)
    await drain(engine, clock)
    card = poster.posts(CHANNEL)[0]
    await provisioning_steps(engine, poller, clock, ["Updating", "Provisioning", "Succeeded"])
    poster.failures.extend([PostError("fatal_error")] * 3)

    await drain(engine, clock)

    thread = [r.text for r in poster.thread(card.ts)]
    assert [t.split("→ *")[1].split("*")[0] for t in thread] == ["Updating", "Provisioning", "Succeeded"]
    assert poster.attempts == len(poster.sent) + 3


async def test_card_edits_not_yet_sent_are_replaced_by_the_latest(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Creating")
    await watch(engine)
    await drain(engine, clock)
    card = poster.posts(CHANNEL)[0]
    await provisioning_steps(engine, poller, clock, ["Updating", "Provisioning", "Succeeded"])

    await drain(engine, clock)

    assert len(poster.thread(card.ts)) == 3
    [edit] = [s for s in poster.sent if s.kind == "update"]  # one edit, with the whole timeline
    assert edit.ts == card.ts and "Succeeded" in edit.text and "stable" in edit.text
    assert str(edit.blocks).count("→") == 3
    assert len(await rows(engine, OutboxMessage.status == "superseded")) == 2


async def test_an_outage_and_a_restart_lose_nothing_and_send_nothing_twice(
    settings, database: Database, clock: FakeClock, poller: FakePoller, poster: RecordingPoster
) -> None:
    first = make_runtime(settings, database, clock, poller, poster).watches
    poller.set("xc1", provisioningState="Creating")
    await watch(first)
    await provisioning_steps(first, poller, clock, ["Updating", "Succeeded"])
    poster.failures.extend([PostError("service_unavailable")] * 4)
    for _ in range(4):  # Slack is down: every attempt fails
        await first.sender.run_once()
        await clock.advance(20)
    assert poster.sent == []
    leased = await first.sender._claim()  # and this process dies holding a claim
    assert leased

    # A new process on the same database: everything pending goes out, each once, in order.
    second_db = Database(database.url.render_as_string(hide_password=False))
    try:
        second = make_runtime(settings, second_db, clock, poller, poster).watches
        await drain(second, clock)
    finally:
        await second_db.dispose()

    card = poster.posts(CHANNEL)[0]
    thread = [r.text for r in poster.thread(card.ts)]
    assert len(thread) == 2 and "→ *Updating*" in thread[0] and "→ *Succeeded*" in thread[1]
    assert len(poster.posts()) == 3 and len(poster.updates(card.ts)) == 1
    assert {r.status for r in await rows(first)} <= {"sent", "superseded"}


async def test_a_channel_that_is_gone_pauses_the_watch_and_tells_its_creator(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Creating")
    info = await watch(engine)
    await drain(engine, clock)
    poster.gone_channels.add(CHANNEL)
    await provisioning_steps(engine, poller, clock, ["Updating"])

    await drain(engine, clock)

    [dm] = poster.posts("UREQ")
    assert "paused" in dm.text and "channel_not_found" in dm.text and "xc1" in dm.text
    [paused] = await engine.list_watches()
    assert (paused.status, paused.id) == ("paused", info.id)
    assert {r.status for r in await rows(engine, OutboxMessage.watch_id == info.id)} == {"sent", "failed"}
    poller.reset_counts()
    assert (await poll_when_due(engine, clock, 10 * FAST)).claimed == 0  # paused: not polled

    # Invited back, the creator watches again: the same watch resumes, with a fresh card.
    poster.gone_channels.clear()
    resumed = await watch(engine)
    await drain(engine, clock)
    assert resumed.created and resumed.id == info.id and resumed.status == "active"
    assert len(poster.posts(CHANNEL)) == 2
    assert "Updating" in poster.posts(CHANNEL)[-1].text


async def test_a_message_slack_cannot_take_is_dropped_and_the_rest_still_go(
    engine: WatchEngine, poster: RecordingPoster, clock: FakeClock
) -> None:
    await post(engine, "first", thread_ts="1700000000.000001")
    await post(engine, "second", thread_ts="1700000000.000001")
    poster.failures.append(PostError("msg_too_long"))

    await drain(engine, clock)

    assert [s.text for s in poster.sent] == ["second"]
    assert [r.status for r in await rows(engine)] == ["failed", "sent"]


async def test_the_jobs_tick_and_deliver_on_the_real_scheduler_and_stop_with_the_engine(
    engine: WatchEngine, poller: FakePoller, poster: RecordingPoster, clock: FakeClock, settings
) -> None:
    """The one test of the watch room on APScheduler itself, with short intervals (real time);
    every other test calls the jobs' coroutines on the FakeClock."""
    settings.watch.tick_seconds = 0.05
    engine.sender.idle_seconds = 3600.0  # only a wake-up brings the sender round
    scheduler = engine.runtime.scheduler
    poller.set("xc1", provisioningState="Creating")
    await engine.start()
    tick, send, purge = (scheduler.jobs[name] for name in ("watch.tick", "outbox.send", "outbox.purge"))
    try:
        await asyncio.wait_for(send.ran(1), 10)  # the first run, at start (a safety net only)
        await asyncio.wait_for(purge.ran(1), 10)
        sent = send.runs
        await watch(engine)  # its card is written and the sender woken
        await asyncio.wait_for(send.ran(sent + 1), 10)  # a safety net only
        [card] = poster.posts(CHANNEL)

        poller.update("xc1", provisioningState="Succeeded")
        await clock.advance(FAST)  # due on the runtime's clock; the next tick on the host's finds it
        await asyncio.wait_for(tick.ran(tick.runs + 2), 10)

        async def noted() -> None:  # the tick wakes the sender: its next pass posts the note
            while not poster.thread(card.ts):
                await send.ran(send.runs + 1)

        await asyncio.wait_for(noted(), 10)
        assert "Creating → *Succeeded*" in poster.thread(card.ts)[0].text
        assert scheduler.next_run("outbox.send") is not None
    finally:
        await engine.stop()
    assert set(scheduler.jobs) == set(), "stopping took every job off the scheduler"
    assert all(scheduler.next_run(name) is None for name in ("watch.tick", "outbox.send", "outbox.purge"))


async def test_slack_429s_and_500s_still_deliver_every_message_exactly_once(
    settings, database: Database, clock: FakeClock, poller: FakePoller
) -> None:
    fake = FakeSlack(clock=clock)
    async with fake.serve() as api_url:
        slack_settings = Settings(
            slack_bot_token="xoxb-test", slack_api_url=api_url, data_dir=settings.data_dir
        )
        poster = SlackPoster(slack_client(slack_settings, rate_limit_retries=0))
        engine = make_runtime(settings, database, clock, poller, poster).watches
        poller.set("xc1", provisioningState="Creating", serviceProviderProvisioningState="NotProvisioned")
        await watch(engine)
        fake.fail_next("chat.postMessage", status=429, retry_after=3, count=2)
        await drain(engine, clock)
        steps = ["Updating", "Provisioning", "Provisioned"]
        for n, state in enumerate(steps):
            poller.update("xc1", serviceProviderProvisioningState=state)
            await poll_when_due(engine, clock, FAST)
            fake.fail_next("chat.postMessage", status=500 if n % 2 else 429, retry_after=2)
            fake.fail_next("chat.update", status=503)
            await drain(engine, clock)

    [card] = [m for m in fake.messages(CHANNEL) if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
    thread = [m["text"] for m in fake.thread(CHANNEL, card["ts"])]
    assert len(thread) == 3
    assert [t.split("→ *")[1].split("*")[0] for t in thread] == steps
    assert "Provisioned" in card["text"] and card.get("edited")
    failed = fake.calls_to("chat.postMessage", ok=False)
    assert len(failed) == 5 and {c.status for c in failed} == {429, 500}
    # Exactly once: one successful call per message, and as many as the outbox sent.
    delivered = fake.calls_to("chat.postMessage", ok=True)
    assert len(delivered) == 1 + 3
    async with database.session() as session:
        sent = (
            await session.execute(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
            )
        ).scalar_one()
        status_ts = (await session.execute(select(Watch.status_ts))).scalar_one()
    assert sent == len(delivered) + len(fake.calls_to("chat.update", ok=True))
    assert status_ts == card["ts"]


async def test_a_lease_left_by_a_dead_sender_expires(
    engine: WatchEngine, poster: RecordingPoster, clock: FakeClock
) -> None:
    await post(engine, "hello")
    assert len(await engine.sender._claim()) == 1  # claimed, never delivered
    await engine.sender.run_once()
    assert poster.sent == []
    await clock.advance(engine.sender.lease.total_seconds() + 1)
    await engine.sender.run_once()
    assert [s.text for s in poster.sent] == ["hello"]
    assert clock.now() - (await rows(engine))[0].created_at > timedelta(seconds=60)


async def test_a_backlog_in_one_channel_does_not_hold_back_another_channel(
    engine: WatchEngine, poster: RecordingPoster, clock: FakeClock
) -> None:
    engine.sender.claim_limit = 3  # fewer than the backlog: the oldest rows are all one channel's
    for n in range(6):
        await post(engine, f"busy {n}", channel="CBUSY", thread_ts=f"1700000000.00000{n}")
    assert await engine.sender.run_once() == 1
    await post(engine, "quiet", channel="CQUIET")

    assert await engine.sender.run_once() == 1  # CBUSY waits its second; CQUIET need not
    assert [s.text for s in poster.sent] == ["busy 0", "quiet"]
    await clock.advance(1)
    await engine.sender.run_once()
    assert [s.text for s in poster.sent] == ["busy 0", "quiet", "busy 1"]


async def test_rows_done_with_are_purged_after_a_week_a_bounded_number_at_a_time(
    engine: WatchEngine, poster: RecordingPoster, clock: FakeClock, monkeypatch
) -> None:
    monkeypatch.setattr(sender, "PURGE_LIMIT", 2)
    for n in range(3):
        await post(engine, f"old {n}", channel=f"C{n}")
    await drain(engine, clock)
    poster.failures.append(PostError("msg_too_long"))
    await post(engine, "dropped")
    await drain(engine, clock)
    await clock.advance(engine.sender.retention.total_seconds())
    await post(engine, "recent")
    await drain(engine, clock)
    await clock.advance(sender.PURGE_EVERY_SECONDS)

    assert await engine.sender.purge() == 2  # the purge job (every PURGE_EVERY_SECONDS)
    assert len(await rows(engine)) == 5 - 2
    assert await engine.sender.purge() == 1

    left = await rows(engine)
    assert sorted((r.status, r.payload["text"]) for r in left) == [("failed", "dropped"), ("sent", "recent")]
