"""The Azure commands through Slack: signed requests into the Bolt app, the fake Slack Web API on
loopback, and the sandbox ARM in-process; the FakeClock moves while operations run."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator

import pytest
from azure_support import FABRIKAM
from slack_bolt.response import BoltResponse
from sqlalchemy import select

from circuitbot import metrics
from circuitbot.clock import FakeClock
from circuitbot.context import ContextFilter
from circuitbot.store.tables import AuditEvent
from circuitbot.testing.payloads import block_action_body
from support.slack_bot import SlackBot, running_bot


class Bot(SlackBot):
    async def command(self, text: str, user: str, channel: str = "CGENERAL") -> BoltResponse:
        return await self.slash(text, user, channel)

    def told(self, user: str = "UREQ") -> list[dict]:  # type: ignore[override]
        return self.slack.ephemerals(user=user)


@pytest.fixture
async def bot(tmp_path, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running_bot(Bot, tmp_path, clock) as bot:
        yield bot


async def test_a_signed_az_ports_acks_at_once_then_answers_with_the_port_pairs(bot: Bot) -> None:
    response = await bot.command("az ports", "UREQ")

    assert "working on `az ports`" in json.loads(response.body)["text"]
    await bot.settle()
    [answer] = bot.told("UREQ")
    blocks = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "Azure ExpressRoute port pairs" in blocks
    assert "*bvtazureixpportpair1* · SiliconValley" in blocks
    assert "`██░░░░░░░░ 25%` 1,000 of 4,000 Mbps used" in blocks
    assert len(answer["blocks"]) <= 50


async def test_the_move_approval_through_slack_runs_the_move_and_watches_it_in_the_thread(bot: Bot) -> None:
    await bot.command(f"az move {FABRIKAM} bvtazureixpportpair3", "UREQ")
    await bot.settle()
    told = " ".join(e["text"] for e in bot.told("UREQ"))
    request_id = re.search(r"Request `(R[A-Z2-7]{6})` created", told).group(1)
    [message] = [m for m in bot.slack.messages("CAPPROVALS") if request_id in m["text"]]
    assert "bvtazureixp01a" in json.dumps(message["blocks"]) and "bvtazureixp03a" in json.dumps(
        message["blocks"]
    )

    await bot.approve(request_id)

    edited = bot.slack.message("CAPPROVALS", message["ts"])
    assert edited["text"].endswith("succeeded")
    thread = json.dumps(bot.slack.thread("CAPPROVALS", message["ts"]), ensure_ascii=False)
    assert f"{FABRIKAM} moved to port pair bvtazureixpportpair3 (provisioning Succeeded)" in thread
    sim = bot.runtime.sandbox["azure"]
    assert sim.cross_connection(FABRIKAM).primary_port == "bvtazureixp03a"
    assert sim.used_bandwidth("bvtazureixpportpair3") == 2000

    [watch] = await bot.runtime.watches.list_watches()
    assert (watch.channel, watch.thread_ts, watch.resource_id) == ("CAPPROVALS", message["ts"], FABRIKAM)
    sender = bot.runtime.watches.sender
    for _ in range(100):
        await bot.clock.run_until(sender.run_once())
        if await sender.pending() == 0:
            break
        await bot.clock.advance(1)
    cards = [m for m in bot.slack.thread("CAPPROVALS", message["ts"]) if "er1 @ SiliconValley" in m["text"]]
    assert cards, "the watch's card is in the approval's thread"


# --- user text: never a ping, a link or the end of a code block; typed & < > reach Azure ----------

HOSTILE = "<!channel> hi <@U123> ```x``` <https://evil.example|click>"


def texts(payload: object) -> list[str]:
    """Every string in a message (text, blocks, fields), wherever it is nested."""
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [t for value in payload.values() for t in texts(value)]
    if isinstance(payload, list):
        return [t for value in payload for t in texts(value)]
    return []


def leaks(payload: object) -> list[str]:
    """What in a message Slack would turn into a ping or a link, or a code block or span that
    typed text ended early."""
    found = []
    for text in texts(payload):
        found += [bad for bad in ("<!channel>", "<@U123>", "<https://evil.example") if bad in text]
        if text.startswith("```") and (text.count("```") != 2 or not text.endswith("```")):
            found.append(f"a code block ended early: {text!r}")
        if not text.startswith("```") and "```" in text:
            found.append(f"typed backticks open a code block: {text!r}")
        if "working on `" in text and text.count("`") != 2:
            found.append(f"an inline code span ended early: {text!r}")
    return found


async def approve(bot: Bot, user: str = "UAPP1") -> dict:
    """Approve the one request in the approvals channel; its message."""
    [message] = bot.slack.messages("CAPPROVALS")
    request_id = re.search(r"R[A-Z2-7]{6}", message["text"]).group(0)
    await bot.send(
        block_action_body(
            "approval:approve",
            request_id,
            user,
            "CAPPROVALS",
            message["ts"],
            bot.slack.response_url(channel="CAPPROVALS", user=user),
            f"trigger-{time.monotonic_ns()}",
            block_id=f"approval_{request_id}",
            message=message,
        )
    )
    await bot.settle()
    return bot.slack.message("CAPPROVALS", message["ts"])


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param(HOSTILE, id="as Slack sends mentions and a link"),
        pytest.param(
            HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), id="typed literally"
        ),
    ],
)
async def test_hostile_notes_never_ping_link_or_end_a_code_block_in_any_message(bot: Bot, typed: str) -> None:
    ack = await bot.command(f"az notes {FABRIKAM} {typed}", "UREQ")
    await bot.settle()
    [card] = bot.slack.messages("CAPPROVALS")
    assert "hi" in json.dumps(card["blocks"]), "the notes are shown in the card"
    await bot.command("approvals all", "UAPP1")
    await bot.command(f"audit azure:{FABRIKAM}", "UAPP1")
    await bot.settle()
    edited = await approve(bot)
    await bot.command(f"az show {FABRIKAM}", "UREQ")
    await bot.settle()

    everything = [
        json.loads(ack.body),
        *bot.slack.messages("CAPPROVALS"),
        *bot.slack.thread("CAPPROVALS", edited["ts"]),
        *bot.slack.messages("CGENERAL"),
        *bot.told("UREQ"),
        *bot.told("UAPP1"),
    ]
    assert len(everything) >= 8
    for payload in everything:
        assert leaks(payload) == [], payload


async def test_typed_ampersand_and_brackets_reach_azure_as_typed(recorders, bot: Bot) -> None:
    await bot.command(f"az notes {FABRIKAM} a &amp; b &lt;#C123&gt; <#C0OPS|ops>", "UREQ")
    await bot.settle()
    assert (await approve(bot))["text"].endswith("succeeded")

    [put] = [r for r in recorders[-1].sent("PUT") if "expressRouteCrossConnections" in r.url.path]
    assert json.loads(put.content)["properties"]["serviceProviderNotes"] == "a & b <#C123> C0OPS"


# ---------------------------------------------------------------------- correlation and metrics


def provider_calls(operation: str) -> float:
    labels = {"provider": "azure", "operation": operation, "status": "200"}
    return metrics.REGISTRY.get_sample_value("circuitbot_provider_call_seconds_count", labels) or 0.0


async def audit_rows(bot: Bot) -> list[AuditEvent]:
    async with bot.runtime.db.session() as session:
        return list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


async def test_a_request_is_correlated_from_slack_through_azure_calls_to_its_audit_rows(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(ContextFilter())
    before = provider_calls("azure.show")
    with caplog.at_level(logging.DEBUG, logger="circuitbot.providers.http"):
        await bot.command(f"az show {FABRIKAM}", "UREQ")
        await bot.settle()

    calls = [r for r in caplog.records if r.name == "circuitbot.providers.http"]
    [correlation] = {getattr(r, "correlation_id", None) for r in calls}
    assert correlation and correlation.startswith("c-")
    assert {getattr(r, "operation", None) for r in calls} == {"azure.show"}
    [row] = [r for r in await audit_rows(bot) if r.action == "command"]
    assert (row.detail["operation"], row.correlation_id) == ("azure.show", correlation)
    assert provider_calls("azure.show") >= before + len(calls) > before


async def test_an_approved_change_runs_correlated_under_its_request_id(bot: Bot) -> None:
    sample = metrics.REGISTRY.get_sample_value
    decisions = sample("circuitbot_approval_decision_seconds_count", {"decision": "approved"}) or 0.0
    await bot.command(f"az notes {FABRIKAM} correlated", "UREQ")
    await bot.settle()
    await bot.clock.advance(90)  # the approver takes a minute and a half
    [message] = bot.slack.messages("CAPPROVALS")
    request_id = re.search(r"R[A-Z2-7]{6}", message["text"]).group(0)
    await bot.approve(request_id)

    rows = {row.action: row for row in await audit_rows(bot)}
    asked, approved, done = rows["request.created"], rows["vote.approve"], rows["status.succeeded"]
    assert asked.correlation_id.startswith("c-") and approved.correlation_id.startswith("c-")
    assert asked.correlation_id != approved.correlation_id, "each Slack request has its own"
    assert rows["status.approved"].correlation_id == approved.correlation_id
    assert done.correlation_id == request_id
    assert sample("circuitbot_approval_decision_seconds_count", {"decision": "approved"}) == decisions + 1
    await bot.runtime.approvals.count_requests()
    assert sample("circuitbot_approval_requests", {"status": "succeeded"}) == 1
    assert sample("circuitbot_approval_requests", {"status": "pending"}) == 0
