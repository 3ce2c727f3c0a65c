"""Driving a provider's commands as a front end would: through the Router, against the sandbox
simulators in-process, with a FakeClock moved forward while changes wait. Provider tests subclass
``RouterHarness`` for their simulator and client; ``recording_transports`` lets a test see the
requests a client sent."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from circuitbot.actions.registry import Interaction
from circuitbot.bootstrap import build_runtime
from circuitbot.chat.reply import Reply
from circuitbot.chat.router import Router
from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from circuitbot.sandbox.base import Simulator
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings
from circuitbot.store.tables import ApprovalRequest
from support.blockkit import assert_valid_block_kit
from support.http import Recorder
from support.poster import RecordingPoster, message_text

REQUEST = re.compile(r"Request `(R[A-Z2-7]{6})` created")


class RecordingSurface:
    """Where a command's ack and replies land, and the modals it opens."""

    def __init__(self, user_id: str = "UREQ", channel_id: str = "CGENERAL") -> None:
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


class RouterHarness:
    """One runtime on the sandbox, driven through the Router with a FakeClock."""

    def __init__(
        self, runtime: Runtime, poster: RecordingPoster, clock: FakeClock, recorder: Recorder | None = None
    ) -> None:
        self.runtime = runtime
        self.router = Router(runtime)
        self.poster = poster
        self.clock = clock
        self.recorder = recorder

    async def command(self, text: str, user: str = "UREQ", channel: str = "CGENERAL") -> RecordingSurface:
        surface = RecordingSurface(user, channel)

        async def ack(reply: Reply | None) -> None:
            surface.acks.append(reply)

        await self.clock.run_until(
            self.router.handle_command(text, user_id=user, channel_id=channel, surface=surface, ack=ack)
        )
        assert len(surface.acks) == 1, "the router acks exactly once"
        for reply in [r for r in surface.acks if r is not None] + surface.replies:
            assert_valid_block_kit(reply)
        return surface

    async def request(self, text: str, user: str = "UREQ") -> str:
        """A mutating command run to its approval request; the request's id."""
        surface = await self.command(text, user)
        match = REQUEST.search(surface.text)
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
        """Submit a generated modal with ``values`` (field → text or select value); the field
        errors its ack carried (None: accepted) and where the rest was said."""
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

    def approval_message(self, row: ApprovalRequest) -> Reply:
        return self.poster.latest(row.approvals_ts)

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


def recording_transports(monkeypatch: pytest.MonkeyPatch, simulator: type[Simulator]) -> list[Recorder]:
    """Each transport ``simulator`` hands out from now on, wrapped so the test sees the requests
    the client sent; in the order they were made."""
    made: list[Recorder] = []
    original = simulator.transport

    def recording(self: Simulator) -> Recorder:
        recorder = Recorder(original(self))
        made.append(recorder)
        return recorder

    monkeypatch.setattr(simulator, "transport", recording)
    return made


H = TypeVar("H", bound=RouterHarness)


@contextlib.asynccontextmanager
async def harness_maker(
    kind: type[H], settings: Settings, clock: FakeClock, recorders: list[Recorder]
) -> AsyncIterator[Callable[..., Awaitable[H]]]:
    """Makes ``kind`` harnesses on the sandbox (another world or settings when given), each with
    a recording poster and the transport recorder it was built with; their runtimes close on exit."""
    runtimes: list[Runtime] = []

    async def make(world: World | None = None, settings_: Settings | None = None) -> H:
        runtime = await build_runtime(settings_ or settings, sandbox=True, clock=clock, world=world)
        runtimes.append(runtime)
        poster = RecordingPoster()
        runtime.poster = poster
        return kind(runtime, poster, clock, recorders[-1])

    try:
        yield make
    finally:
        for runtime in runtimes:
            await runtime.close()
