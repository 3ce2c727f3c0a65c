"""The App Home through Slack: a signed ``app_home_opened`` event into the Bolt app, the Home tab
published to the fake Slack Web API, a click on its buttons handled as one on the approval card,
and the Home published again when something on it changes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest

from circuitbot.clock import FakeClock
from circuitbot.testing.payloads import app_home_opened_body, home_action_body
from support.slack_bot import APPROVER, REQUESTER, SlackBot, running_bot

WOODGROVE = "cccc2c2c-dd3d-ee4e-ff5f-aaaaaa6a6a6a"
NOTES = f"az notes {WOODGROVE} text=maintenance-window"


class Bot(SlackBot):
    async def command(self, text: str, user: str = REQUESTER, channel: str = "CGENERAL") -> None:
        await self.slash(text, user, channel)
        await self.settle()

    async def open_home(self, user: str) -> dict:
        """The event sent; its Home as published. Bolt acks an event before its listener starts,
        so the publish is awaited here rather than through the tracked listeners."""
        published = self.slack.homes.get(user)
        await self.event(app_home_opened_body(user))
        for _ in range(500):
            if self.slack.homes.get(user) is not published:
                return self.slack.homes[user]
            await asyncio.sleep(0.01)
        raise AssertionError(f"no Home published for {user}")

    async def event(self, body: str) -> None:
        await self.send(body, content_type="application/json")

    async def deliver(self) -> None:
        """The outbox delivers what it owes; the Home refresh it triggers finishes."""
        sender = self.runtime.watches.sender
        for _ in range(20):
            await self.clock.run_until(sender.run_once())
            if await sender.pending() == 0:
                break
            await self.clock.advance(1)
        for listener in sender.on_delivered:
            await listener.__self__.settle()


def said(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


@pytest.fixture
async def bot(tmp_path, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running_bot(Bot, tmp_path, clock) as bot:
        yield bot


async def test_an_approver_sees_pending_requests_with_the_card_buttons(bot: Bot) -> None:
    request_id = await bot.request(NOTES)

    home = await bot.open_home(APPROVER)

    assert home["type"] == "home"
    text = said(home)
    assert "Waiting for a decision* (1)" in text
    actions = [b for b in home["blocks"] if b.get("block_id") == f"approval_{request_id}"]
    assert [e["action_id"] for e in actions[0]["elements"]][:2] == ["approval:approve", "approval:reject"]
    assert len(home["blocks"]) <= 100


async def test_approving_from_the_home_runs_the_change_and_keeps_the_homes_current(bot: Bot) -> None:
    request_id = await bot.request(NOTES)
    await bot.open_home(REQUESTER)
    await bot.open_home(APPROVER)
    assert "Waiting for 1 approval" in said(bot.slack.homes[REQUESTER])

    await bot.send(
        home_action_body(
            "approval:approve",
            request_id,
            APPROVER,
            bot.slack.homes[APPROVER],
            f"trigger-{time.monotonic_ns()}",
            block_id=f"approval_{request_id}",
        )
    )
    await bot.settle()
    await bot.deliver()

    approver_home = said(bot.slack.homes[APPROVER])
    assert "Waiting for a decision* (0)" in approver_home
    assert request_id not in approver_home
    requester_home = said(bot.slack.homes[REQUESTER])
    assert request_id in requester_home and "Succeeded" in requester_home


async def test_a_requester_sees_own_requests_and_watches_with_their_states(bot: Bot) -> None:
    request_id = await bot.request(NOTES)
    await bot.command(f"watch key {WOODGROVE} #CNETOPS")

    home = await bot.open_home(REQUESTER)

    text = said(home)
    assert "Waiting for a decision" not in text  # a requester decides nothing
    assert "Your recent requests* (1)" in text and request_id in text
    assert "Circuits you watch* (1)" in text
    assert "key *er-woodgrove-sv* in <#CNETOPS>: Provisioned" in text

    await bot.clock.run_until(
        bot.runtime.providers["azure"].set_provisioning_state(WOODGROVE, "Deprovisioning", wait=False)
    )
    await bot.watch_round(400)
    await bot.deliver()
    assert "key *er-woodgrove-sv* in <#CNETOPS>: Deprovisioning" in said(bot.slack.homes[REQUESTER])


async def test_the_messages_tab_publishes_nothing(bot: Bot) -> None:
    await bot.event(app_home_opened_body(REQUESTER, tab="messages"))
    await bot.open_home(APPROVER)  # the messages-tab listener returns at once, before this publishes

    assert REQUESTER not in bot.slack.homes
