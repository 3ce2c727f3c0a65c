"""Executing: a request this instance claimed (approved → executing) is run, exactly once.

The operation is called once and never retried: what it came to is recorded as succeeded,
failed (the provider refused, nothing changed) or needs_attention (the outcome is unknown). On
PostgreSQL the executor holds a row lock (its lease) from just after the claim until the outcome
is recorded, so a replica that starts meanwhile can tell a running execution from an orphaned one
(``FOR UPDATE SKIP LOCKED``); under the lease it checks that the claim is still its own, and the
outcome is recorded only while the claim is (a replica's recovery may have taken it meanwhile),
with the card's edit and the note that tell it, in the outbox.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot.actions.registry import (
    Caller,
    OpContext,
    Operation,
    OperationError,
    OutcomeUnknown,
    Params,
)
from circuitbot.approvals import messages as msg
from circuitbot.approvals import notify
from circuitbot.approvals.core import Audited, EngineCore
from circuitbot.approvals.secrets import Masker, secret_fields
from circuitbot.approvals.status import RequestStatus
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.context import correlated, doing
from circuitbot.store.tables import ApprovalRequest

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)


async def request_context(runtime: Runtime, row: ApprovalRequest) -> OpContext:
    """The context an approved request runs (or is verified) in: its requester's, with its
    precondition."""
    roles = await runtime.roles.roles(row.requester)
    caller = Caller(user_id=row.requester, roles=roles, channel_id=row.channel, thread_ts=row.thread_ts)
    ctx = OpContext(runtime, caller, "", None, precondition=dict(row.precondition or {}), request_id=row.id)
    engine = runtime.approvals
    if engine is not None and hasattr(engine, "notify"):

        async def progress(text: str) -> None:
            await engine.notify.thread(row, msg.thread_note(text))

        ctx.progress = progress
    return ctx


async def follow_change(
    runtime: Runtime, row: ApprovalRequest, op: Operation | None, params: Params | None, result: Any
) -> None:
    """Watch what a change that succeeded changed, in the thread of its approval message: after
    a run, and after recovery found an interrupted run's change landed (``result`` None)."""
    watches = runtime.watches
    if op is None or params is None or op.follow is None or watches is None or not hasattr(watches, "watch"):
        return
    try:
        target = op.follow(params, result)
        if target is None:
            return
        copies = notify.copies(row)
        channel, ts = copies[0] if copies else (row.channel, row.thread_ts)
        if channel is None:
            return
        await watches.watch(
            target, channel=channel, thread_ts=ts, created_by=row.requester, request_id=row.id
        )
    except Exception as exc:  # the change is done; a missing watch is only an inconvenience
        log.warning("could not watch the result of %s: %s", row.id, exc)


@dataclass
class Run:
    """What one execution came to."""

    op: Operation | None
    params: Params | None = None
    result: Any = None
    detail: Reply | None = None  # the operation's rendering of its result, secrets masked
    error: str | None = None
    unknown: bool = False  # the provider may or may not have applied it

    @property
    def status(self) -> RequestStatus:
        if self.error is None:
            return RequestStatus.SUCCEEDED
        return RequestStatus.NEEDS_ATTENTION if self.unknown else RequestStatus.FAILED


def _rendered(run: Run, ctx: OpContext, masker: Masker) -> Reply:
    """The operation's rendering of its result, or a plain "Done." when rendering fails."""
    assert run.op is not None and run.params is not None
    try:
        detail = run.op.render(run.result, run.params, ctx)
        return Reply(text=masker.text(detail.text), blocks=masker(detail.blocks), ephemeral=False)
    except Exception as exc:
        log.warning("could not render the result of %s: %s", ctx.request_id, exc.__class__.__name__)
        return Reply.plain("Done.", ephemeral=False)


