"""A tiny in-test provider, test-only mutating operations, a recording surface, and a
harness that drives the approval flow through the router as a front end would."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pydantic import Field, SecretStr

from circuitbot.actions.registry import (
    Interaction,
    OpContext,
    Operation,
    OperationError,
    Params,
    Preview,
    Refused,
    Registry,
    Verified,
    WatchTarget,
)
from circuitbot.approvals.engine import ApprovalEngine
from circuitbot.chat.reply import Reply
from circuitbot.chat.router import Router
from circuitbot.providers.kit.preconditions import landed
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.store.tables import ApprovalRequest
from support.poster import RecordingPoster, message_text

APPROVERS = [f"UAPP{n}" for n in range(1, 25)]
SECRET = "Sh4redK3y-never-shown"


class PortProvider:
    """A provider with circuits on ports; every call is counted, writes need the current etag."""

    def __init__(self) -> None:
        self.circuits: dict[str, dict[str, Any]] = {
            "c1": {"port": "A", "etag": "e1"},
            "c2": {"port": "A", "etag": "e1"},
        }
        self.reads = 0
        self.writes = 0
        self.received_keys: list[str] = []
        self.write_delay_ticks = 0  # yields inside a write, so racing executions overlap
        self.echo_key_in_error = False
        self.writing = asyncio.Event()  # set when a write starts
        self.gate: asyncio.Event | None = None  # when set, a write waits for it
        self.interrupted = 0  # writes cancelled while they waited for the gate

    async def get(self, key: str) -> dict[str, Any]:
        self.reads += 1
        if key not in self.circuits:
            raise OperationError(f"404 Not Found: no circuit {key}")
        return dict(self.circuits[key])

    async def move(
        self, key: str, port: str, *, if_match: str, shared_key: str | None = None
    ) -> dict[str, Any]:
        self.writes += 1
        self.writing.set()
        if self.gate is not None:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.interrupted += 1
                raise
        for _ in range(self.write_delay_ticks):
            await asyncio.sleep(0)
        if shared_key is not None:
            self.received_keys.append(shared_key)
            if self.echo_key_in_error:
                raise OperationError(f"400 Bad Request: sharedKey '{shared_key}' is too weak")
        circuit = self.circuits[key]
        if circuit["etag"] != if_match:
            raise OperationError("412 Precondition Failed: the circuit changed since approval, request again")
        etag = f"e{int(circuit['etag'][1:]) + 1}"
        circuit.update(port=port, etag=etag)
        return dict(circuit)

    def tamper(self, key: str) -> None:
        """Someone else changed the circuit: a new etag."""
        circuit = self.circuits[key]
        circuit["etag"] = f"e{int(circuit['etag'][1:]) + 10}"


class MoveParams(Params):
    positional = ("key", "port")
    key: str = Field(description="circuit")
    port: str = Field(description="the port to move to")
    shared_key: SecretStr | None = Field(None, description="BGP shared key")

    def target(self) -> str:
        return f"demo:{self.key}"


async def preview_move(ctx: OpContext, params: MoveParams) -> Preview:
    if params.port == "Z":
        raise Refused("port Z has no capacity")
    circuit = await ctx.provider("demo").get(params.key)
    changes = [] if circuit["port"] == params.port else [("port", circuit["port"], params.port)]
    if params.shared_key is not None:
        changes.append(("shared key", None, "set"))
    return Preview(
        summary=f"move {params.key} from port {circuit['port']} to {params.port}",
        changes=changes,
        precondition={"etag": circuit["etag"]},
        notes=["traffic drops for a few seconds"],
    )


async def execute_move(ctx: OpContext, params: MoveParams) -> dict[str, Any]:
    assert ctx.precondition is not None, "the executor passes the preview's precondition"
    secret = params.shared_key.get_secret_value() if params.shared_key else None
    return await ctx.provider("demo").move(
        params.key, params.port, if_match=ctx.precondition["etag"], shared_key=secret
    )


def render_move(result: dict[str, Any], params: MoveParams, ctx: OpContext) -> Reply:
    return Reply.plain(f"{params.key} is now on port {result['port']} (etag {result['etag']})")


async def verify_move(ctx: OpContext, params: MoveParams, precondition: dict[str, Any]) -> Verified:
    circuit = await ctx.provider("demo").get(params.key)
    return landed(
        {"port": circuit["port"]}, {"port": params.port}, state=circuit.get("state"), busy=("Updating",)
    )


def follow_move(params: MoveParams, result: Any) -> WatchTarget:
    return WatchTarget("demo", params.key, label=f"circuit {params.key}")


class RemoveParams(Params):
    positional = ("key",)
    key: str

    def target(self) -> str:
        return f"demo:{self.key}"


async def preview_remove(ctx: OpContext, params: RemoveParams) -> Preview:
    circuit = await ctx.provider("demo").get(params.key)
    return Preview(summary=f"delete {params.key}", changes=[("circuit", circuit["port"], None)])


async def execute_remove(ctx: OpContext, params: RemoveParams) -> str:
    provider = ctx.provider("demo")
    provider.writes += 1
    provider.circuits.pop(params.key)
    return f"{params.key} deleted"


def register_demo(registry: Registry) -> None:
    registry.add(
        Operation(
            provider="demo",
            verb="move",
            summary="move a circuit to another port",
            params=MoveParams,
            execute=execute_move,
            render=render_move,
            mutating=True,
            preview=preview_move,
            verify=verify_move,
            follow=follow_move,
        )
    )
    registry.add(
        Operation(
            provider="demo",
            verb="remove",
            summary="delete a circuit",
            params=RemoveParams,
            execute=execute_remove,
            mutating=True,
            preview=preview_remove,
            approvals=2,
        )
    )


class RecordingSurface:
    def __init__(self, user_id: str, channel_id: str = "CGENERAL") -> None:
        self.user_id = user_id
        self.channel_id = channel_id
        self.replies: list[Reply] = []
        self.opened: list[dict[str, Any]] = []  # each form as it was opened
        self.modals: list[dict[str, Any]] = []  # each form as it stands now

    async def reply(self, reply: Reply) -> None:
        self.replies.append(reply)

    async def open_modal(self, view: dict[str, Any]) -> str:
        self.opened.append(view)
        self.modals.append(view)
        return f"V{len(self.modals)}"

    async def update_modal(self, view_id: str, view: dict[str, Any]) -> None:
        self.modals[int(view_id[1:]) - 1] = view

    @property
    def text(self) -> str:
        return "\n".join(message_text(r) for r in self.replies)


class FakeWatches:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[WatchTarget, dict[str, Any]]] = []
        self.fail = fail

    async def watch(self, target: WatchTarget, **kwargs: Any) -> None:
        self.calls.append((target, kwargs))
        if self.fail:
            raise RuntimeError("watch engine unavailable")


class Harness:
    """Drives one runtime the way a front end does: commands, clicks and modal submissions."""

    def __init__(self, runtime: Runtime, poster: RecordingPoster, provider: PortProvider) -> None:
        self.runtime = runtime
        self.router = Router(runtime)
        self.poster = poster
        self.provider = provider

    @property
    def engine(self) -> ApprovalEngine:
        return self.runtime.approvals

    async def command(self, text: str, user: str = "UREQ", channel: str = "CGENERAL") -> RecordingSurface:
        surface = RecordingSurface(user, channel)
        acks: list[Reply | None] = []

        async def ack(reply: Reply | None) -> None:
            acks.append(reply)

        await self.router.handle_command(text, user_id=user, channel_id=channel, surface=surface, ack=ack)
        assert len(acks) == 1, "the router acks exactly once"
        if acks[0] is not None:
            surface.replies.insert(0, acks[0])
        return surface

    async def request(
        self, text: str = "demo move c1 B", user: str = "UREQ", channel: str = "CGENERAL"
    ) -> str:
        surface = await self.command(text, user, channel)
        match = re.search(r"Request `(R[A-Z2-7]{6})` created", surface.text)
        assert match, f"no request created: {surface.text}"
        return match.group(1)

    async def click(
        self, action: str, request_id: str, user: str, channel: str = "CAPPROVALS"
    ) -> RecordingSurface:
        surface = RecordingSurface(user, channel)

        async def ack(reply: Reply | None) -> None:
            assert reply is None

        interaction = Interaction(
            action_id=f"approval:{action}", value=request_id, channel_id=channel, trigger_id="T1"
        )
        await self.router.handle_action(interaction, user_id=user, surface=surface, ack=ack)
        return surface

    async def submit_reject(self, view: dict[str, Any], user: str, reason: str | None) -> RecordingSurface:
        surface = RecordingSurface(user)
        acked: list[Any] = []

        async def ack_errors(errors: dict[str, str] | None) -> None:
            acked.append(errors)

        submitted = dict(
            view, state={"values": {"reason": {"value": {"type": "plain_text_input", "value": reason}}}}
        )
        await self.router.handle_view(submitted, user_id=user, surface=surface, ack_errors=ack_errors)
        assert acked == [None]
        return surface

    async def row(self, request_id: str) -> ApprovalRequest:
        row, _ = await self.engine.load(request_id)
        assert row is not None
        return row

    def approval_message(self, row: ApprovalRequest) -> Reply:
        """The approval message as it stands now in the approvals channel."""
        return self.poster.latest(row.approvals_ts)


def approvals_settings(tmp_path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        data_dir=tmp_path,
        requesters=["UREQ", "UREQ2", *APPROVERS],
        approvers=APPROVERS,
        admins=["UADMIN"],
        approvals_channel="CAPPROVALS",
        notify_channel="CNOTIFY",
    )
    values.update(overrides)
    return Settings(**values)


def buttons_of(message: dict[str, Any]) -> dict[str, str]:
    """A posted Slack message's buttons: action_id → value."""
    return {
        element["action_id"]: element["value"]
        for block in message.get("blocks", [])
        for element in block.get("elements", [])
        if element.get("type") == "button"
    }
