"""Scheduled changes: an approved request waits for its time (``at=``), a change window and the
end of any freeze (``approvals.windows``), then runs once.

The request's ``scheduled_for`` is set when it is approved (when it may not run at once) and
moved on whenever the executor finds it may not run now: a freeze configured since, or a window
that passed while no process was running (it then waits for the next window, never running
outside one, and its card and thread say so). The executor claims only requests whose
``scheduled_for`` has come, and asks ``gate`` again in the claim's transaction, so a check and
the claim see the same row; the claim's compare-and-set (approved → executing) makes each run
happen once across replicas, and a cancel (approved → canceled) until then wins or loses
against it cleanly.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot.approvals import messages as msg
from circuitbot.approvals.core import EngineCore
from circuitbot.approvals.status import RequestStatus
from circuitbot.approvals.windows import Calendar, ScheduleError, when
from circuitbot.store.db import rows_changed
from circuitbot.store.tables import ApprovalRequest

log = logging.getLogger(__name__)


class Scheduled(EngineCore):
    @property
    def calendar(self) -> Calendar:
        return Calendar(self.settings.change_windows, self.settings.freezes)

    def slot(self, provider: str | None, run_at: datetime | None) -> datetime | None:
        """When a request approved now may run; None: at once."""
        now = self.clock.now()
        earliest = max(now, run_at) if run_at is not None else now
        at = self.calendar.next_slot(provider, earliest)
        return at if at > now else None

    async def gate(self, session: AsyncSession, request_id: str) -> tuple[bool, list[int]]:
        """Whether the approved request may run now. If not, its ``scheduled_for`` moves to its
        next slot and its card and thread say why (once per move), in ``session``: the outbox
        rows to send once it is committed come with the answer."""
        row = await session.get(ApprovalRequest, request_id, populate_existing=True)
        if row is None or row.status != RequestStatus.APPROVED:
            return True, []  # the claim's compare-and-set decides
        try:
            slot = self.slot(row.provider, row.run_at)
        except ScheduleError as exc:
            log.warning("request %s cannot be scheduled: %s", request_id, exc)
            return False, []
        if slot is None:
            return True, []
        if row.scheduled_for == slot:
            return False, []
        now = self.clock.now()
        missed = row.scheduled_for is not None and row.scheduled_for <= now
        was = row.scheduled_for
        moved = await rows_changed(  # a compare-and-set: of replicas moving it together, one says so
            session,
            update(ApprovalRequest)
            .where(
                ApprovalRequest.id == request_id,
                ApprovalRequest.status == RequestStatus.APPROVED,
                ApprovalRequest.scheduled_for.is_(None)
                if was is None
                else ApprovalRequest.scheduled_for == was,
            )
            .values(scheduled_for=slot)
            .execution_options(synchronize_session=False),
        )
        if not moved:
            return False, []
        why = self.calendar.why_waiting(row.provider, now) if row.run_at is None or row.run_at <= now else ""
        if missed:
            note = f":calendar: `{row.id}` could not run in its window ({why or 'its time passed'}); it waits"
        else:
            note = f":calendar: `{row.id}` waits{': ' + why if why else ''}"
        note += f" and is now scheduled for {when(slot, row.run_tz)}."
        log.info("request %s scheduled for %s", request_id, slot.isoformat())
        owed = await self.notify.enqueue_refresh(session, request_id)
        owed += await self.notify.enqueue_thread(session, row, msg.thread_note(note))
        return False, owed
