"""Test-only operations and a test provider for driving the real Bolt app."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import Field
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from circuitbot.actions.registry import (
    Interaction,
    OpContext,
    Operation,
    Params,
    Preview,
    Registry,
    Role,
)
from circuitbot.bootstrap import build_registry
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.providers.base import Snapshot
from circuitbot.slack.server import EVENTS_PATH
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import signed_request_headers, slash_command_body

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-bot-token"
CHANNEL = "C0OPS"
USER = "U0ALICE"
ADMIN = "U0ADMIN"
ADMIN_GROUP = "S0ADMINS"


ROWS = [f"row-{n:02d}" for n in range(1, 31)]
PER_PAGE = 10
PORTS = [("Port A (primary)", "port-a"), ("Port B (secondary)", "port-b")]


class FakeProvider:
    """What the test operations talk to: a gate the slow one waits on, and what was clicked."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.slow_started = asyncio.Event()
        self.clicks: list[tuple[str, Interaction]] = []


class SteadyPoller:
    """A provider whose every resource reads Succeeded, so watches can start."""

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]:
        return {rid: {"provisioningState": "Succeeded"} for rid in resource_ids}

    async def snapshot_one(self, resource_id: str) -> Snapshot | None:
        return {"provisioningState": "Succeeded"}

    def describe(self, resource_id: str, snapshot: Snapshot | None) -> str:
        return f"circuit-{resource_id}"


class NoArgs(Params):
    pass


class Paged(Params):
    pass


class Move(Params):
    positional = ("port",)
    port: str = Field(description="target port")
    vlan: int = Field(ge=1, le=4094, description="VLAN id")


async def slow_execute(ctx: OpContext, params: NoArgs) -> str:
    provider: FakeProvider = ctx.provider("test")
    provider.slow_started.set()
    await provider.gate.wait()
    return "slow result is in"


async def pages_execute(ctx: OpContext, params: Paged) -> list[str]:
    return ROWS


def pages_render(rows: list[str], params: Paged, ctx: OpContext) -> Reply:
    shown, page, pages = bk.paginate(rows, params.page, PER_PAGE)
    blocks = [bk.section(f"page {page} of {pages}: " + ", ".join(shown))]
    buttons = bk.page_buttons(ctx.command_text, page, pages)
    if buttons:
        blocks.append(buttons)
    return Reply(text=f"page {page} of {pages}: {shown[0]} … {shown[-1]}", blocks=blocks)


async def secret_execute(ctx: OpContext, params: NoArgs) -> str:
    return "the admin-only answer"


async def move_preview(ctx: OpContext, params: Move) -> Preview:
    return Preview(summary=f"move to {params.port}", changes=[("port", None, params.port)])


async def move_choices(ctx: OpContext, data: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {"port": PORTS}


async def never_executed(ctx: OpContext, params: Params) -> None:
    raise AssertionError("mutations run only through approvals")


async def on_click(ctx: OpContext, interaction: Interaction) -> None:
    provider: FakeProvider = ctx.provider("test")
    provider.clicks.append((ctx.caller.user_id, interaction))
    assert ctx.surface is not None
    await ctx.surface.reply(Reply.plain(f"clicked {interaction.value}"))


def build_test_registry() -> Registry:
    """The bot's own registry plus the test-only operations."""
    registry = build_registry()
    registry.add(
        Operation(
            provider="test",
            verb="slow",
            summary="a slow read",
            params=NoArgs,
            execute=slow_execute,
            slow=True,
        )
    )
    registry.add(
        Operation(
            provider="test",
            verb="pages",
            summary="thirty rows, ten a page",
            params=Paged,
            execute=pages_execute,
            render=pages_render,
        )
    )
    registry.add(
        Operation(
            provider="test",
            verb="secret",
            summary="for admins only",
            params=NoArgs,
            execute=secret_execute,
            role=Role.ADMIN,
        )
    )
    registry.add(
        Operation(
            provider="test",
            verb="move",
            summary="move a circuit to another port",
            params=Move,
            execute=never_executed,
            preview=move_preview,
            choices=move_choices,
            mutating=True,
        )
    )
    registry.on_action("test_click", on_click)
    return registry


async def dispatch(
    app: AsyncApp, body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> BoltResponse:
    """Send a body to the Bolt app as Slack would over HTTP: signed, with its timestamp."""
    headers = signed_request_headers(secret, body, timestamp=timestamp)
    return await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))


def command_body(
    fake_slack: FakeSlack,
    text: str,
    *,
    user: str = USER,
    channel: str = CHANNEL,
    trigger_id: str | None = None,
) -> str:
    return slash_command_body(
        text,
        user_id=user,
        channel_id=channel,
        response_url=fake_slack.response_url(channel=channel, user=user),
        trigger_id=trigger_id or f"trigger-{time.monotonic_ns()}",
    )


def body_json(response: BoltResponse) -> dict[str, Any]:
    return json.loads(response.body) if response.body else {}


async def post_signed(
    http: httpx.AsyncClient, body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> httpx.Response:
    """Post a body to Slack's request URL over HTTP, signed as Slack would."""
    headers = signed_request_headers(secret, body, timestamp=timestamp)
    return await http.post(EVENTS_PATH, content=body.encode(), headers=headers)
