"""Audit rows: one function, so every room writes them the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot.context import correlation_id
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
    """Add an audit row to the session's transaction. ``detail`` must already be masked. The row
    carries the correlation id of the work that writes it (``circuitbot.context``)."""
    row = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        result=result,
        target=target,
        request_id=request_id,
        detail=detail or {},
        correlation_id=correlation_id.get(),
    )
    session.add(row)
    return row


def _about(request_id: str | None, target: str | None) -> list[ColumnElement[bool]]:
    where = []
    if request_id:
        where.append(AuditEvent.request_id == request_id)
    if target:  # a part of the target, taken literally: % and _ are no wildcards here
        where.append(AuditEvent.target.contains(target, autoescape=True))
    return where


async def history(
    session: AsyncSession,
    *,
    request_id: str | None = None,
    target: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AuditEvent]:
    """Newest first, filtered by request id or target (``offset`` rows skipped: later pages)."""
    query = (
        select(AuditEvent)
        .where(*_about(request_id, target))
        .order_by(AuditEvent.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def history_count(
    session: AsyncSession, *, request_id: str | None = None, target: str | None = None
) -> int:
    """How many rows ``history`` pages through with the same filters."""
    query = select(func.count()).select_from(AuditEvent).where(*_about(request_id, target))
    return await session.scalar(query) or 0
