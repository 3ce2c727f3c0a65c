"""Driving the Azure commands as a front end would: through the Router, against the in-process
ARM simulator, with a FakeClock moved forward while long-running operations wait."""

from __future__ import annotations

import re
from typing import Any

from circuitbot.actions.registry import Interaction
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.chat.router import Router
from circuitbot.clock import FakeClock
from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.runtime import Runtime
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.store.tables import ApprovalRequest
from support.http import Recorder
from support.poster import RecordingPoster, message_text

# The demo world's circuits (sandbox/world.py), named after what the tests use them for.
FABRIKAM = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"  # SiliconValley, 1000 Mbps on bvtazureixpportpair1
WOODGROVE = "cccc2c2c-dd3d-ee4e-ff5f-aaaaaa6a6a6a"  # SiliconValley, 1000 Mbps on pair3, Microsoft peering
EUAP_PROVISIONED = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"  # EUAP Test, private peering with a shared key
EUAP_NEW = "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f"  # EUAP Test, NotProvisioned, no peerings
NORTHWIND = "99973578-36f9-47f8-b12f-afa3faf02d06"  # Seattle, Provisioning
SEEDED_SHARED_KEY = "A1B2C3D4"


async def deliver(harness: Harness, *, rounds: int = 200) -> None:
    """Send every pending watch message, moving the clock past Slack's per-channel pacing."""
    sender = harness.runtime.watches.sender
    for _ in range(rounds):
        await sender.run_once()
        if await sender.pending() == 0:
            return
        await harness.clock.advance(1)
    raise AssertionError("the outbox did not drain")


def assert_within_slack_limits(reply: Reply) -> None:
    assert len(reply.blocks) <= bk.MAX_BLOCKS
    for block in reply.blocks:
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= bk.MAX_SECTION_TEXT
            assert len(block.get("fields", [])) <= bk.MAX_FIELDS
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= bk.MAX_HEADER_TEXT
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element.get("value", "")) <= bk.MAX_BUTTON_VALUE


class RecordingSurface:
    def __init__(self, user_id: str, channel_id: str = "CGENERAL") -> None:
        self.user_id = user_id
        self.channel_id = channel_id
        self.acks: list[Reply | None] = []
        self.replies: list[Reply] = []
        self.modals: list[dict[str, Any]] = []
        self.updated_modals: list[dict[str, Any]] = []

    async def reply(self, reply: Reply) -> None:
        self.replies.append(reply)

    async def open_modal(self, view: dict[str, Any]) -> str:
        self.modals.append(view)
        return f"V{len(self.modals)}"

    async def update_modal(self, view_id: str, view: dict[str, Any]) -> None:
        self.updated_modals.append(view)

    @property
    def ack(self) -> Reply | None:
        return self.acks[0] if self.acks else None

    @property
    def last(self) -> Reply:
        assert self.replies, f"no reply after the ack ({self.ack})"
        return self.replies[-1]

    @property
    def text(self) -> str:
        shown = [r for r in self.acks if r is not None] + self.replies
        return "\n".join(message_text(r) for r in shown)


class Harness:
    """One runtime on the sandbox, driven through the Router with a FakeClock."""

    def __init__(
        self, runtime: Runtime, poster: RecordingPoster, clock: FakeClock, recorder: Recorder
    ) -> None:
        self.runtime = runtime
        self.router = Router(runtime)
        self.poster = poster
        self.clock = clock
        self.recorder = recorder

    @property
    def sim(self) -> AzureSimulator:
        return self.runtime.sandbox["azure"]

    @property
    def client(self) -> AzurePartnerClient:
        return self.runtime.providers["azure"]

    async def command(self, text: str, user: str = "UREQ", channel: str = "CGENERAL") -> RecordingSurface:
        surface = RecordingSurface(user, channel)

        async def ack(reply: Reply | None) -> None:
            surface.acks.append(reply)

        await self.clock.run_until(
            self.router.handle_command(text, user_id=user, channel_id=channel, surface=surface, ack=ack),
        )
        assert len(surface.acks) == 1, "the router acks exactly once"
        return surface

    async def request(self, text: str, user: str = "UREQ") -> str:
        surface = await self.command(text, user)
        match = re.search(r"Request `(R[A-Z2-7]{6})` created", surface.text)
        assert match, f"no request created: {surface.text}"
        return match.group(1)

    async def click(
        self, action_id: str, value: str, user: str, channel: str = "CAPPROVALS"
    ) -> RecordingSurface:
        surface = RecordingSurface(user, channel)

        async def ack(reply: Reply | None) -> None:
            surface.acks.append(reply)

        interaction = Interaction(action_id=action_id, value=value, channel_id=channel, trigger_id="T1")
        await self.clock.run_until(
            self.router.handle_action(interaction, user_id=user, surface=surface, ack=ack)
        )
        return surface

    async def approve(self, request_id: str, user: str = "UAPP1") -> RecordingSurface:
        return await self.click("approval:approve", request_id, user)

    async def submit(
        self, view: dict[str, Any], values: dict[str, Any], user: str = "UREQ"
    ) -> tuple[dict[str, str] | None, RecordingSurface]:
        """Submit a generated modal with ``values`` (field → text or select value)."""
        state: dict[str, Any] = {}
        for block in view["blocks"]:
            if block["type"] != "input" or block["block_id"] not in values:
                continue
            kind = block["element"]["type"]
            value = values[block["block_id"]]
            if kind == "static_select":
                state[block["block_id"]] = {"value": {"type": kind, "selected_option": {"value": value}}}
            else:
                state[block["block_id"]] = {"value": {"type": kind, "value": value}}
        surface = RecordingSurface(user)
        acked: list[dict[str, str] | None] = []

        async def ack_errors(errors: dict[str, str] | None) -> None:
            acked.append(errors)

        submitted = dict(view, state={"values": state})
        await self.clock.run_until(
            self.router.handle_view(submitted, user_id=user, surface=surface, ack_errors=ack_errors),
        )
        assert len(acked) == 1
        return acked[0], surface

    async def row(self, request_id: str) -> ApprovalRequest:
        row, _ = await self.runtime.approvals.load(request_id)
        assert row is not None
        return row

    def approval_message(self, row: ApprovalRequest) -> Reply:
        return self.poster.latest(row.approvals_ts)

    def thread_text(self, row: ApprovalRequest) -> str:
        return "\n".join(message_text(r) for r in self.poster.thread(row.approvals_ts))
