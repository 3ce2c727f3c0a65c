"""Driving the Alibaba commands through Slack: the Bolt app fed signed requests, the fake Slack
Web API on loopback, the sandbox simulator in-process, and a FakeClock moved while changes run."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from circuitbot.sandbox.alibaba import AlibabaSimulator
from circuitbot.slack.app import BackgroundWork
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import (
    block_action_body,
    signed_request_headers,
    slash_command_body,
    view_submission_body,
)

SIGNING_SECRET = "alibaba-signing-secret"
BOT_TOKEN = "xoxb-alibaba-test"
REQUEST = re.compile(r"Request `(R[A-Z2-7]{6})` created")


@dataclass
class Bot:
    app: AsyncApp
    slack: FakeSlack
    runtime: Runtime
    work: BackgroundWork
    clock: FakeClock

    @property
    def sim(self) -> AlibabaSimulator:
        return self.runtime.sandbox["alibaba"]

    async def send(self, body: str) -> BoltResponse:
        headers = signed_request_headers(SIGNING_SECRET, body)
        response = await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert response.status == 200, response.body
        return response

    async def settle(self, rounds: int = 3000) -> None:
        """Let the listeners finish, moving the fake clock while they wait on Alibaba."""
        for _ in range(rounds):
            if await self.work.drain(timeout=0.02):
                return
            if self.clock.sleepers:
                await self.clock.advance(1)
        raise AssertionError("listeners still running")

    async def command(self, text: str, user: str = "UREQ") -> str:
        """Run a slash command to its end; everything told to ``user`` since, as one text."""
        before = len(self.slack.ephemerals(user=user))
        await self.send(
            slash_command_body(
                text,
                user_id=user,
                channel_id="CGENERAL",
                response_url=self.slack.response_url(channel="CGENERAL", user=user),
                trigger_id=f"trigger-{time.monotonic_ns()}",
            )
        )
        await self.settle()
        told = self.slack.ephemerals(user=user)[before:]
        return "\n".join(e["text"] + json.dumps(e.get("blocks", []), ensure_ascii=False) for e in told)

    async def request(self, text: str) -> str:
        said = await self.command(text)
        match = REQUEST.search(said)
        assert match, f"no request created: {said}"
        return match.group(1)

    def card(self, request_id: str) -> dict[str, Any]:
        cards = [
            m
            for m in self.slack.messages("CAPPROVALS")
            if request_id in m["text"] and m.get("thread_ts") in (None, m["ts"])
        ]
        return cards[0]

    async def approve(self, request_id: str, user: str = "UAPP1") -> dict[str, Any]:
        message = self.card(request_id)
        await self.send(
            block_action_body(
                "approval:approve",
                request_id,
                user,
                "CAPPROVALS",
                message["ts"],
                self.slack.response_url(channel="CAPPROVALS", user=user),
                f"trigger-{time.monotonic_ns()}",
                block_id=f"approval_{request_id}",
                message=message,
            )
        )
        await self.settle()
        return self.slack.message("CAPPROVALS", message["ts"])

    def opened_view(self) -> dict[str, Any]:
        return self.slack.calls_to("views.open")[-1].args["view"]

    async def submit(self, values: dict[str, str], user: str = "UREQ") -> dict[str, Any]:
        """Submit the last opened modal with ``values`` (field → text or select value); the ack's body."""
        view = self.opened_view()
        selects = {
            b["block_id"] for b in view["blocks"] if b.get("element", {}).get("type") == "static_select"
        }
        state = {
            name: {
                "value": {"type": "static_select", "selected_option": {"value": value}}
                if name in selects
                else {"type": "plain_text_input", "value": value}
            }
            for name, value in values.items()
        }
        response = await self.send(
            view_submission_body("circuit_op", state, user, view["private_metadata"], blocks=view["blocks"])
        )
        await self.settle()
        return json.loads(response.body) if response.body else {}

    async def watch_round(self, seconds: float = 16.0) -> None:
        """Time passes, the watch engine polls, the outbox delivers."""
        await self.clock.advance(seconds)
        await self.clock.run_until(self.runtime.watches.tick())
        sender = self.runtime.watches.sender
        for _ in range(50):
            await self.clock.run_until(sender.run_once())
            if await sender.pending() == 0:
                return
            await self.clock.advance(1)

    def thread(self, request_id: str) -> str:
        message = self.card(request_id)
        return json.dumps(self.slack.thread("CAPPROVALS", message["ts"]), ensure_ascii=False)
