"""What a digest says: one message of what needs attention, read from the database.

Pending approvals and their age, changes scheduled in the next 24 hours, watched resources not
in a stable state (changing by their provider's vocabulary, unreachable, or paused), changes
executed since the last digest, and failures or ``needs_attention`` requests since then. Each
part is capped (``SHOWN``) with a count of the rest; every text a user typed is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from circuitbot.approvals.status import RequestStatus
from circuitbot.approvals.windows import when
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.store.tables import ApprovalRequest, Digest, Watch
from circuitbot.watch.status import WatchStatus

if TYPE_CHECKING:
    pass

SHOWN = 10  # lines per part


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} days"


def _what(row: ApprovalRequest) -> str:
    summary = bk.clip((row.preview or {}).get("summary") or "", 80)
    return f"`{row.id}` {bk.escape(row.operation)}: {bk.escape(summary)}"


def _part(title: str, lines: Sequence[str]) -> str:
    if not lines:
        return f"*{title}:* none"
    more = f"\n… and {len(lines) - SHOWN} more" if len(lines) > SHOWN else ""
    return f"*{title}:*\n" + "\n".join(f"• {line}" for line in lines[:SHOWN]) + more


async def build(runtime, digest: Digest, occurrence: datetime, since: datetime) -> Reply:
    """The digest of ``occurrence``: what stands now, and what happened since ``since``."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        requests = list(
            await session.scalars(
                select(ApprovalRequest)
                .where(
                    ApprovalRequest.status.in_(
                        [
                            RequestStatus.PENDING,
                            RequestStatus.APPROVED,
                            RequestStatus.SUCCEEDED,
                            RequestStatus.FAILED,
                            RequestStatus.NEEDS_ATTENTION,
                        ]
                    )
                )
                .order_by(ApprovalRequest.created_at)
            )
        )
        watches = list(
            await session.scalars(
                select(Watch)
                .where(Watch.status.in_([WatchStatus.ACTIVE, WatchStatus.PAUSED]))
                .order_by(Watch.id)
            )
        )
    recent = [r for r in requests if r.finished_at is not None and r.finished_at > since]
    pending = [
        f"{_what(r)} · waiting {_age(now - r.created_at)}"
        for r in requests
        if r.status == RequestStatus.PENDING
    ]
    soon = [
        f"{_what(r)} · {when(r.scheduled_for, r.run_tz)}"
        for r in requests
        if r.status == RequestStatus.APPROVED
        and r.scheduled_for is not None
        and now <= r.scheduled_for <= now + timedelta(hours=24)
    ]
    done = [_what(r) for r in recent if r.status == RequestStatus.SUCCEEDED]
    failed = [
        f"{_what(r)} · {r.status.replace('_', ' ')}: {bk.escape(bk.clip(r.error or '', 100))}"
        for r in requests
        if r.status in (RequestStatus.FAILED, RequestStatus.NEEDS_ATTENTION)
        and r.finished_at is not None
        and r.finished_at > since
    ]
    unstable = [_watch_line(runtime, w) for w in watches if _unstable(runtime, w)]
    head = f":newspaper: *Digest* for {when(occurrence, digest.tz if digest.tz != 'UTC' else None)}"
    parts = [
        _part("Pending approvals", pending),
        _part("Scheduled in the next 24 hours", soon),
        _part("Watched resources not stable", unstable),
        _part(f"Executed since {when(since)}", done),
        _part("Failed or needing attention", failed),
    ]
    text = "\n\n".join([head, *parts])
    return Reply(
        text=bk.clip(text, 3000), blocks=[bk.section(head), *map(bk.section, parts)], ephemeral=False
    )


def _unstable(runtime, watch: Watch) -> bool:
    if watch.status == WatchStatus.PAUSED or watch.unreachable:
        return True
    return runtime.vocabulary(watch.provider).is_transitional(watch.snapshot)


def _watch_line(runtime, watch: Watch) -> str:
    if watch.status == WatchStatus.PAUSED:
        state = "paused"
    elif watch.unreachable:
        state = "unreachable"
    else:
        state = " / ".join(str(v) for k, v in (watch.snapshot or {}).items() if "[" not in k)
    label = bk.escape(bk.clip(watch.label or watch.resource_id, 60))
    return f"{watch.provider} *{label}* in <#{watch.channel}> · {bk.escape(bk.clip(state, 60))}"
