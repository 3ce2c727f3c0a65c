"""Driving the Console Connect commands as a front end would: through the Router, against the
in-process simulator, with a FakeClock moved forward while connections and peerings change."""

from __future__ import annotations

import re
from typing import Any

from circuitbot.actions.registry import Interaction
from circuitbot.chat.reply import Reply
from circuitbot.chat.router import Router
from circuitbot.clock import FakeClock
from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
from circuitbot.runtime import Runtime
from circuitbot.sandbox.consoleconnect import ConsoleConnectSimulator
from circuitbot.store.tables import ApprovalRequest
from support.http import Recorder
from support.poster import RecordingPoster, message_text

# The demo world's Console Connect legs (sandbox/world.py) and keys, by what the tests use them for.
CONTOSO = "507f1f77bcf86cd799439011"  # ACTIVE, PRIVATE peering SYNCED (with a shared key)
WOODGROVE = "5f1e2d3c4b5a69788796a5b4"  # ACTIVE, MICROSOFT peering SYNCED
TAILSPIN = "60a1b2c3d4e5f60718293a4b"  # DELETING / DEPROVISIONING
NEW_KEY = "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f"  # EUAP Test, 200 Mbps, awaiting a provider
USED_KEY = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"  # Contoso's, carried already
UNKNOWN_KEY = "00000000-0000-4000-8000-000000000000"
PORT_A, PORT_B = "5b456eda852dad001a8cf2cd", "5b456eda852dad001a8cf2ce"  # Acme's DC2 ports
SEEDED_SHARED_KEY = "A1B2C3D4"
CREATE = f"cc create {NEW_KEY} name=Contoso-DC port-a={PORT_A} port-b={PORT_B} speed=200"


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
    def sim(self) -> ConsoleConnectSimulator:
        return self.runtime.sandbox["consoleconnect"]

    @property
    def client(self) -> ConsoleConnectClient:
        return self.runtime.providers["consoleconnect"]

    async def command(self, text: str, user: str = "UREQ", channel: str = "CGENERAL") -> RecordingSurface:
        surface = RecordingSurface(user, channel)

        async def ack(reply: Reply | None) -> None:
            surface.acks.append(reply)

        await self.clock.run_until(
            self.router.handle_command(text, user_id=user, channel_id=channel, surface=surface, ack=ack)
        )
        assert len(surface.acks) == 1, "the router acks exactly once"
        return surface

    async def request(self, text: str, user: str = "UREQ") -> str:
        surface = await self.command(text, user)
        match = re.search(r"Request `(R[A-Z2-7]{6})` created", surface.text)
        assert match, f"no request created: {surface.text}"
        return match.group(1)

    async def approve(self, request_id: str, user: str = "UAPP1") -> RecordingSurface:
        surface = RecordingSurface(user, "CAPPROVALS")

        async def ack(reply: Reply | None) -> None:
            surface.acks.append(reply)

        interaction = Interaction(action_id="approval:approve", value=request_id, channel_id="CAPPROVALS")
        await self.clock.run_until(
            self.router.handle_action(interaction, user_id=user, surface=surface, ack=ack)
        )
        return surface

    async def submit(
        self, view: dict[str, Any], values: dict[str, str], user: str = "UREQ"
    ) -> tuple[dict[str, str] | None, RecordingSurface]:
        """Submit a generated modal with ``values`` (field → text or select value)."""
        state: dict[str, Any] = {}
        for block in view["blocks"]:
            if block["type"] != "input" or block["block_id"] not in values:
                continue
            kind, value = block["element"]["type"], values[block["block_id"]]
            chosen = {"selected_option": {"value": value}} if kind == "static_select" else {"value": value}
            state[block["block_id"]] = {"value": {"type": kind, **chosen}}
        surface = RecordingSurface(user)
        acked: list[dict[str, str] | None] = []

        async def ack_errors(errors: dict[str, str] | None) -> None:
            acked.append(errors)

        submitted = dict(view, state={"values": state})
        await self.clock.run_until(
            self.router.handle_view(submitted, user_id=user, surface=surface, ack_errors=ack_errors)
        )
        assert len(acked) == 1
        return acked[0], surface

    async def row(self, request_id: str) -> ApprovalRequest:
        row, _ = await self.runtime.approvals.load(request_id)
        assert row is not None
        return row

    def thread_text(self, row: ApprovalRequest) -> str:
        return "\n".join(message_text(r) for r in self.poster.thread(row.approvals_ts))

    async def deliver(self, rounds: int = 200) -> None:
        """Send every pending watch message, moving the clock past Slack's per-channel pacing."""
        sender = self.runtime.watches.sender
        for _ in range(rounds):
            await sender.run_once()
            if await sender.pending() == 0:
                return
            await self.clock.advance(1)
        raise AssertionError("the outbox did not drain")

    async def poll(self, seconds: float) -> None:
        """Let ``seconds`` pass, then run one watch tick and deliver what it owes."""
        await self.clock.advance(seconds)
        await self.clock.run_until(self.runtime.watches.tick())
        await self.deliver()
