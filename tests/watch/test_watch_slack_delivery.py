"""The outbox against a fake Slack over HTTP: a post Slack took is never posted again, whether the
answer was lost or the process died before it wrote the post down."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from sqlalchemy import select
from watch_support import FakePoller, drain, make_runtime, poll_when_due

from circuitbot.actions.registry import WatchTarget
from circuitbot.chat.reply import Reply
from circuitbot.clock import FakeClock
from circuitbot.settings import Settings
from circuitbot.slack.app import OUTBOX_TIMEOUT_SECONDS, outbox_client, slack_client
from circuitbot.slack.poster import SlackPoster
from circuitbot.slack.server import attach_slack, check_token
from circuitbot.store.db import Database
from circuitbot.store.tables import OutboxMessage, Watch
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.watch.delivery import OUTBOX_EVENT
from circuitbot.watch.engine import WatchEngine
from circuitbot.watch.outbox import enqueue

CHANNEL = "COPS"
FAST = 15.0


class ProcessKilled(BaseException):
    """The process dies: nothing after this point runs."""


@pytest.fixture
async def slack(clock: FakeClock) -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(clock=clock)
    async with fake.serve():
        yield fake


def slack_settings(settings: Settings, slack: FakeSlack) -> Settings:
    return Settings(slack_bot_token="xoxb-test", slack_api_url=slack.api_url, data_dir=settings.data_dir)


@asynccontextmanager
async def process(settings, database: Database, clock, poller, slack) -> AsyncIterator[WatchEngine]:
    """A bot process on the shared database, with its own connections and the outbox's Slack client."""
    db = Database(database.url.render_as_string(hide_password=False))
    try:
        poster = SlackPoster(outbox_client(slack_settings(settings, slack)))
        yield make_runtime(settings, db, clock, poller, poster).watches
    finally:
        await db.dispose()


async def killed_after_delivery(engine: WatchEngine) -> None:
    """One pass whose deliveries reach Slack, then the process dies before writing them down."""

    async def die(_outcomes) -> None:
        raise ProcessKilled

    engine.sender._settle = die  # type: ignore[method-assign]
    with pytest.raises(ProcessKilled):
        await engine.sender.run_once()


async def outbox_rows(database: Database) -> list[OutboxMessage]:
    async with database.session() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_posts_slack_took_before_the_process_died_are_not_posted_again(
    settings, database: Database, clock: FakeClock, poller: FakePoller, slack: FakeSlack
) -> None:
    poller.set("xc1", provisioningState="Updating")
    async with process(settings, database, clock, poller, slack) as first:
        await first.watch(WatchTarget("azure", "xc1"), CHANNEL, created_by="UREQ")
        await killed_after_delivery(first)  # the card is in the channel; the outbox does not know
    [card] = slack.messages(CHANNEL)
    assert card["metadata"]["event_type"] == OUTBOX_EVENT

    async with process(settings, database, clock, poller, slack) as second:
        await clock.advance(second.sender.lease.total_seconds())  # the dead process's lease runs out
        await drain(second, clock)
        assert slack.messages(CHANNEL) == [card]
        assert slack.calls_to("conversations.history", ok=True)
        async with database.session() as session:
            watch = (await session.execute(select(Watch))).scalar_one()
        assert watch.status_ts == card["ts"]  # the card found is the watch's card

        poller.update("xc1", provisioningState="Succeeded")
        await poll_when_due(second, clock, FAST)
        await killed_after_delivery(second)  # the change, in the card's thread, then death again
    assert len(slack.thread(CHANNEL, card["ts"])) == 1

    async with process(settings, database, clock, poller, slack) as third:
        await clock.advance(third.sender.lease.total_seconds())
        await drain(third, clock)

    [reply] = slack.thread(CHANNEL, card["ts"])
    assert "Updating → *Succeeded*" in reply["text"]
    assert slack.calls_to("conversations.replies", ok=True)
    assert len(slack.calls_to("chat.postMessage", ok=True)) == 2
    assert "Succeeded" in slack.message(CHANNEL, card["ts"])["text"]  # and the card was brought up to date
    rows = await outbox_rows(database)
    assert [(r.kind, r.status) for r in rows] == [("parent", "sent"), ("reply", "sent"), ("update", "sent")]
    assert [r.sent_ts for r in rows[:2]] == [card["ts"], reply["ts"]]


