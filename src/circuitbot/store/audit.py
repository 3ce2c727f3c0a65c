"""Audit rows: one function, so every room writes them the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot.store.tables import AuditEvent


def audit(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    result: str,
    target: str | None = None,
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row to the session's transaction. ``detail`` must already be masked."""
    row = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        result=result,
        target=target,
        request_id=request_id,
        detail=detail or {},
    )
    session.add(row)
    return row


async def history(
    session: AsyncSession, *, request_id: str | None = None, target: str | None = None, limit: int = 50
) -> list[AuditEvent]:
    """Newest first, filtered by request id or target."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if request_id:
        query = query.where(AuditEvent.request_id == request_id)
    if target:
        query = query.where(AuditEvent.target.contains(target))
    return list((await session.scalars(query)).all())
