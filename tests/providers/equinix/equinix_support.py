"""What the Equinix tests share: the demo world's Equinix legs by what the tests use them for,
and a client on the in-process simulator for either API generation."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from pydantic import SecretStr

from circuitbot.actions.registry import Interaction
from circuitbot.bootstrap import build_runtime
from circuitbot.chat.reply import Reply
from circuitbot.chat.router import Router
from circuitbot.clock import Clock, FakeClock
from circuitbot.providers.equinix.client import EquinixClient
from circuitbot.providers.equinix.settings import EquinixSettings
from circuitbot.providers.http import RetryPolicy
from circuitbot.runtime import Runtime
from circuitbot.sandbox.equinix import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EquinixSimulator
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings
from circuitbot.store.tables import ApprovalRequest
from support.blockkit import assert_valid_block_kit
from support.poster import RecordingPoster, message_text

# The demo world's circuits (sandbox/world.py) and the Equinix connections carrying them.
FABRIKAM_KEY = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"  # SiliconValley, 1000 Mbps, PROVISIONED
FABRIKAM_PRIMARY = "006d08e2-788e-4c83-82d3-07b1787644a5"
NORTHWIND_KEY = "99973578-36f9-47f8-b12f-afa3faf02d06"  # Seattle, PROVISIONING
EUAP_NEW_KEY = "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f"  # no carrier yet: a key to order with
AZURE_PROFILE = "a1390b22-bbe0-4e93-ad37-85beef9d254d"
DEMO_PROFILE = "97d1850f-4df0-468c-9281-fa7b0dfa2096"
SEED_PORT = "c791f8cb-5a9f-a9f0-8ce0-306a5c00a4ee"  # MX, QinQ
ABSENT = "00000000-0000-4000-8000-000000000000"


def make_client(
    transport: httpx.AsyncBaseTransport | None,
    clock: Clock,
    generation: str,
    *,
    base_url: str = "https://api.equinix.com",
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    retry: RetryPolicy | None = None,
) -> EquinixClient:
    return EquinixClient(
        client_id=SecretStr(client_id),
        client_secret=SecretStr(client_secret),
        api_version=generation,  # type: ignore[arg-type]
        base_url=base_url,
        clock=clock,
        transport=transport,
        retry=retry or RetryPolicy(max_attempts=3, jitter=False, base_delay=0.1),
    )


# --- the bot on the sandbox, driven through the Router ----------------------------------------


class Surface:
    """What a front end shows: the ack, the replies and any modal opened or updated."""

    def __init__(self) -> None:
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


class Bot:
    """One runtime on the sandbox (Equinix on ``generation``), driven through the Router."""

    def __init__(self, runtime: Runtime, poster: RecordingPoster, clock: FakeClock) -> None:
        self.runtime = runtime
        self.router = Router(runtime)
        self.poster = poster
        self.clock = clock

    @property
    def sim(self) -> EquinixSimulator:
        return self.runtime.sandbox["equinix"]  # type: ignore[return-value]

    @property
    def client(self) -> EquinixClient:
        return self.runtime.providers["equinix"]  # type: ignore[return-value]

    async def command(self, text: str, user: str = "UREQ", channel: str = "CGENERAL") -> Surface:
        surface = Surface()

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
        surface = await self.command(text, user)
        return request_id_in(surface.text)

    async def approve(self, request_id: str, user: str = "UAPP1") -> Surface:
        surface = Surface()

        async def ack(reply: Reply | None) -> None:
            surface.acks.append(reply)

        interaction = Interaction(action_id="approval:approve", value=request_id, channel_id="CAPPROVALS")
        await self.clock.run_until(
            self.router.handle_action(interaction, user_id=user, surface=surface, ack=ack)
        )
        return surface

    async def submit(
        self, view: dict[str, Any], values: dict[str, Any], user: str = "UREQ"
    ) -> tuple[Any, Surface]:
        """Submit a generated modal with ``values`` (field → text or select value)."""
        state: dict[str, Any] = {}
        for block in view["blocks"]:
            if block["type"] != "input" or block["block_id"] not in values:
                continue
            kind = block["element"]["type"]
            value = values[block["block_id"]]
            entry = (
                {"type": kind, "selected_option": {"value": value}}
                if kind == "static_select"
                else {"type": kind, "value": value}
            )
            state[block["block_id"]] = {"value": entry}
        surface = Surface()
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
        sender = self.runtime.watches.sender
        for _ in range(rounds):
            await sender.run_once()
            if await sender.pending() == 0:
                return
            await self.clock.advance(1)
        raise AssertionError("the outbox did not drain")


def request_id_in(text: str) -> str:
    match = re.search(r"Request `(R[A-Z2-7]{6})` created", text)
    assert match, f"no request created: {text}"
    return match.group(1)


async def make_bot(settings: Settings, clock: FakeClock, generation: str, world: World | None = None) -> Bot:
    settings = settings.model_copy(update={"equinix": EquinixSettings(api_version=generation)})  # type: ignore[arg-type]
    runtime = await build_runtime(settings, sandbox=True, clock=clock, world=world)
    poster = RecordingPoster()
    runtime.poster = poster
    return Bot(runtime, poster, clock)


MakeBot = Callable[..., Awaitable[Bot]]
