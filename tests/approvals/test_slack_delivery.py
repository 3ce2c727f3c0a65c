"""Every approval message is owed until Slack takes it: through signed Slack requests, against
the fake Slack failing the way the real one does (429 with Retry-After, 5xx, a channel the bot
cannot post to, an answer lost after the work was done). The bot runs with its real watch
engine, whose outbox sender retries what a first try missed."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from approvals_support import PortProvider, approvals_settings, buttons_of, register_demo
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from circuitbot.bootstrap import build_registry, build_runtime
from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.server import attach_slack
from circuitbot.store.tables import ApprovalRequest
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import block_action_body, signed_request_headers, slash_command_body
from circuitbot.watch.sender import OutboxSender

SIGNING_SECRET = "delivery-signing-secret"
FERNET_KEY = "Wy6ZanrTq0XRhhKQG27XBf_LcrRuBaN4ztnkq4UNYeE="


@dataclass
class Bot:
    app: AsyncApp
    slack: FakeSlack
    runtime: Runtime
    work: BackgroundWork
    clock: FakeClock

    @property
    def sender(self) -> OutboxSender:
        assert self.runtime.watches is not None
        return self.runtime.watches.sender

    async def send(self, body: str) -> None:
        headers = signed_request_headers(SIGNING_SECRET, body)
        response = await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert response.status == 200, response.body
        assert await self.work.drain(timeout=30), "listeners still running"

    async def request(self, text: str = "demo move c1 B", user: str = "UREQ") -> str:
        url = self.slack.response_url(channel="CGENERAL", user=user)
        trigger = f"trigger-{time.monotonic_ns()}"
        await self.send(
            slash_command_body(
                text, user_id=user, channel_id="CGENERAL", response_url=url, trigger_id=trigger
            )
        )
        match = re.search(r"Request `(R[A-Z2-7]{6})` created", self.told(user))
        assert match, self.told(user)
        return match.group(1)

    async def click(self, action: str, request_id: str, user: str, ts: str) -> None:
        body = block_action_body(
            f"approval:{action}",
            request_id,
            user,
            "CAPPROVALS",
            ts,
            self.slack.response_url(channel="CAPPROVALS", user=user),
            f"trigger-{time.monotonic_ns()}",
            block_id=f"approval_{request_id}",
            message=self.slack.message("CAPPROVALS", ts),
        )
        await self.send(body)

    def told(self, user: str) -> str:
        return "\n".join(e["text"] for e in self.slack.ephemerals(user=user))

    def cards(self, request_id: str, channel: str = "CAPPROVALS") -> list[dict]:
        """The request's top-level messages in ``channel``, as Slack shows them now."""
        return [
            m
            for m in self.slack.messages(channel)
            if request_id in m["text"] and m.get("thread_ts") in (None, m["ts"])
        ]

    def posts_to(self, channel: str) -> int:
        """chat.postMessage calls to ``channel`` that Slack answered ok."""
        return sum(
            1 for c in self.slack.calls_to("chat.postMessage", ok=True) if c.args["channel"] == channel
        )

    async def deliver_owed(self, passes: int = 50) -> None:
        """Let time pass and the outbox sender run until nothing is owed."""
        for _ in range(passes):
            await self.clock.advance(5)
            await self.sender.run_once()
            if not await self.sender.pending():
                return
        raise AssertionError(f"{await self.sender.pending()} messages still owed")


@pytest.fixture
async def bot(tmp_path) -> AsyncIterator[Bot]:
    clock = FakeClock()
    slack = FakeSlack(clock=clock)  # message ts on the test's clock, as the look-ups expect
    async with slack.serve() as api_url:
        settings = approvals_settings(
            tmp_path,
            slack_bot_token="xoxb-delivery-test",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=api_url,
            secret_key=FERNET_KEY,
        )
        registry = build_registry()
        register_demo(registry)
        runtime = await build_runtime(settings, registry=registry, clock=clock)
        runtime.providers["demo"] = PortProvider()
        work = BackgroundWork()
        app = attach_slack(runtime, settings, work=work)
        try:
            yield Bot(app, slack, runtime, work, clock)
        finally:
            assert await work.drain(timeout=30)
            await runtime.close()


async def approve_and_check_it_ran(bot: Bot, request_id: str, card: dict) -> None:
    """The card's Approve button works: the change runs and the card ends in 'succeeded'."""
    assert buttons_of(card)["approval:approve"] == request_id
    await bot.click("approve", request_id, "UAPP1", card["ts"])
    await bot.deliver_owed()
    [card] = bot.cards(request_id)
    assert card["text"].endswith("succeeded")
    assert buttons_of(card) == {}


