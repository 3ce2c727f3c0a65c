"""Test-only operations and buttons for driving the shell end to end (the approvals stand-in is
``support.approvals.FakeApprovals``)."""

from __future__ import annotations

import io
from typing import Any, Literal

from pydantic import Field, SecretStr

from circuitbot.actions.registry import Interaction, OpContext, Operation, Params, Preview, Registry
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.runtime import Runtime
from circuitbot.shell.console import run_shell


def board_reply() -> Reply:
    """A message with every block type a front end must show, built with the real builders."""
    blocks = [
        bk.header("Circuit 9f8e1c52"),
        bk.section(
            "*State:* Provisioned — see <https://portal.example/c/9f8e|the portal>, asked by <@UALICE> "
            "in <#CGENERAL>",
            fields=["*Location*\nAmsterdam", "*Bandwidth*\n10 Gbps", "*Provider*\nEquinix", "*VLAN*\n100"],
        ),
        bk.context(":hourglass_flowing_sand: checked 2 min ago", "`az show 9f8e`"),
        bk.divider(),
        *bk.code_sections(["port      state", "port-a    up", "port-b    down"]),
        bk.actions(
            bk.button("Approve", "demo_vote:approve", "req-7", style="primary"),
            bk.button(
                "Reject",
                "demo_vote:reject",
                "req-7",
                style="danger",
                confirm=bk.confirm_dialog("Reject request 7?", "The requester will be told."),
            ),
            {
                "type": "static_select",
                "action_id": "demo_vote:port",
                "placeholder": bk.plain("Move to port"),
                "options": [bk.option("port A", "port-a"), bk.option("port B", "port-b")],
            },
        ),
    ]
    return Reply(text="circuit 9f8e1c52 is Provisioned", blocks=blocks)


class NoParams(Params):
    pass


class Peering(Params):
    positional = ("key",)
    key: str = Field(description="service key")
    vlan: int = Field(ge=1, le=4094, description="VLAN id")
    shared_key: SecretStr | None = Field(None, max_length=25, description="BGP key")
    kind: Literal["private", "microsoft"] = "private"


ROWS = [f"circuit-{n:03d}" for n in range(1, 121)]


class Page(Params):
    pass


class Where(Params):
    positional = ("channel", "who")
    channel: str
    who: str | None = None


async def where(ctx: OpContext, params: Where) -> Reply:
    return Reply.plain(f"channel {params.channel}, who {params.who}, asked as `{ctx.command_text}`")


async def board(ctx: OpContext, params: NoParams) -> Reply:
    return board_reply()


async def rows(ctx: OpContext, params: Page) -> list[str]:
    return ROWS


def render_rows(result: list[str], params: Page, ctx: OpContext) -> Reply:
    shown, page, pages = bk.paginate(result, params.page, 50)
    blocks = [bk.header(f"page {page} of {pages}"), *bk.code_sections(shown)]
    buttons = bk.page_buttons(ctx.command_text, page, pages)
    if buttons:
        blocks.append(buttons)
    return Reply(text=f"page {page} of {pages}", blocks=blocks)


async def crash(ctx: OpContext, params: NoParams) -> Reply:
    raise RuntimeError("the instant path exploded")


class Rekey(Params):
    positional = ("key", "shared_key")
    key: str
    shared_key: SecretStr = Field(description="the new BGP key, given in its place")


async def rekey(ctx: OpContext, params: Rekey) -> Reply:
    raise RuntimeError("the key store is unreachable")


async def preview_peering(ctx: OpContext, params: Peering) -> Preview:
    return Preview(summary=f"peering on {params.key}", changes=[("vlan", None, params.vlan)])


async def not_run(ctx: OpContext, params: Params) -> None:
    raise AssertionError("mutations run only through approvals")


class Recorder:
    """What the test-only handlers saw."""

    def __init__(self) -> None:
        self.presses: list[tuple[str, Interaction]] = []


def register(registry: Registry, recorder: Recorder) -> None:
    registry.add(
        Operation(
            provider="demo",
            verb="board",
            summary="a message with every block",
            params=NoParams,
            execute=board,
        )
    )
    registry.add(
        Operation(provider="demo", verb="where", summary="echoes its mentions", params=Where, execute=where)
    )
    registry.add(
        Operation(
            provider="demo",
            verb="rows",
            summary="a long listing in pages",
            params=Page,
            execute=rows,
            render=render_rows,
        )
    )
    registry.add(
        Operation(
            provider="demo",
            verb="crash",
            summary="fails unexpectedly",
            params=NoParams,
            execute=crash,
            instant=True,
        )
    )
    registry.add(
        Operation(
            provider="demo",
            verb="rekey",
            summary="fails with a secret on its line",
            params=Rekey,
            execute=rekey,
            instant=True,
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
        )
    )

    async def vote(ctx: OpContext, interaction: Interaction) -> None:
        recorder.presses.append((ctx.caller.user_id, interaction))
        await ctx.surface.reply(Reply.plain(f"got {interaction.action_id} = {interaction.value}"))

    registry.on_action("demo_vote", vote)


async def transcript(runtime: Runtime, script: str, *, user: str = "alice", **kwargs: Any) -> tuple[int, str]:
    """Run the shell over ``script``; the exit code and everything it printed."""
    out = io.StringIO()
    code = await run_shell(
        runtime.settings, user=user, stdin=io.StringIO(script), stdout=out, runtime=runtime, **kwargs
    )
    return code, out.getvalue()


def view_state(view: dict[str, Any]) -> dict[str, Any]:
    return view.get("state", {}).get("values", {})