async def test_a_post_whose_answer_was_lost_is_found_not_posted_again(
    settings, database: Database, clock: FakeClock, poller: FakePoller, slack: FakeSlack
) -> None:
    async with process(settings, database, clock, poller, slack) as engine:
        await post(engine, "maintenance tonight")
        slack.fail_next("chat.postMessage", status=504, applied=True)  # posted; a 504 is all we hear
        await engine.sender.run_once()
        [row] = await outbox_rows(database)
        assert (row.status, row.last_error) == ("pending", "fatal_error")

        await drain(engine, clock)

    [message] = slack.messages(CHANNEL)
    [row] = await outbox_rows(database)
    assert (row.status, row.sent_ts) == ("sent", message["ts"])
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_a_death_after_a_refused_try_still_looks_before_posting_again(
    settings, database: Database, clock: FakeClock, poller: FakePoller, slack: FakeSlack
) -> None:
    async with process(settings, database, clock, poller, slack) as first:
        await post(first, "maintenance tonight")
        slack.fail_next("chat.postMessage", status=429, retry_after=2)
        await first.sender.run_once()  # refused: certainly not posted
        await clock.advance(2)
        await killed_after_delivery(first)  # posted, and the process dies

    async with process(settings, database, clock, poller, slack) as second:
        await clock.advance(second.sender.lease.total_seconds())
        await drain(second, clock)

    assert [m["text"] for m in slack.messages(CHANNEL)] == ["maintenance tonight"]


async def test_a_retry_after_a_refusal_posts_without_looking(
    settings, database: Database, clock: FakeClock, poller: FakePoller, slack: FakeSlack
) -> None:
    async with process(settings, database, clock, poller, slack) as engine:
        await post(engine, "maintenance tonight")
        slack.fail_next("chat.postMessage", status=429, retry_after=2)  # a 429: certainly not posted
        await drain(engine, clock)

    assert [m["text"] for m in slack.messages(CHANNEL)] == ["maintenance tonight"]
    assert slack.calls_to("conversations.history") == []


async def test_while_slack_cannot_be_asked_the_post_waits_and_when_it_cannot_look_it_posts(
    settings, database: Database, clock: FakeClock, poller: FakePoller, slack: FakeSlack
) -> None:
    async with process(settings, database, clock, poller, slack) as engine:
        await post(engine, "first")
        slack.fail_next("chat.postMessage", status=504, applied=True)
        slack.fail_next("conversations.history", status=429, retry_after=5)
        await engine.sender.run_once()
        await clock.advance(60)
        await engine.sender.run_once()  # the look-up is rate limited: no post meanwhile
        assert len(slack.calls_to("chat.postMessage")) == 1
        await drain(engine, clock)
        assert [m["text"] for m in slack.messages(CHANNEL)] == ["first"]

        # Without the history scope the outbox cannot know: it posts (twice, rather than never).
        await post(engine, "second")
        slack.fail_next("chat.postMessage", status=504, applied=True)
        slack.fail_next("conversations.history", error="missing_scope")
        await drain(engine, clock)

    assert [m["text"] for m in slack.messages(CHANNEL)] == ["first", "second", "second"]
    assert {r.status for r in await outbox_rows(database)} == {"sent"}


async def test_the_slack_front_end_gives_the_outbox_single_short_tries(
    settings, database: Database, clock: FakeClock, poller: FakePoller, slack: FakeSlack
) -> None:
    runtime = make_runtime(settings, database, clock, poller, None)
    attach_slack(runtime, slack_settings(settings, slack))

    outbox_poster = runtime.watches.sender.poster
    assert isinstance(outbox_poster, SlackPoster) and outbox_poster is not runtime.poster
    client = outbox_poster.client
    assert client.retry_handlers == [] and client.timeout == OUTBOX_TIMEOUT_SECONDS
    # A dropped connection is not tried again behind the outbox's back (that try may post twice).
    slack.fail_next("chat.postMessage", status=504, applied=True)
    await post(runtime.watches, "once")
    await runtime.watches.sender.run_once()
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_the_start_up_token_check_leaves_no_connection_open(settings, slack: FakeSlack) -> None:
    def open_sessions() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, aiohttp.ClientSession) and not o.closed)

    before = open_sessions()
    config = slack_settings(settings, slack)
    await check_token(slack_client(config), config)  # as serve() does
    assert slack.calls_to("auth.test", ok=True)
    assert open_sessions() == before


async def post(engine: WatchEngine, text: str) -> None:
    async with engine.runtime.db.session() as session:
        enqueue(
            session,
            kind="post",
            channel=CHANNEL,
            reply=Reply.plain(text, ephemeral=False),
            at=engine.runtime.clock.now(),
        )
