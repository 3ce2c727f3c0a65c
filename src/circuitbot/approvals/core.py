"""What every part of the approval engine shares: the runtime, the secret box, the notifier, who
this instance is, and the compare-and-set by which a request changes status.

The engine is one class (``engine.ApprovalEngine``) assembled from parts, one module each:
submitting, deciding, executing and recovering. Each part is a subclass of ``EngineCore``, so it
reaches the shared state and ``_cas`` and nothing of the other parts.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot import metrics
from circuitbot.approvals import listings, notify
from circuitbot.approvals import messages as msg
from circuitbot.approvals.secrets import SecretBox
from circuitbot.approvals.status import RequestStatus, check_transition
from circuitbot.clock import Clock
from circuitbot.settings import Settings
from circuitbot.store.audit import audit
from circuitbot.store.db import Database, rows_changed
from circuitbot.store.tables import ApprovalRequest

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

AfterClaim = Callable[[str], Awaitable[None]]


class Audited:
    """Who a status change is audited as, with what result and detail (see ``EngineCore._cas``)."""

    def __init__(self, actor: str, result: str = "ok", **detail: Any) -> None:
        self.actor = actor
        self.result = result
        self.detail = detail


class EngineCore:
    """The state and plumbing the engine's parts share; one per process."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        instance_id: str | None = None,
        orphan_after_seconds: float = 60.0,
        local_key: bool = False,
    ) -> None:
        self.runtime = runtime
        # Who claimed a request: host and process, plus a nonce so two engines never look alike.
        self.instance_id = instance_id or f"{socket.gethostname()[:40]}/{os.getpid()}/{secrets.token_hex(3)}"
        # An 'executing' row claimed this long ago whose lease is free has lost its executor.
        self.orphan_after_seconds = orphan_after_seconds
        # Test hook: runs once a claimed request is leased, before execute (raise to simulate a crash).
        self.after_claim: AfterClaim | None = None
        # Built now, so a bad key stops start-up rather than the first request. ``local_key``: may
        # keep a generated key in data_dir, where that is the user's own (sandbox, shell).
        self.box = SecretBox(runtime.settings, local=local_key)
        self.notify = notify.Notifier(runtime)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    def _audit(
        self,
        session: AsyncSession,
        *,
        actor: str,
        action: str,
        result: str,
        row: ApprovalRequest | None = None,
        target: str | None = None,
        request_id: str | None = None,
        **detail: Any,
    ) -> None:
        if row is not None:
            detail.setdefault("operation", row.operation)
        audit(
            session,
            at=self.clock.now(),
            actor=actor,
            action=action,
            result=result,
            target=row.target if row is not None else target,
            request_id=row.id if row is not None else request_id,
            detail=msg.jsonable({k: v for k, v in detail.items() if v is not None}),
        )

    async def _cas(
        self,
        session: AsyncSession,
        request: ApprovalRequest | str,
        expected: RequestStatus,
        new: RequestStatus,
        *conditions: Any,
        audit: Audited | None = None,
        **values: Any,
    ) -> bool:
        """Move one request from ``expected`` to ``new``; False when someone else moved it first.
        The move must be one ``status.TRANSITIONS`` allows (else ForbiddenTransition, and nothing
        is written). With ``audit``, a move writes its audit row (``status.<new>``) in the same
        transaction."""
        check_transition(expected, new)
        request_id = request if isinstance(request, str) else request.id
        stmt = (
            update(ApprovalRequest)
            .where(ApprovalRequest.id == request_id, ApprovalRequest.status == expected, *conditions)
            .values(status=new, **values)
            .execution_options(synchronize_session=False)
        )
        moved = await rows_changed(session, stmt) == 1
        if moved:
            metrics.approvals.labels(new).inc()
            if new in (RequestStatus.APPROVED, RequestStatus.REJECTED):
                await self._time_decision(session, request, new)
            if audit is not None:
                row = await session.get(ApprovalRequest, request_id) if isinstance(request, str) else request
                self._audit(
                    session,
                    actor=audit.actor,
                    action=f"status.{new}",
                    result=audit.result,
                    row=row,
                    **audit.detail,
                )
        return moved

    async def _time_decision(
        self, session: AsyncSession, request: ApprovalRequest | str, decision: RequestStatus
    ) -> None:
        """``circuitbot_approval_decision_seconds``: from the request to its decision."""
        row = await session.get(ApprovalRequest, request) if isinstance(request, str) else request
        if row is not None:
            waited = (self.clock.now() - row.created_at).total_seconds()
            metrics.approval_decision_seconds.labels(decision).observe(max(0.0, waited))

    async def load(self, request_id: str) -> tuple[ApprovalRequest | None, list[str]]:
        """The request and the users who approved it so far, in order."""
        return await listings.load(self.db, request_id)