async def test_a_rate_limited_card_is_posted_once_when_slack_allows_and_its_buttons_work(bot: Bot) -> None:
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=30)

    request_id = await bot.request()

    assert bot.cards(request_id) == [], "Slack refused it"
    assert "will be retried" in bot.told("UREQ") and "ratelimited" in bot.told("UREQ")
    await bot.clock.advance(20)
    await bot.sender.run_once()
    assert bot.cards(request_id) == [], "Slack's Retry-After is honoured"
    await bot.deliver_owed()
    [card] = bot.cards(request_id)
    assert bot.posts_to("CAPPROVALS") == 1
    async with bot.runtime.db.session() as session:
        row = await session.get(ApprovalRequest, request_id)
        assert row is not None and row.approvals_ts == card["ts"]
    await approve_and_check_it_ran(bot, request_id, card)


async def test_a_card_edit_refused_by_a_server_error_is_resent(bot: Bot) -> None:
    request_id = await bot.request()
    [card] = bot.cards(request_id)
    bot.slack.fail_next("chat.update", status=500, count=2)  # both copies' edits

    await bot.send(
        slash_command_body(
            f"cancel {request_id}",
            user_id="UREQ",
            channel_id="CGENERAL",
            response_url=bot.slack.response_url(channel="CGENERAL", user="UREQ"),
            trigger_id="t-cancel",
        )
    )

    assert "canceled" in bot.told("UREQ")
    [stale] = bot.cards(request_id)
    assert stale["text"].endswith("pending"), "the edit failed"
    await bot.deliver_owed()
    [card] = bot.cards(request_id)
    assert card["text"].endswith("canceled")
    assert buttons_of(card) == {}
    [copy] = bot.cards(request_id, "CGENERAL")
    assert copy["text"].endswith("canceled")


async def test_edits_made_while_slack_is_down_end_in_one_update_with_the_last_state(bot: Bot) -> None:
    request_id = await bot.request()
    [card] = bot.cards(request_id)
    # Every edit of the click (approved, executing, succeeded: one per copy each) fails.
    bot.slack.fail_next("chat.update", status=503, count=6)

    await bot.click("approve", request_id, "UAPP1", card["ts"])

    assert len(bot.slack.calls_to("chat.update", ok=False)) == 6
    assert bot.cards(request_id)[0]["text"].endswith("pending")
    assert bot.slack.thread("CAPPROVALS", card["ts"]) == [], "the note waits behind the card's edit"
    await bot.deliver_owed()
    edits = [c for c in bot.slack.calls_to("chat.update", ok=True) if c.args["channel"] == "CAPPROVALS"]
    assert [e.args["text"].rsplit("· ", 1)[-1] for e in edits] == ["succeeded"]
    assert any("succeeded" in m["text"] for m in bot.slack.thread("CAPPROVALS", card["ts"]))


async def test_an_approvals_channel_the_bot_cannot_post_to_is_told_at_once_and_nothing_is_lost(
    bot: Bot,
) -> None:
    bot.slack.unknown_channels.add("CAPPROVALS")

    request_id = await bot.request()

    told = bot.told("UREQ")
    assert f"Request `{request_id}` created" in told
    assert "<#CAPPROVALS> cannot be posted to (channel_not_found)" in told
    assert "ask an admin" in told
    # The requester's copy went out; the approvals card is still owed, retried with backoff.
    assert len(bot.cards(request_id, "CGENERAL")) == 1
    for _ in range(3):
        await bot.clock.advance(60)
        await bot.sender.run_once()
    assert await bot.sender.pending() == 1
    # Once the channel can be posted to, the card goes out, once, and works.
    bot.slack.unknown_channels.discard("CAPPROVALS")
    await bot.deliver_owed()
    [card] = bot.cards(request_id)
    assert bot.posts_to("CAPPROVALS") == 1
    await approve_and_check_it_ran(bot, request_id, card)


async def test_a_card_posted_whose_answer_was_lost_is_not_posted_again(bot: Bot) -> None:
    bot.slack.fail_next("chat.postMessage", status=500, applied=True)

    request_id = await bot.request()

    assert "will be retried" in bot.told("UREQ")
    assert len(bot.cards(request_id)) == 1, "Slack did post it"
    await bot.deliver_owed()
    [card] = bot.cards(request_id)
    assert len(bot.slack.calls_to("chat.postMessage")) == 2, "the card once, and its copy"
    assert bot.slack.calls_to("conversations.history"), "looked for before posting again"
    await approve_and_check_it_ran(bot, request_id, card)
