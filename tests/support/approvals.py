"""A stand-in for the approvals engine, for tests of the rooms that submit to it."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from circuitbot.actions.registry import Interaction, OpContext, Operation, Params
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Poster, Reply
from circuitbot.runtime import Runtime

APPROVALS_CHANNEL = "#approvals"


class Submission(NamedTuple):
    user: str
    op: str
    params: Params


class FakeApprovals:
    """Records what was submitted and says the request was created.

    Given a ``runtime`` it acts like the real engine in Slack: it posts each request to
    #approvals with Approve/Reject buttons, edits the message when one is clicked and posts
    "done" in its thread from a background task, as the executor would.
    """

    def __init__(self, runtime: Runtime | None = None) -> None:
        self.runtime = runtime
        self.submitted: list[Submission] = []
        self.posted: dict[str, tuple[str, str]] = {}  # request id -> (channel, ts)
        self.started = self.stopped = 0
        self.background: list[asyncio.Task[None]] = []
        if runtime is not None:
            runtime.registry.on_action("demo_approval", self.decide)

    @property
    def _poster(self) -> Poster:
        assert self.runtime is not None and self.runtime.poster is not None, "posting needs a runtime"
        return self.runtime.poster

    async def start(self) -> None:
        self.started += 1

    async def stop(self) -> None:
        self.stopped += 1

    async def submit(self, ctx: OpContext, op: Operation, params: Params) -> Reply:
        self.submitted.append(Submission(ctx.caller.user_id, op.name, params))
        if self.runtime is None:
            return Reply.plain(f"request for {op.name} created")
        request = f"r{len(self.submitted)}"
        subject = params.target() or params.key  # type: ignore[attr-defined]  # test params all have one
        text = f"<@{ctx.caller.user_id}> asks for `{op.name}` on {subject}"
        blocks = [
            bk.section(text),
            bk.actions(
                bk.button("Approve", "demo_approval:approve", request, style="primary"),
                bk.button("Reject", "demo_approval:reject", request, style="danger"),
            ),
        ]
        reply = Reply(text=text, blocks=blocks, ephemeral=False)
        ts = await self._poster.post(APPROVALS_CHANNEL, reply)
        self.posted[request] = (APPROVALS_CHANNEL, ts)
        return Reply.plain(f"request {request} is waiting for an approver in {APPROVALS_CHANNEL}")

    async def decide(self, ctx: OpContext, interaction: Interaction) -> None:
        channel, ts = self.posted[interaction.value]
        verdict = interaction.action_id.split(":")[1]
        decided = f"{verdict}d by <@{ctx.caller.user_id}>"
        await self._poster.update(channel, ts, Reply.plain(f"request {interaction.value} {decided}"))
        # The executor runs after the click, in the background, and says so in the thread.
        self.background.append(asyncio.create_task(self._execute(channel, ts, interaction.value)))

    async def _execute(self, channel: str, ts: str, request: str) -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        await self._poster.post(channel, Reply.plain(f"request {request} done"), thread_ts=ts)
