"""The Equinix commands through Slack: signed requests into the Bolt app, the fake Slack Web
API on loopback, and the Equinix sandbox in-process; the FakeClock moves while Equinix works."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
from equinix_support import AZURE_PROFILE, EUAP_NEW_KEY, FABRIKAM_PRIMARY, SEED_PORT
from slack_bolt.response import BoltResponse

from circuitbot.chat import modals
from circuitbot.clock import FakeClock
from circuitbot.testing.payloads import view_submission_body
from support.slack_bot import APPROVALS, SlackBot, running_bot


class Bot(SlackBot):
    async def command(self, text: str, user: str = "UREQ") -> BoltResponse:
        return await self.slash(text, user)

    async def approve_the_request(self) -> dict:
        [message] = self.slack.messages(APPROVALS)
        return await self.approve(re.search(r"R[A-Z2-7]{6}", message["text"]).group(0))


@pytest.fixture(params=["v4", "v3"])
async def bot(request, tmp_path, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running_bot(Bot, tmp_path, clock, equinix={"api_version": request.param}) as bot:
        yield bot


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("eqx ports", "testSeller-MX2-NL-Qinq-BO-PRI-10G-JN-423"),
        ("eqx metros", "*AM* Amsterdam"),
        (f"eqx price {SEED_PORT} SV 1000", "1,280.00"),
        ("eqx profiles DC", "Azure Express Route"),
        (f"eqx profile {AZURE_PROFILE}", "redundancy required: *yes*"),
        (f"eqx validate {EUAP_NEW_KEY} DC {AZURE_PROFILE} AMER", "Authorization key provided is valid"),
        ("eqx connections metro=SV", "Fabrikam-SV-ER-PRI"),
        (f"eqx show {FABRIKAM_PRIMARY}", "Equinix connection Fabrikam-SV-ER-PRI"),
        (f"eqx stats {SEED_PORT} 2026-12-01 2026-12-02", "Traffic of port"),
    ],
)
async def test_each_read_acks_at_once_then_answers(bot: Bot, text: str, expected: str) -> None:
    response = await bot.command(text)
    assert "working on `eqx" in json.loads(response.body)["text"]
    await bot.settle()
    [answer] = bot.slack.ephemerals(user="UREQ")
    assert expected in json.dumps(answer["blocks"], ensure_ascii=False)
    assert len(answer["blocks"]) <= 50


async def test_a_delete_through_slack_is_approved_and_watched_in_the_thread(bot: Bot) -> None:
    await bot.command(f"eqx delete {FABRIKAM_PRIMARY}")
    await bot.settle()
    [card] = bot.slack.messages("CAPPROVALS")
    assert "Fabrikam-SV-ER-PRI" in json.dumps(card["blocks"])

    edited = await bot.approve_the_request()

    assert edited["text"].endswith("succeeded")
    thread = json.dumps(bot.slack.thread("CAPPROVALS", edited["ts"]), ensure_ascii=False)
    assert "Deleting Fabrikam-SV-ER-PRI" in thread
    [watch] = await bot.runtime.watches.list_watches()
    assert (watch.channel, watch.thread_ts, watch.resource_id) == (
        "CAPPROVALS",
        edited["ts"],
        FABRIKAM_PRIMARY,
    )


async def test_create_opens_a_modal_whose_submission_is_approved_and_ordered(bot: Bot) -> None:
    await bot.command("eqx create")
    [opened] = await bot.slack.wait_for("views.open")
    [updated] = await bot.slack.wait_for("views.update")
    assert opened.args["view"]["callback_id"] == modals.CALLBACK_ID
    blocks = updated.args["view"]["blocks"]
    port_options = next(b for b in blocks if b.get("block_id") == "port")["element"]["options"]
    dc = [o["value"] for o in port_options if " · DC · " in o["text"]["text"]]
    assert len(dc) == 2

    def text(value: str) -> dict:
        return {"value": {"type": "plain_text_input", "value": value}}

    def select(value: str) -> dict:
        return {"value": {"type": "static_select", "selected_option": {"value": value}}}

    values = {
        "name": text("Contoso-DC-ER"),
        "port": select(dc[0]),
        "vlan": {"value": {"type": "number_input", "value": "901"}},
        "profile": select(AZURE_PROFILE),
        "metro": select("DC"),
        "speed": {"value": {"type": "number_input", "value": "200"}},
        "key": text(EUAP_NEW_KEY),
        "peering": select("PRIVATE"),
        "notifications": text("noc@contoso.example"),
        "secondary_port": select(dc[1]),
        "secondary_vlan": {"value": {"type": "number_input", "value": "902"}},
    }
    body = view_submission_body(
        modals.CALLBACK_ID,
        values,
        "UREQ",
        private_metadata=opened.args["view"]["private_metadata"],
        blocks=blocks,
    )
    response = await bot.send(body)
    assert response.body in ("", None) or "errors" not in response.body
    await bot.settle()
    [card] = bot.slack.messages("CAPPROVALS")
    assert "order Equinix connection Contoso-DC-ER" in json.dumps(card, ensure_ascii=False)

    edited = await bot.approve_the_request()

    assert edited["text"].endswith("succeeded")
    sim = bot.runtime.sandbox["equinix"]
    made = sorted(c.name for c in sim.state.connections.values() if c.name.startswith("Contoso"))
    assert made == ["Contoso-DC-ER", "Contoso-DC-ER-SEC"]
