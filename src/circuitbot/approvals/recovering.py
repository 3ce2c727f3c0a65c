"""Recovering: a request left in 'executing' by an executor that died is reconciled, never re-run
(a change made of steps, such as a drain, is resumed: its ``resume`` skips the steps done).

The operation's ``verify`` reads the provider: the change landed (in place, its operation ended),
did not land, or is still in flight. The last is asked again, through the clock, until it is not
or ``settle_within_seconds`` have passed, since a long-running operation the dead executor was
following may yet end Failed; the operation's own handle died with the process, so the resource's
state is what is followed. Landed, the request succeeded and its resource is watched in the
approval's thread, as after a normal run; otherwise it needs attention, and a person checks the
provider. At start-up every 'executing' request is an orphan of this process's predecessor; on
PostgreSQL the sweep also takes those of replicas that never came back: claimed long enough ago
and with no executor holding their lease (``FOR UPDATE SKIP LOCKED`` passes over live ones). The
row stays locked while recovery follows it, so a replica never reconciles it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from circuitbot.actions.registry import OpContext, Operation, OperationError, Params, Verified
from circuitbot.approvals import messages as msg
from circuitbot.approvals.core import Audited, EngineCore
from circuitbot.approvals.executing import follow_change, request_context
from circuitbot.approvals.status import RequestStatus
from circuitbot.store.tables import ApprovalRequest

log = logging.getLogger(__name__)


@dataclass
class Settled:
    """What recovery found of an interrupted change: ``why`` says what a person must check."""

    verified: Verified
    why: str = ""
    op: Operation | None = None
    params: Params | None = None

    @property
    def landed(self) -> bool:
        return self.verified is Verified.LANDED


class Recovering(EngineCore):
    # How long recovery follows a change still in flight at the provider (as long as a normal
    # run waits for a long-running operation), and how often it reads the resource meanwhile.
    settle_within_seconds: float = 3600.0
    settle_poll_seconds: float = 15.0

    async def recover(
        self, *, wait: bool = True, only: Collection[str] | None = None
    ) -> dict[str, RequestStatus]:
        """Reconcile requests left in 'executing' by a dead executor: request id → new status.

        Never re-executes. Without ``wait`` a change still in flight is left 'executing' (its
        status in the answer) for a later ``recover(only=…)``; ``only`` limits it to those ids."""
        outcome: dict[str, RequestStatus] = {}
        seen: set[str] = set()
        while True:
            async with self.db.session() as session:
                query = select(ApprovalRequest).where(
                    ApprovalRequest.status == RequestStatus.EXECUTING, ApprovalRequest.id.not_in(seen)
                )
                if only is not None:
                    query = query.where(ApprovalRequest.id.in_(only))
                if self.db.skip_locked:
                    # Locked rows have a live executor; a fresh claim may not have taken its lease yet.
                    cutoff = self.clock.now() - timedelta(seconds=self.orphan_after_seconds)
                    query = query.where(ApprovalRequest.claimed_at <= cutoff).with_for_update(
                        skip_locked=True
                    )
                row = (await session.scalars(query.order_by(ApprovalRequest.claimed_at).limit(1))).first()
                if row is None:
                    break
                seen.add(row.id)
                settled = await self._settle(row, wait=wait)
                if settled.verified is Verified.IN_FLIGHT:
                    outcome[row.id] = RequestStatus.EXECUTING
                    continue
                status = RequestStatus.SUCCEEDED if settled.landed else RequestStatus.NEEDS_ATTENTION
                error = None if settled.landed else settled.why
                moved = await self._cas(
                    session,
                    row,
                    RequestStatus.EXECUTING,
                    status,
                    ApprovalRequest.claimed_by == row.claimed_by,
                    audit=Audited("system", "recovered", error=error, claimed_by=row.claimed_by),
                    finished_at=self.clock.now(),
                    error=error,
                    result={"text": "reconciled after a restart: the change landed"}
                    if settled.landed
                    else None,
                )
            if moved:
                outcome[row.id] = status
                log.warning("request %s was interrupted while executing: now %s", row.id, status)
                await self._announce_recovered(row, settled)
        return outcome

    async def _announce_recovered(self, row: ApprovalRequest, settled: Settled) -> None:
        """Say what recovery found, and follow a change that landed as a normal run does."""
        await self.notify.refresh(row.id)
        await self.notify.thread(row, msg.recovered_note(row, settled.landed, settled.why))
        if settled.landed:
            await follow_change(self.runtime, row, settled.op, settled.params, None)

    async def _settle(self, row: ApprovalRequest, *, wait: bool) -> Settled:
        """The change read at the provider, read again while it is in flight (with ``wait``)."""
        settled = await self._verify(row)
        deadline = self.clock.monotonic() + self.settle_within_seconds
        while wait and settled.verified is Verified.IN_FLIGHT:
            if self.clock.monotonic() >= deadline:
                waited = f"{self.settle_within_seconds:g} s"
                why = f"the change was still in progress at the provider after {waited}."
                return Settled(Verified.NOT_LANDED, why, settled.op, settled.params)
            await self.clock.sleep(self.settle_poll_seconds)
            settled = await self._verify(row)
        return settled

    async def _verify(self, row: ApprovalRequest) -> Settled:
        op = self.runtime.registry.by_name(row.operation)
        if op is None or (op.verify is None and op.resume is None):
            return Settled(Verified.NOT_LANDED, "the operation cannot check whether it took effect.")
        try:
            params = self.box.open(op.params, row.params)
            ctx = await request_context(self.runtime, row)
            if op.resume is not None:  # a change made of steps finishes what is left, step by step
                return await self._resume(op, ctx, params)
            assert op.verify is not None
            verified = await op.verify(ctx, params, dict(row.precondition or {}))
        except Exception as exc:
            return Settled(Verified.NOT_LANDED, f"checking the provider failed ({exc.__class__.__name__}).")
        if verified is Verified.NOT_LANDED:
            return Settled(verified, "the change is not visible at the provider.", op, params)
        return Settled(verified, "", op, params)

    async def _resume(self, op: Operation, ctx: OpContext, params: Params) -> Settled:
        """Finish an interrupted change made of steps (``Operation.resume`` skips those done)."""
        assert op.resume is not None
        try:
            await op.resume(ctx, params)
        except OperationError as exc:
            return Settled(Verified.NOT_LANDED, str(exc), op, params)
        return Settled(Verified.LANDED, "", op, params)
