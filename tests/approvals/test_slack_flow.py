"""The whole approval flow through signed Slack requests into the Bolt app, against the fake Slack."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from approvals_support import (
    SECRET,
    FakeWatches,
    PortProvider,
    approvals_settings,
    buttons_of,
    register_demo,
)
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from circuitbot.bootstrap import build_registry, build_runtime
from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.server import attach_slack
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import (
    block_action_body,
    signed_request_headers,
    slash_command_body,
    view_submission_body,
)

SIGNING_SECRET = "approvals-signing-secret"
BOT_TOKEN = "xoxb-approvals-test"
FERNET_KEY = "Wy6ZanrTq0XRhhKQG27XBf_LcrRuBaN4ztnkq4UNYeE="


@dataclass
class Bot:
    app: AsyncApp
    slack: FakeSlack
    runtime: Runtime
    work: BackgroundWork
    provider: PortProvider

    async def send(self, body: str) -> BoltResponse:
        """A request as Slack sends it (signed), then the listener's work after the ack."""
        headers = signed_request_headers(SIGNING_SECRET, body)
        response = await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert response.status == 200, response.body
        return response

    async def settle(self) -> None:
        assert await self.work.drain(timeout=30), "listeners still running"

    async def command(self, text: str, user: str, channel: str = "CGENERAL") -> BoltResponse:
        body = slash_command_body(
            text,
            user_id=user,
            channel_id=channel,
            response_url=self.slack.response_url(channel=channel, user=user),
            trigger_id=f"trigger-{time.monotonic_ns()}",
        )
        return await self.send(body)

    def click_body(self, action: str, request_id: str, user: str, message_ts: str) -> str:
        return block_action_body(
            f"approval:{action}",
            request_id,
            user,
            "CAPPROVALS",
            message_ts,
            self.slack.response_url(channel="CAPPROVALS", user=user),
            f"trigger-{time.monotonic_ns()}",
            block_id=f"approval_{request_id}",
            message=self.slack.message("CAPPROVALS", message_ts),
        )

    def told(self, user: str) -> str:
        """Everything Slack showed ``user`` privately."""
        return "\n".join(e["text"] for e in self.slack.ephemerals(user=user))


@pytest.fixture
async def bot(tmp_path) -> AsyncIterator[Bot]:
    slack = FakeSlack()
    async with slack.serve() as api_url:
        settings = approvals_settings(
            tmp_path,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=api_url,
            secret_key=FERNET_KEY,
        )
        registry = build_registry()
        register_demo(registry)
        runtime = await build_runtime(settings, registry=registry, clock=FakeClock())
        provider = PortProvider()
        runtime.providers["demo"] = provider
        runtime.watches = FakeWatches()
        work = BackgroundWork()
        app = attach_slack(runtime, settings, work=work)
        try:
            yield Bot(app, slack, runtime, work, provider)
        finally:
            assert await work.drain(timeout=30)
            await runtime.close()


async def request(bot: Bot, text: str, user: str) -> tuple[str, str]:
    """Request a change; the request id and the approval message's ts."""
    ack = await bot.command(text, user)
    assert "working on" in json.loads(ack.body)["text"]
    await bot.settle()
    match = re.search(r"Request `(R[A-Z2-7]{6})` created", bot.told(user))
    assert match, bot.told(user)
    request_id = match.group(1)
    [message] = [m for m in bot.slack.messages("CAPPROVALS") if request_id in m["text"]]
    return request_id, message["ts"]


