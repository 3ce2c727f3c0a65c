"""Test-only operations, a recording surface and a recording ack for the command layer tests."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr

from circuitbot.actions.registry import Operation, OperationError, Params, Preview, Registry
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply


class RecordingSurface:
    def __init__(self, user_id: str = "UREQ", channel_id: str = "CGENERAL") -> None:
        self.user_id = user_id
        self.channel_id = channel_id
        self.replies: list[Reply] = []
        self.modals: list[dict[str, Any]] = []
        self.updates: list[tuple[str, dict[str, Any]]] = []

    async def reply(self, reply: Reply) -> None:
        self.replies.append(reply)

    async def open_modal(self, view: dict[str, Any]) -> str:
        self.modals.append(view)
        return f"V{len(self.modals)}"

    async def update_modal(self, view_id: str, view: dict[str, Any]) -> None:
        self.updates.append((view_id, view))


class Acks:
    def __init__(self) -> None:
        self.replies: list[Reply | None] = []

    async def __call__(self, reply: Reply | None) -> None:
        self.replies.append(reply)


class Circuits(Params):
    positional = ("location",)
    location: str | None = Field(None, description="peering location")
    state: Literal["Provisioned", "NotProvisioned"] | None = None


class Notes(Params):
    positional = ("key", "text")
    rest_of_line = True
    key: str = Field(description="service key")
    text: str = Field(description="the notes")

    def target(self) -> str:
        return f"demo:{self.key}"


class Peering(Params):
    positional = ("key",)
    key: str
    vlan: int = Field(ge=1, le=4094, description="VLAN id")
    shared_key: SecretStr | None = Field(None, max_length=25)
    kind: Literal["private", "microsoft"] = "private"


ROWS = [f"circuit-{n:03d}" for n in range(1, 121)]


async def list_circuits(ctx, params: Circuits) -> list[str]:
    if params.location == "nowhere":
        raise OperationError("no such location: nowhere")
    if params.location == "boom":
        raise RuntimeError("provider exploded")
    return ROWS


def render_circuits(rows: list[str], params: Circuits, ctx) -> Reply:
    shown, page, pages = bk.paginate(rows, params.page, 50)
    blocks = [bk.header(f"{len(rows)} circuits"), *bk.code_sections(shown)]
    buttons = bk.page_buttons(ctx.command_text, page, pages)
    if buttons:
        blocks.append(buttons)
    return Reply(text=f"page {page} of {pages}: {shown[0]} … {shown[-1]}", blocks=blocks)


async def preview_notes(ctx, params: Notes) -> Preview:
    return Preview(summary=f"notes on {params.key}", changes=[("notes", "", params.text)])


async def preview_peering(ctx, params: Peering) -> Preview:
    return Preview(summary=f"peering on {params.key}", changes=[("vlan", None, params.vlan)])


async def choices_peering(ctx, data) -> dict[str, list[tuple[str, str]]]:
    return {"kind": [("Private", "private"), ("Microsoft", "microsoft")]}


async def not_run(ctx, params) -> None:
    raise AssertionError("mutations run only through approvals")


def register(registry: Registry) -> None:
    registry.add(
        Operation(
            provider="demo",
            verb="list",
            summary="list circuits",
            params=Circuits,
            execute=list_circuits,
            render=render_circuits,
            slow=True,
            aliases=("ls",),
        )
    )
    registry.add(
        Operation(
            provider="demo",
            verb="notes",
            summary="set notes",
            params=Notes,
            execute=not_run,
            preview=preview_notes,
            mutating=True,
        )
    )
    registry.add(
        Operation(
            provider="demo",
            verb="peering",
            summary="create a peering",
            params=Peering,
            execute=not_run,
            preview=preview_peering,
            mutating=True,
            choices=choices_peering,
        )
    )
