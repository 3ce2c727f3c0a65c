"""The bot on the sandbox behind the real Bolt app, driven as Slack drives it: signed requests in,
the fake Slack Web API on loopback recording what the bot says, the FakeClock moved while the work
behind an ack waits on a provider. Provider Slack-path tests share it (subclassing ``SlackBot`` for
what is their own)."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.server import attach_slack
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import block_action_body, signed_request_headers, slash_command_body

SIGNING_SECRET = "sandbox-signing-secret"
BOT_TOKEN = "xoxb-sandbox-test"
APPROVALS = "CAPPROVALS"
REQUESTER, APPROVER = "UREQ", "UAPP1"
REQUEST = re.compile(r"Request `(R[A-Z2-7]{6})` created")

B = TypeVar("B", bound="SlackBot")


@dataclass
class SlackBot:
    app: AsyncApp
    slack: FakeSlack
    runtime: Runtime
    work: BackgroundWork
    clock: FakeClock

    async def send(self, body: str, content_type: str = "application/x-www-form-urlencoded") -> BoltResponse:
        """A body as Slack sends it (an event as JSON), signed; Bolt must answer 200."""
        headers = signed_request_headers(SIGNING_SECRET, body, content_type=content_type)
        response = await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert response.status == 200, response.body
        return response

    async def settle(self, rounds: int = 3000) -> None:
        """Let the listeners finish, moving the fake clock while they wait on a provider."""
        for _ in range(rounds):
            if await self.work.drain(timeout=0.02):
                return
            if self.clock.sleepers:
                await self.clock.advance(1)
        raise AssertionError("listeners still running")

    async def slash(self, text: str, user: str = REQUESTER, channel: str = "CGENERAL") -> BoltResponse:
        """``/circuit text`` sent; the ack as Bolt answered it (the work behind it may still run)."""
        return await self.send(
            slash_command_body(
                text,
                user_id=user,
                channel_id=channel,
                response_url=self.slack.response_url(channel=channel, user=user),
                trigger_id=f"trigger-{time.monotonic_ns()}",
            )
        )

    def told(self, user: str = REQUESTER) -> str:
        """Everything told to ``user`` only, as one JSON text."""
        return json.dumps(self.slack.ephemerals(user=user), ensure_ascii=False)

    async def request(self, text: str, user: str = REQUESTER) -> str:
        """A mutating command run to its approval request; the request's id."""
        before = len(self.slack.ephemerals(user=user))
        await self.slash(text, user)
        await self.settle()
        said = json.dumps(self.slack.ephemerals(user=user)[before:], ensure_ascii=False)
        found = REQUEST.search(said)
        assert found, f"no request created: {said}"
        return found.group(1)

    def card(self, request_id: str) -> dict[str, Any]:
        """The request's approval card in the approvals channel."""
        [card] = [
            m
            for m in self.slack.messages(APPROVALS)
            if request_id in m["text"] and m.get("thread_ts") in (None, m["ts"])
        ]
        return card

    async def approve(self, request_id: str, user: str = APPROVER) -> dict[str, Any]:
        """Approve on the card and let the change run; the card as it then stands."""
        card = self.card(request_id)
        await self.send(
            block_action_body(
                "approval:approve",
                request_id,
                user,
                APPROVALS,
                card["ts"],
                self.slack.response_url(channel=APPROVALS, user=user),
                f"trigger-{time.monotonic_ns()}",
                block_id=f"approval_{request_id}",
                message=card,
            )
        )
        await self.settle()
        return self.slack.message(APPROVALS, card["ts"])

    async def watch_round(self, seconds: float) -> None:
        """``seconds`` pass; the watch engine polls once and Slack gets what it owes."""
        await self.clock.advance(seconds)
        await self.clock.run_until(self.runtime.watches.tick())
        sender = self.runtime.watches.sender
        for _ in range(100):
            await self.clock.run_until(sender.run_once())
            if await sender.pending() == 0:
                return
            await self.clock.advance(1)


@contextlib.asynccontextmanager
async def running_bot(kind: type[B], tmp_path: Path, clock: FakeClock, **settings: Any) -> AsyncIterator[B]:
    """A ``kind`` of bot on the sandbox: UREQ requests, UAPP1 approves in CAPPROVALS (``settings``
    adds or replaces settings). On exit, every listener must have finished."""
    slack = FakeSlack()
    async with slack.serve() as api_url:
        values: dict[str, Any] = {
            "data_dir": tmp_path,
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": api_url,
            "requesters": [REQUESTER, APPROVER],
            "approvers": [APPROVER],
            "approvals_channel": APPROVALS,
            **settings,
        }
        runtime = await build_runtime(Settings(**values), sandbox=True, clock=clock)
        work = BackgroundWork()
        app = attach_slack(runtime, runtime.settings, work=work)
        try:
            yield kind(app, slack, runtime, work, clock)
        finally:
            assert await work.drain(timeout=30)
            await runtime.close()