async def test_request_refusals_and_racing_approvals_through_slack(bot: Bot, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    request_id, ts = await request(bot, f"demo move c1 B shared-key={SECRET}", user="UAPP1")

    message = bot.slack.message("CAPPROVALS", ts)
    assert buttons_of(message) == {
        "approval:approve": request_id,
        "approval:reject": request_id,
        "approval:cancel": request_id,
    }
    assert [m["text"] for m in bot.slack.messages("CGENERAL")] == [message["text"]], "the requester's copy"

    # The requester cannot approve their own request, nor can someone who is not an approver.
    await bot.send(bot.click_body("approve", request_id, "UAPP1", ts))
    await bot.send(bot.click_body("approve", request_id, "UREQ2", ts))
    await bot.settle()
    assert "cannot approve your own request" in bot.told("UAPP1")
    assert "only approvers" in bot.told("UREQ2")
    assert bot.provider.writes == 0

    # Two approvers click at once: it runs once.
    bot.provider.write_delay_ticks = 20
    await asyncio.gather(
        bot.send(bot.click_body("approve", request_id, "UAPP2", ts)),
        bot.send(bot.click_body("approve", request_id, "UAPP3", ts)),
    )
    await bot.settle()
    assert bot.provider.writes == 1
    assert bot.provider.received_keys == [SECRET]
    told = bot.told("UAPP2") + "\n" + bot.told("UAPP3")
    assert told.count("You approved") == 1
    assert "already approved by" in told

    # The message in Slack was edited in place to the outcome, its buttons gone.
    message = bot.slack.message("CAPPROVALS", ts)
    assert message["text"].endswith("succeeded")
    assert buttons_of(message) == {}
    assert "Succeeded" in json.dumps(message["blocks"])
    assert any("c1 is now on port B" in json.dumps(m["blocks"]) for m in bot.slack.thread("CAPPROVALS", ts))
    [(target, watch)] = bot.runtime.watches.calls
    assert (target.resource_id, watch["thread_ts"]) == ("c1", ts)

    # The audit shows every step, asked for with the slash command.
    await bot.command(f"audit {request_id}", user="UREQ")
    await bot.settle()
    audit = bot.told("UREQ")
    for step in ("request.created", "refused", "vote.approve", "status.approved", "status.succeeded"):
        assert step in audit, step

    # The shared key never went to Slack or a log line.
    assert SECRET not in json.dumps([call.args for call in bot.slack.calls])
    assert SECRET not in caplog.text


async def test_reject_with_a_reason_through_the_modal(bot: Bot) -> None:
    request_id, ts = await request(bot, "demo move c2 C", user="UREQ")

    await bot.send(bot.click_body("reject", request_id, "UAPP1", ts))
    await bot.settle()
    [opened] = bot.slack.calls_to("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == "approval_reject"
    [filled_in] = bot.slack.calls_to("views.update")
    assert "move c2 from port A to C" in json.dumps(filled_in.args["view"])

    body = view_submission_body(
        "approval_reject",
        {"reason": {"value": "change freeze until Monday"}},
        "UAPP1",
        private_metadata=view["private_metadata"],
    )
    response = await bot.send(body)
    assert response.body == ""  # the modal closes
    await bot.settle()

    message = bot.slack.message("CAPPROVALS", ts)
    assert message["text"].endswith("rejected")
    assert "Rejected by <@UAPP1>: change freeze until Monday" in json.dumps(message["blocks"])
    assert buttons_of(message) == {}
    assert bot.provider.writes == 0


HOSTILE = "<!channel> hi <@U123> ```x``` <https://evil.example|click>"
TYPED_HOSTILE = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # as Slack sends it


def leaks(text: str) -> list[str]:
    """Pings, links and code blocks ended early in one text Slack shows."""
    found = [bad for bad in ("<!channel>", "<@U123>", "<https://evil.example") if bad in text]
    if text.startswith("```") and (text.count("```") != 2 or not text.endswith("```")):
        found.append(f"a code block ended early: {text!r}")
    return found


def shown_texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in shown_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in shown_texts(v)]
    return []


async def test_hostile_text_in_a_request_and_its_rejection_never_pings_in_any_slack_call(bot: Bot) -> None:
    request_id, ts = await request(bot, f'demo move c2 "{TYPED_HOSTILE}"', user="UREQ")
    await bot.send(bot.click_body("reject", request_id, "UAPP1", ts))
    await bot.settle()
    [opened] = bot.slack.calls_to("views.open")
    body = view_submission_body(
        "approval_reject",
        {"reason": {"value": HOSTILE}},  # a modal's text is not escaped by Slack
        "UAPP1",
        private_metadata=opened.args["view"]["private_metadata"],
    )
    await bot.send(body)
    acks = [
        json.loads((await bot.command(text, "UAPP1")).body or "{}")
        for text in ("approvals all", f"audit {request_id}", TYPED_HOSTILE, f'help "{TYPED_HOSTILE}"')
    ]
    await bot.settle()
    assert "unknown command `&lt;!channel&gt;`" in acks[2]["text"]
    assert "no help topic `&lt;!channel&gt; hi" in acks[3]["text"]

    rejected = json.dumps(bot.slack.message("CAPPROVALS", ts)["blocks"])
    assert "Rejected by <@UAPP1>: &lt;!channel&gt; hi" in rejected, "the bot's own mention stays one"
    audit = json.dumps([c.args for c in bot.slack.calls if "Audit for" in json.dumps(c.args)])
    assert "&lt;!channel&gt; hi" in audit, "the reason is in the audit's note column"
    texts = [t for call in bot.slack.calls for t in shown_texts(call.args)] + shown_texts(acks)
    assert sum("hi" in t for t in texts) >= 6
    assert [leak for t in texts for leak in leaks(t)] == []
