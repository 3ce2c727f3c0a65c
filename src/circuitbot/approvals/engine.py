"""The approval engine: request → decision → execution, exactly once.

Every mutating operation arrives here from the router (``submit``). The request is persisted
with the operation's preview and precondition, posted with Approve / Reject buttons, and waits.

Every status change is a compare-and-set in the database (``UPDATE … WHERE id = :id AND status =
:expected``), so concurrent clicks, double clicks, a sweep and other replicas agree on one winner:

    pending → approved → executing → succeeded | failed | needs_attention
    pending → rejected | expired | canceled

(the table of these moves is ``status.TRANSITIONS``; ``core.EngineCore._cas`` refuses any other).

Execution is claimed (approved → executing) before the provider is called and is never retried
blindly: a request found in ``executing`` after a crash is reconciled with the operation's
``verify`` (did the change land at the provider, or is it still in flight there?) and becomes
succeeded (then watched, as after a normal run) or needs_attention.
On PostgreSQL the executor also holds a row lock (its lease) from just after the claim until the
outcome is recorded, so a replica that starts meanwhile can tell a running execution from an
orphaned one (``FOR UPDATE SKIP LOCKED``); under the lease it checks that the claim is still its
own, and the sweep claims a request only when it can run it at once.

This module holds the claims and the periodic jobs, which run on the runtime's one scheduler
(``scheduling``): the executor every ``sweep_seconds`` (brought forward by ``wake``), expiry and
the request counts every ``expiry_seconds``, and once at start the following of changes a
previous process left in flight. Tests call ``execute_round`` and ``expiry_round`` on the
FakeClock. The engine's other parts are in
``submitting``, ``deciding``, ``executing`` (the run under the lease), ``recovering`` and
``scheduled`` (when an approved change may run: ``at=``, change windows, freezes), on the
shared ``core``. The request's Slack messages are in ``notify``, the read-only listings in
``listings``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot import metrics
from circuitbot.approvals import listings
from circuitbot.approvals.core import Audited
from circuitbot.approvals.deciding import Deciding
from circuitbot.approvals.executing import Executing
from circuitbot.approvals.recovering import Recovering
from circuitbot.approvals.scheduled import Scheduled
from circuitbot.approvals.status import RequestStatus
from circuitbot.approvals.submitting import Submitting
from circuitbot.store.tables import ApprovalRequest

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 20.0  # an execution under way at stop may finish within this
EXECUTE_JOB, EXPIRY_JOB, IN_FLIGHT_JOB = "approvals.execute", "approvals.expire", "approvals.in_flight"
JOBS = (EXECUTE_JOB, EXPIRY_JOB, IN_FLIGHT_JOB)


class ApprovalEngine(Submitting, Deciding, Executing, Recovering, Scheduled):
    """Owns the approval state machine; one per process, any number of processes per database."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        instance_id: str | None = None,
        sweep_seconds: float = 5.0,
        expiry_seconds: float = 60.0,
        orphan_after_seconds: float = 60.0,
        local_key: bool = False,
    ) -> None:
        super().__init__(
            runtime, instance_id=instance_id, orphan_after_seconds=orphan_after_seconds, local_key=local_key
        )
        self.sweep_seconds = sweep_seconds
        self.expiry_seconds = expiry_seconds
        self._started = False
        self._stopping = asyncio.Event()  # set by stop(): the run under way claims nothing new

    # -- claims --------------------------------------------------------------------------------

    async def execute(self, request_id: str) -> str | None:
        """Claim an approved request and run it; the final status, or None if not ours to run
        (not approved, its time not come, or claimed by a click or a replica first)."""
        async with self.db.session() as session:
            ready, owed = await self.gate(session, request_id)
            claimed = ready and await self._claim(session, request_id)
        await self.notify.send(owed)
        if not claimed:
            return None
        return await self._run_claimed(request_id)

    async def _claim(self, session: AsyncSession, request_id: str) -> bool:
        return await self._cas(
            session,
            request_id,
            RequestStatus.APPROVED,
            RequestStatus.EXECUTING,
            audit=Audited("system", instance=self.instance_id),
            claimed_by=self.instance_id,
            claimed_at=self.clock.now(),
        )

    async def run_approved(self, limit: int = 20) -> list[str]:
        """Claim and run approved requests that no click is running (a crash, another replica).

        One at a time, each claimed only when it can run at once: a request claimed but queued
        behind a slow one would sit unlocked in 'executing' and look orphaned to recovery."""
        ran: list[str] = []
        for _ in range(limit):
            if self._stopping.is_set():
                break
            now = self.clock.now()
            async with self.db.session() as session:
                query = (
                    select(ApprovalRequest.id)
                    .where(
                        ApprovalRequest.status == RequestStatus.APPROVED,
                        or_(ApprovalRequest.scheduled_for.is_(None), ApprovalRequest.scheduled_for <= now),
                    )
                    .order_by(ApprovalRequest.decided_at, ApprovalRequest.id)
                    .limit(1)
                )
                if self.db.skip_locked:
                    query = query.with_for_update(skip_locked=True)
                request_id = await session.scalar(query)
                if request_id is None:
                    break
                # Not ready: rescheduled past now, so the next query does not find it again.
                ready, owed = await self.gate(session, request_id)
                claimed = ready and await self._claim(session, request_id)
            await self.notify.send(owed)
            if claimed:  # else a click or another replica took it first: look for the next one
                ran.append(request_id)
                await self._run_claimed(request_id)
        return ran

    # -- listings ------------------------------------------------------------------------------

    async def requests(
        self, status: str, *, page: int = 1, per_page: int = 10
    ) -> tuple[list[tuple[ApprovalRequest, list[str]]], int, int, int]:
        """Requests in ``status``, newest first (see ``listings.requests``)."""
        return await listings.requests(self.db, status, page=page, per_page=per_page)

    # -- scheduling ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Reconcile what a previous process left executing, then put the periodic jobs on the
        runtime's scheduler: the executor (``execute_round``) and expiry (``expiry_round``)."""
        if self._started:
            return
        self._started = True
        # A change still in flight at the provider is followed by a job of its own, not here:
        # start-up (and with it the front end) does not wait for a provider's long-running operation.
        left = await self.recover(wait=False)
        in_flight = frozenset(rid for rid, status in left.items() if status is RequestStatus.EXECUTING)
        scheduler = self.runtime.scheduler
        if in_flight:
            scheduler.once(IN_FLIGHT_JOB, lambda: self.recover(only=in_flight))
        scheduler.every(EXECUTE_JOB, self.sweep_seconds, self.execute_round)
        scheduler.every(EXPIRY_JOB, self.expiry_seconds, self.expiry_round)

    def wake(self) -> None:
        """A request was approved without being run at once: the executor looks now."""
        self.runtime.scheduler.wake(EXECUTE_JOB)

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Take the jobs off the scheduler. A run under way may finish (within ``grace_seconds``):
        cut short, an execution would be left to recovery instead of ending normally."""
        if not self._started:
            return
        self._started = False
        self._stopping.set()  # no new request is claimed by the run under way
        try:
            await self.runtime.scheduler.retire(JOBS, grace_seconds)
        finally:
            self._stopping.clear()

    async def execute_round(self) -> None:
        """The executor job: run what is approved and no click runs; on PostgreSQL also the
        orphans of replicas that never came back."""
        await self.run_approved()
        if self.db.skip_locked and not self._stopping.is_set():
            await self.recover()

    async def expiry_round(self) -> None:
        """The expiry job: expire what is past its TTL, and count the requests by status."""
        await self.expire_due()
        await self.count_requests()

    async def count_requests(self) -> None:
        """``circuitbot_approval_requests`` by status, counted in SQL."""
        async with self.db.session() as session:
            query = select(ApprovalRequest.status, func.count()).group_by(ApprovalRequest.status)
            counts: dict[str, int] = {status: count for status, count in await session.execute(query)}
        for status in RequestStatus:
            metrics.approval_requests.labels(status.value).set(counts.get(status.value, 0))
