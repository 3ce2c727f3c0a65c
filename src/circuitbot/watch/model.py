"""What the watch engine hands around: a watch as callers see it, a claimed watch as its poll
sees it, and what a tick did."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Row, Table

from circuitbot.providers.base import Snapshot, is_part_field
from circuitbot.store.tables import Watch
from circuitbot.watch.status import WatchStatus

ID_CHUNK = 500  # ids per IN (…) list

_T = TypeVar("_T")


@dataclass(frozen=True)
class WatchInfo:
    """A watch as callers see it."""

    id: int
    provider: str
    resource_id: str
    label: str
    channel: str
    thread_ts: str | None
    status: WatchStatus
    status_reason: str | None
    snapshot: Snapshot
    next_poll_at: datetime
    unreachable: bool
    created_by: str
    request_id: str | None = None
    created: bool = False  # this call started it (rather than finding it already watched)

    @classmethod
    def of(cls, row: Watch, *, created: bool = False) -> WatchInfo:
        return cls(
            id=row.id,
            provider=row.provider,
            resource_id=row.resource_id,
            label=row.label or row.resource_id,
            channel=row.channel,
            thread_ts=row.thread_ts,
            status=WatchStatus(row.status),
            status_reason=row.status_reason,
            snapshot=dict(row.snapshot or {}),
            next_poll_at=row.next_poll_at,
            unreachable=row.unreachable,
            created_by=row.created_by,
            request_id=row.request_id,
            created=created,
        )

    def state_text(self) -> str:
        """The watch's state in a few words: paused and why, unreachable, or its own values."""
        if self.status == WatchStatus.PAUSED:
            return f"paused: {self.status_reason or ''}".strip()
        if self.unreachable:
            return "unreachable"
        values = [v for k, v in self.snapshot.items() if not is_part_field(k)]
        return " / ".join(values) or "—"


@dataclass
class TickReport:
    """What one tick did (for logs and benchmarks)."""

    claimed: int = 0
    resources: int = 0  # distinct resources read
    calls: collections.Counter[str] = field(default_factory=collections.Counter)  # provider -> calls
    transitions: int = 0
    errors: int = 0
    ended: int = 0
    messages: int = 0  # outbox rows written


@dataclass(frozen=True)
class Due:
    """A claimed watch: what its poll needs to know."""

    id: int
    provider: str
    resource_id: str
    label: str
    channel: str
    thread_ts: str | None
    snapshot: Snapshot
    version: int
    error_count: int
    unreachable: bool

    @classmethod
    def of(cls, row: Watch | Row[Any]) -> Due:
        """From a Watch, or a row RETURNING the same columns (see ``DUE_COLUMNS``)."""
        return cls(
            row.id,
            row.provider,
            row.resource_id,
            row.label or row.resource_id,
            row.channel,
            row.thread_ts,
            dict(row.snapshot or {}),
            row.version,
            row.error_count,
            row.unreachable,
        )


# The watches table as Core sees it: the sweep claims and writes thousands of rows a round,
# which the ORM would track one object at a time.
WATCHES = cast(Table, Watch.__table__)
DUE_COLUMNS = (
    "id",
    "provider",
    "resource_id",
    "label",
    "channel",
    "thread_ts",
    "snapshot",
    "version",
    "error_count",
    "unreachable",
)


def chunks(items: list[_T]) -> list[list[_T]]:
    """``items`` in lists short enough for one ``IN (…)``."""
    return [items[n : n + ID_CHUNK] for n in range(0, len(items), ID_CHUNK)]
