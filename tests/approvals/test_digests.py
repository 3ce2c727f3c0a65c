"""Scheduled digests: set, listed and removed by command; each occurrence posted once, with two
replicas racing for it, as one message of what needs attention."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from circuitbot.digests.engine import DigestEngine
from circuitbot.store.db import Database
from circuitbot.store.tables import OutboxMessage, Watch
from circuitbot.watch.sender import OutboxSender

NINE = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def with_digests(harness):
    harness.runtime.digests = DigestEngine(harness.runtime)
    return harness


async def until(harness, at: datetime) -> None:
    clock = harness.runtime.clock
    await clock.advance((at - clock.now()).total_seconds())


async def digest_posts(database: Database) -> list[OutboxMessage]:
    async with database.session() as session:
        return list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.channel == "CDIGEST").order_by(OutboxMessage.id)
            )
        )


async def add_watch(database: Database, now: datetime) -> None:
    async with database.session() as session:
        session.add(
            Watch(
                provider="azure",
                resource_id="xc-busy",
                label="busy <circuit>",
                channel="COPS",
                created_by="UREQ",
                snapshot={"provisioningState": "Updating"},
                next_poll_at=now,
                created_at=now,
                updated_at=now,
            )
        )


async def test_a_digest_posts_once_per_occurrence_with_two_replicas(
    make_harness, database, database_url, settings
) -> None:
    a = with_digests(make_harness(database, settings, instance_id="replica-a"))
    set_up = await a.command("digest #CDIGEST daily 09:00", user="UREQ")
    assert "Digest #1 daily at 09:00 UTC in <#CDIGEST>; the first on Thu 2026-01-01 09:00 UTC" in set_up.text

    pending = await a.request("demo move c1 B")
    scheduled = await a.request("demo move c2 B at=10:00")
    await a.click("approve", scheduled, "UAPP1")
    await add_watch(database, a.runtime.clock.now())

    b = with_digests(make_harness(Database(database_url), settings, instance_id="replica-b", poster=a.poster))
    try:
        await until(a, NINE)
        posted = await asyncio.gather(*(r.runtime.digests.post_due() for r in (a, b, a, b)))
        assert sum(len(p) for p in posted) == 1, "one post per occurrence"
        [first] = await digest_posts(database)
        text = first.payload["text"]
        assert "*Digest* for Thu 2026-01-01 09:00 UTC" in text
        assert f"`{pending}` demo.move" in text and "waiting 9 h" in text
        assert f"`{scheduled}` demo.move" in text and "Thu 2026-01-01 10:00 UTC" in text
        assert "azure *busy &lt;circuit&gt;* in <#COPS> · Updating" in text, "escaped"
        assert "*Executed since Thu 2026-01-01 00:00 UTC:* none" in text

        await until(a, NINE + timedelta(hours=2))  # the scheduled change ran at 10:00
        await a.engine.execute_round()
        assert await a.runtime.digests.post_due() == [], "an occurrence is posted once"

        await until(a, NINE + timedelta(days=1))
        assert len(await b.runtime.digests.post_due()) == 1
        second = (await digest_posts(database))[-1].payload["text"]
        assert "Executed since Thu 2026-01-01 09:00 UTC:*" in second and f"`{scheduled}`" in second
    finally:
        await b.runtime.db.dispose()

    sender = OutboxSender(a.runtime)
    for _ in range(2):  # one message a second per channel
        await sender.run_once()
        await a.runtime.clock.advance(1)
    assert [m.text.splitlines()[0] for m in a.poster.posts("CDIGEST")] == [
        ":newspaper: *Digest* for Thu 2026-01-01 09:00 UTC",
        ":newspaper: *Digest* for Fri 2026-01-02 09:00 UTC",
    ]


async def test_digests_are_listed_removed_and_missed_occurrences_are_coalesced(
    make_harness, database, settings
) -> None:
    a = with_digests(make_harness(database, settings))
    await a.command("digest #CDIGEST weekly fri 08:30 Europe/Paris")
    listed = await a.command("digests")
    assert "#1 weekly on Fri at 08:30 Europe/Paris in <#CDIGEST>" in listed.text
    assert "weekly digests take a day first" in (await a.command("digest #CDIGEST weekly 08:30")).text
    assert "unknown time zone" in (await a.command("digest #CDIGEST daily 08:30 Mars/Base")).text

    # Down for two weeks: the occurrences missed are coalesced into one post, of the latest.
    await until(a, datetime(2026, 1, 16, 9, 31, tzinfo=UTC))  # 08:30 Paris is 07:30 UTC
    assert await a.runtime.digests.post_due() == [(1, datetime(2026, 1, 16, 7, 30, tzinfo=UTC))]
    assert await a.runtime.digests.post_due() == []

    removed = await a.command("undigest 1")
    assert "Removed digest #1" in removed.text
    assert "No digests" in (await a.command("digests")).text
    await until(a, datetime(2026, 1, 23, 7, 31, tzinfo=UTC))
    assert await a.runtime.digests.post_due() == []
    assert len(await digest_posts(database)) == 1


async def test_each_digest_is_a_cron_job_on_the_scheduler_and_replicas_learn_of_it(
    make_harness, database, settings
) -> None:
    a = with_digests(make_harness(database, settings, instance_id="replica-a"))
    b = with_digests(make_harness(database, settings, instance_id="replica-b"))
    await a.runtime.digests.start()
    await b.runtime.digests.start()
    try:
        # Each start runs the sync at once; b's must be over before the digest exists, or b
        # learns of it from that run rather than from the sync below.
        for replica in (a, b):
            await replica.runtime.scheduler.jobs["digests.sync"].ran(1)
        await a.command("digest #CDIGEST daily 09:00")
        assert a.runtime.scheduler.next_run("digest.1") is not None, "on a CronTrigger at once here"
        assert b.runtime.scheduler.next_run("digest.1") is None
        await b.runtime.digests.sync()
        fires = b.runtime.scheduler.next_run("digest.1")
        assert fires is not None and (fires.hour, fires.minute) == (9, 0)

        await a.command("undigest 1")
        await b.runtime.digests.sync()
        assert a.runtime.scheduler.next_run("digest.1") is None
        assert b.runtime.scheduler.next_run("digest.1") is None
    finally:
        await a.runtime.digests.stop()
        await b.runtime.digests.stop()
    assert a.runtime.scheduler.jobs == {} and b.runtime.scheduler.jobs == {}


async def test_a_sync_that_read_before_a_digest_was_created_keeps_its_job(
    make_harness, database, settings
) -> None:
    """The sync job read the active digests, then a digest was created here before the sync went
    on: the sync must not take the new digest's job off the scheduler."""
    a = with_digests(make_harness(database, settings, instance_id="replica-a"))
    engine = a.runtime.digests
    read, go_on = asyncio.Event(), asyncio.Event()
    original = a.runtime.db.session

    @contextlib.asynccontextmanager
    async def read_then_wait():
        a.runtime.db.session = original  # only the sync's read is held
        async with original() as session:
            yield session
        read.set()
        await go_on.wait()

    await engine.start()
    try:
        await engine.sync()  # the start's own run may not have come yet: the same thing, now
        a.runtime.db.session = read_then_wait
        syncing = asyncio.create_task(engine.sync())
        await read.wait()
        await a.command("digest #CDIGEST daily 09:00")
        go_on.set()
        await syncing
        assert a.runtime.scheduler.next_run("digest.1") is not None
    finally:
        a.runtime.db.session = original
        await engine.stop()