class Executing(EngineCore):
    @asynccontextmanager
    async def _lease(self, request_id: str) -> AsyncIterator[tuple[AsyncSession, ApprovalRequest | None]]:
        """The claimed request read again in the transaction that runs it and records its outcome.

        On PostgreSQL the read takes the row lock (the executor's lease), held until the outcome is
        committed, so a replica starting meanwhile sees a live execution (locked) rather than an
        orphan (claimed, unlocked)."""
        async with self.db.session() as session:
            query = select(ApprovalRequest).where(ApprovalRequest.id == request_id)
            if self.db.skip_locked:
                query = query.with_for_update()
            yield session, (await session.scalars(query)).first()

    async def _run_claimed(self, request_id: str) -> str | None:
        """Run a request this instance claimed; the final status (None: no such request). Its
        logs, provider calls and audit rows are correlated under the request's id."""
        with correlated(request_id):
            return await self._run_correlated(request_id)

    async def _run_correlated(self, request_id: str) -> str | None:
        async with self._lease(request_id) as (session, row):
            if row is None or row.status != RequestStatus.EXECUTING or row.claimed_by != self.instance_id:
                # Between the claim and the lease another replica's recovery took it for an orphan.
                log.warning("request %s is no longer ours to run", request_id)
                return row.status if row is not None else None
            await self.notify.refresh(row.id)
            run = await self._call(row)
            finished = await self._record(session, row, run)
            owed = await self._announce(session, row, run) if finished else []
        if not finished:  # reconciled by another replica meanwhile; its verdict stands
            log.warning("request %s was no longer ours to finish", row.id)
            now, _ = await self.load(row.id)
            return now.status if now is not None else None
        log.info("request %s %s", row.id, run.status)
        await self.notify.send(owed)
        if run.error is None:
            await follow_change(self.runtime, row, run.op, run.params, run.result)
        return run.status

    async def _call(self, row: ApprovalRequest) -> Run:
        """Call the operation of a leased request, once; errors come back masked, in the Run."""
        run = Run(self.runtime.registry.by_name(row.operation))
        masker = Masker(())
        if self.after_claim is not None:
            await self.after_claim(row.id)
        try:
            if run.op is None:
                raise OperationError(f"the operation {row.operation} no longer exists")
            run.params = self.box.open(run.op.params, row.params)
            masker = Masker(secret_fields(run.params).values())
            ctx = await request_context(self.runtime, row)
            # The one and only call: nothing below may retry it.
            with doing(run.op.name):
                run.result = await run.op.execute(ctx, run.params)
        except OutcomeUnknown as exc:
            run.error = masker.text(str(exc)) or exc.__class__.__name__
            run.unknown = True
        except OperationError as exc:
            run.error = masker.text(str(exc)) or exc.__class__.__name__
        except Exception as exc:
            run.error = masker.text(f"{exc.__class__.__name__}: {exc}")
            # Frames only: the exception text may carry what the provider echoed back.
            log.error(
                "request %s (%s) failed: %s\n%s",
                row.id,
                row.operation,
                run.error,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
        if run.error is None:
            run.detail = _rendered(run, ctx, masker)
        return run

    async def _record(self, session: AsyncSession, row: ApprovalRequest, run: Run) -> bool:
        """Record the outcome, under the lease, if the claim is still ours; False if it is not."""
        stored = {"text": bk.clip(run.detail.text, 4000)} if run.detail is not None else None
        finished = await self._cas(
            session,
            row,
            RequestStatus.EXECUTING,
            run.status,
            ApprovalRequest.claimed_by == self.instance_id,
            audit=Audited("system", error=run.error),
            finished_at=self.clock.now(),
            result=stored,
            error=run.error,
        )
        if not finished:
            self._audit(
                session,
                actor="system",
                action=f"status.{run.status}",
                result="lost",
                row=row,
                error=run.error,
            )
        return finished

    async def _announce(self, session: AsyncSession, row: ApprovalRequest, run: Run) -> list[int]:
        """Owe the card's edit to its outcome and a note in its thread saying what it came to,
        in the transaction that records the outcome; the outbox rows written."""
        if run.error is None:
            note = msg.thread_note(f":large_green_circle: `{row.id}` succeeded.", run.detail)
        elif run.unknown:
            note = msg.thread_note(f":warning: `{row.id}` needs attention: {bk.escape(run.error)}")
        else:
            note = msg.thread_note(f":red_circle: `{row.id}` failed: {bk.escape(run.error)}")
        edits = await self.notify.enqueue_refresh(session, row.id)
        return edits + await self.notify.enqueue_thread(session, row, note)
