"""Driving the Alibaba commands through Slack: the Bolt app fed signed requests, the fake Slack
Web API on loopback, the sandbox simulator in-process, and a FakeClock moved while changes run."""

from __future__ import annotations

import json
from typing import Any

from circuitbot.sandbox.alibaba import AlibabaSimulator
from circuitbot.testing.payloads import view_submission_body
from support.slack_bot import APPROVALS, SlackBot


class Bot(SlackBot):
    @property
    def sim(self) -> AlibabaSimulator:
        return self.runtime.sandbox["alibaba"]

    async def command(self, text: str, user: str = "UREQ") -> str:  # type: ignore[override]
        """Run a slash command to its end; everything told to ``user`` since, as one text."""
        before = len(self.slack.ephemerals(user=user))
        await self.slash(text, user)
        await self.settle()
        told = self.slack.ephemerals(user=user)[before:]
        return "\n".join(e["text"] + json.dumps(e.get("blocks", []), ensure_ascii=False) for e in told)

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
        """Time passes (a fast poll and more, by default), the watch engine polls, the outbox delivers."""
        await super().watch_round(seconds)

    def thread(self, request_id: str) -> str:
        message = self.card(request_id)
        return json.dumps(self.slack.thread(APPROVALS, message["ts"]), ensure_ascii=False)
