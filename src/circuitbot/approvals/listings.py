"""What ``/circuit approvals`` and ``/circuit audit`` show: reads only, a page at a time.

Pages are counted and cut in SQL, so a long history costs one page of rows, never all of them.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot.approvals import policy
from circuitbot.chat import blocks as bk
from circuitbot.store.audit import history, history_count
from circuitbot.store.db import Database
from circuitbot.store.tables import ApprovalDecision, ApprovalRequest, AuditEvent


def _window(total: int, page: int, per_page: int) -> tuple[int, int, int]:
    """The page shown (clamped), the number of pages, and the offset of its first row."""
    rows, page, pages = bk.paginate(range(total), page, per_page)  # one place for page arithmetic
    return page, pages, rows[0] if rows else 0


async def with_approvers(
    session: AsyncSession, request_id: str, *, fresh: bool = False
) -> tuple[ApprovalRequest | None, list[str]]:
    """The request and the users who approved it so far, in order; ``fresh`` reads the row again
    even where ``session`` already holds it."""
    row = await session.get(ApprovalRequest, request_id, populate_existing=fresh)
    if row is None:
        return None, []
    votes = await session.scalars(
        select(ApprovalDecision.user_id)
        .where(ApprovalDecision.request_id == row.id, ApprovalDecision.decision == "approve")
        .order_by(ApprovalDecision.id)
    )
    return row, list(votes)


async def load(db: Database, request_id: str) -> tuple[ApprovalRequest | None, list[str]]:
    """The request (its id as typed) and the users who approved it so far, in order."""
    async with db.session() as session:
        return await with_approvers(session, request_id.strip().upper())


async def requests(
    db: Database, status: str, *, page: int = 1, per_page: int = 10, requester: str | None = None
) -> tuple[list[tuple[ApprovalRequest, list[str]]], int, int, int]:
    """Requests in ``status`` ("all" for every one), of ``requester`` if given, with their
    approvers, newest first: (rows, page, pages, total)."""
    where = [] if status == "all" else [ApprovalRequest.status == status]
    if requester is not None:
        where.append(ApprovalRequest.requester == requester)
    async with db.session() as session:
        total = await session.scalar(select(func.count()).select_from(ApprovalRequest).where(*where)) or 0
        page, pages, offset = _window(total, page, per_page)
        rows = list(
            await session.scalars(
                select(ApprovalRequest)
                .where(*where)
                .order_by(ApprovalRequest.created_at.desc(), ApprovalRequest.id)
                .offset(offset)
                .limit(per_page)
            )
        )
        votes: dict[str, list[str]] = {row.id: [] for row in rows}
        if rows:
            for request_id, user_id in await session.execute(
                select(ApprovalDecision.request_id, ApprovalDecision.user_id)
                .where(ApprovalDecision.request_id.in_(votes), ApprovalDecision.decision == "approve")
                .order_by(ApprovalDecision.id)
            ):
                votes[request_id].append(user_id)
    return [(row, votes[row.id]) for row in rows], page, pages, total


async def audit(
    db: Database, subject: str | None, *, page: int = 1, per_page: int = 25
) -> tuple[list[AuditEvent], int, int, int]:
    """Audit rows about a request id or (a part of) a target, newest first; every row without a
    subject: (events, page, pages, total)."""
    about = (
        {"request_id": subject.strip().upper()}
        if subject and policy.is_request_id(subject)
        else {"target": subject or None}
    )
    async with db.session() as session:
        total = await history_count(session, **about)
        page, pages, offset = _window(total, page, per_page)
        events = await history(session, **about, limit=per_page, offset=offset)
    return events, page, pages, total
