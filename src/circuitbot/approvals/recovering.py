"""Recovering: a request left in 'executing' by an executor that died is reconciled, never re-run.

The operation's ``verify`` says whether the change is visible at the provider: visible, the
request succeeded; not visible (or not checkable), it needs attention, and a person checks the
provider. At start-up every 'executing' request is an orphan of this process's predecessor; on
PostgreSQL the sweep also takes those of replicas that never came back: claimed long enough ago
and with no executor holding their lease (``FOR UPDATE SKIP LOCKED`` passes over live ones).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from circuitbot.approvals import messages as msg
from circuitbot.approvals.core import Audited, EngineCore
from circuitbot.approvals.executing import request_context
from circuitbot.approvals.status import RequestStatus
from circuitbot.store.tables import ApprovalRequest

log = logging.getLogger(__name__)


class Recovering(EngineCore):
    async def recover(self) -> dict[str, RequestStatus]:
        """Reconcile requests left in 'executing' by a dead executor: request id → new status.

        Never re-executes: the operation's ``verify`` says whether the change is visible."""
        outcome: dict[str, RequestStatus] = {}
        seen: set[str] = set()
        while True:
            async with self.db.session() as session:
                query = select(ApprovalRequest).where(
                    ApprovalRequest.status == RequestStatus.EXECUTING, ApprovalRequest.id.not_in(seen)
                )
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
                visible, why = await self._verify(row)
                status = RequestStatus.SUCCEEDED if visible else RequestStatus.NEEDS_ATTENTION
                moved = await self._cas(
                    session,
                    row,
                    RequestStatus.EXECUTING,
                    status,
                    ApprovalRequest.claimed_by == row.claimed_by,
                    audit=Audited(
                        "system", "recovered", error=None if visible else why, claimed_by=row.claimed_by
                    ),
                    finished_at=self.clock.now(),
                    error=None if visible else why,
                    result={"text": "reconciled after a restart: the change is visible"} if visible else None,
                )
            if moved:
                outcome[row.id] = status
                log.warning("request %s was interrupted while executing: now %s", row.id, status)
                await self.notify.refresh(row.id)
                await self.notify.thread(row, msg.recovered_note(row, visible, why))
        return outcome

    async def _verify(self, row: ApprovalRequest) -> tuple[bool, str]:
        op = self.runtime.registry.by_name(row.operation)
        if op is None or op.verify is None:
            return False, "the operation cannot check whether it took effect."
        try:
            params = self.box.open(op.params, row.params)
            visible = await op.verify(
                await request_context(self.runtime, row), params, dict(row.precondition or {})
            )
        except Exception as exc:
            return False, f"checking the provider failed ({exc.__class__.__name__})."
        if visible is True:
            return True, ""
        return False, "the change is not visible at the provider."
