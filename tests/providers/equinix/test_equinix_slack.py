"""The Equinix commands through Slack: signed requests into the Bolt app, the fake Slack Web
API on loopback, and the Equinix sandbox in-process; the FakeClock moves while Equinix works."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from equinix_support import AZURE_PROFILE, EUAP_NEW_KEY, FABRIKAM_PRIMARY, SEED_PORT
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from circuitbot.bootstrap import build_runtime
from circuitbot.chat import modals
from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.server import attach_slack
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import (
    block_action_body,
    signed_request_headers,
    slash_command_body,
    view_submission_body,
)

SIGNING_SECRET = "equinix-signing-secret"
BOT_TOKEN = "xoxb-equinix-test"


@dataclass
class Bot:
    app: AsyncApp
    slack: FakeSlack
    runtime: Runtime
    work: BackgroundWork
    clock: FakeClock

    async def send(self, body: str) -> BoltResponse:
        headers = signed_request_headers(SIGNING_SECRET, body)
        response = await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert response.status == 200, response.body
        return response

    async def settle(self, rounds: int = 2000) -> None:
        for _ in range(rounds):
            if await self.work.drain(timeout=0.02):
                return
            if self.clock.sleepers:
                await self.clock.advance(1)
        raise AssertionError("listeners still running")

    async def command(self, text: str, user: str = "UREQ") -> BoltResponse:
        return await self.send(
            slash_command_body(
                text,
                user_id=user,
                channel_id="CGENERAL",
                response_url=self.slack.response_url(channel="CGENERAL", user=user),
                trigger_id=f"trigger-{time.monotonic_ns()}",
            )
        )

    async def approve_the_request(self) -> dict:
        [message] = self.slack.messages("CAPPROVALS")
        request_id = re.search(r"R[A-Z2-7]{6}", message["text"]).group(0)
        await self.send(
            block_action_body(
                "approval:approve",
                request_id,
                "UAPP1",
                "CAPPROVALS",
                message["ts"],
                self.slack.response_url(channel="CAPPROVALS", user="UAPP1"),
                f"trigger-{time.monotonic_ns()}",
                block_id=f"approval_{request_id}",
                message=message,
            )
        )
        await self.settle()
        return self.slack.message("CAPPROVALS", message["ts"])


@pytest.fixture(params=["v4", "v3"])
async def bot(request, tmp_path, clock: FakeClock) -> AsyncIterator[Bot]:
    slack = FakeSlack()
    async with slack.serve() as api_url:
        settings = Settings(
            data_dir=tmp_path,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=api_url,
            requesters=["UREQ", "UAPP1"],
            approvers=["UAPP1"],
            approvals_channel="CAPPROVALS",
            equinix={"api_version": request.param},
        )
        runtime = await build_runtime(settings, sandbox=True, clock=clock)
        work = BackgroundWork()
        app = attach_slack(runtime, settings, work=work)
        try:
            yield Bot(app, slack, runtime, work, clock)
        finally:
            assert await work.drain(timeout=30)
            await runtime.close()


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
