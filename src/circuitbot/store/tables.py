"""Every table the bot keeps. Migrations in ``migrations/versions`` create exactly these
(a test compares the migrated schema with this metadata)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from circuitbot.approvals.status import RequestStatus


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        from datetime import UTC

        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """Who did what, when, to what, and how it ended. Never holds a secret in clear text."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))  # Slack user id, or "system"
    action: Mapped[str] = mapped_column(String(64))  # "command", "request.created", "approve", "refused", …
    target: Mapped[str | None] = mapped_column(String(255))  # provider:resource
    request_id: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(32))  # ok, refused, failed, …
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The Slack request (c-…) or approved change (R…) the row belongs to: see circuitbot.context.
    correlation_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Index("ix_audit_events_request_id", "request_id"),
        Index("ix_audit_events_target", "target"),
        Index("ix_audit_events_at", "at"),
    )


class ApprovalRequest(Base):
    """A mutating operation waiting for, or past, its approvals.

    ``status`` moves only by compare-and-set (``UPDATE … WHERE status = <expected>``):
    pending → approved → executing → succeeded | failed | needs_attention, or
    pending → rejected | expired | canceled, or approved → canceled before a scheduled change
    starts (the table: ``approvals.status.TRANSITIONS``).
    """

    __tablename__ = "approval_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))  # registry name, e.g. "azure.move"
    provider: Mapped[str | None] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(255))
    params: Mapped[dict[str, Any]]  # secret params are encrypted (see approvals.secrets)
    requester: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))  # where it was asked
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    approvals_channel: Mapped[str | None] = mapped_column(String(64))
    approvals_ts: Mapped[str | None] = mapped_column(String(32))  # the approval message
    requester_ts: Mapped[str | None] = mapped_column(String(32))  # the copy in the requester's channel
    preview: Mapped[dict[str, Any]] = mapped_column(default=dict)
    precondition: Mapped[dict[str, Any]] = mapped_column(default=dict)  # e.g. {"etag": …, "state": …}
    status: Mapped[str] = mapped_column(String(24), default=RequestStatus.PENDING.value)
    approvals_required: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)  # reject reason
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # executor instance
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # A scheduled change: the time asked for (at=) and its zone, and when it is set to run (the
    # first moment at or after it inside a change window and outside the freezes); None: at once.
    run_at: Mapped[datetime | None]
    run_tz: Mapped[str | None] = mapped_column(String(64))
    scheduled_for: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_approval_requests_status", "status"),
        Index("ix_approval_requests_target", "target"),
    )


class ApprovalDecision(Base):
    """One approver's vote; the unique key makes N approvals N distinct people."""

    __tablename__ = "approval_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("approval_requests.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # approve | reject
    at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("request_id", "user_id", name="uq_approval_decisions_request_user"),)


class Watch(Base):
    """A resource followed on a channel. Polling claims due rows; transitions go to the outbox.

    ``status_ts`` is the bot's status card (current state and timeline), edited at each change;
    ``thread_ts`` is the thread the changes are posted in: the card's own thread, or the thread
    the watch was started from (an approval's). ``version`` grows at every write a poll or a
    status change makes, so a poll whose claim outlived its lease cannot record the same change
    twice, nor undo what a later poll recorded.
    """

    __tablename__ = "watches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(512))
    label: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(32))  # the thread changes are posted in
    status_ts: Mapped[str | None] = mapped_column(String(32))  # the status card, once posted
    created_by: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(32))  # the approval that started it, if any
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | paused | ended
    status_reason: Mapped[str | None] = mapped_column(Text)
    next_poll_at: Mapped[datetime]
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    unreachable: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_watches_due", "status", "next_poll_at"),
        Index("ix_watches_resource", "provider", "resource_id"),
        # One live watch per resource and channel, however many clicks or replicas start it.
        Index(
            "uq_watches_live",
            "provider",
            "resource_id",
            "channel",
            unique=True,
            sqlite_where=text("status IN ('active', 'paused')"),
            postgresql_where=text("status IN ('active', 'paused')"),
        ),
    )


class WatchTransition(Base):
    """One detected change of a watched resource: the timeline of its parent message."""

    __tablename__ = "watch_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any]]
    summary: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_watch_transitions_watch", "watch_id", "id"),)


class OutboxMessage(Base):
    """A Slack message to deliver, written in the same transaction as the change it reports.

    ``kind``: post (a message, in ``thread_ts`` if set) | parent (a watch's status card: its ts
    becomes the watch's ``status_ts``) | reply (in the watch's thread) | update (edit
    ``update_ts``, or the watch's card) | ephemeral (to ``user``). Rows of one ``stream`` (a
    watch, a thread, a channel) are delivered in id order: a later one never overtakes an
    earlier one still pending. ``next_attempt_at`` also leases a row to the sender delivering it.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    stream: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    update_ts: Mapped[str | None] = mapped_column(String(32))  # for kind=update
    user: Mapped[str | None] = mapped_column(String(64))  # for kind=ephemeral
    payload: Mapped[dict[str, Any]]  # {"text": …, "blocks": […]}
    watch_id: Mapped[int | None] = mapped_column(ForeignKey("watches.id", ondelete="SET NULL"))
    request_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    sent_ts: Mapped[str | None] = mapped_column(String(32))
    # pending | sent | failed | superseded (a newer edit of the same card replaced it unsent)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # how the latest try ended, or "in flight…" while one is under way (or its sender died)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_stream", "stream", "status", "id"),
    )


class FormState(Base):
    """What a modal must remember beyond Slack's 3,000-character ``private_metadata``: the
    view carries only this row's id. Rows expire; each new one purges the expired ones."""

    __tablename__ = "form_states"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    text: Mapped[str] = mapped_column(Text)  # the command line the form came from, secrets masked
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_form_states_expires_at", "expires_at"),)


class HomeViewer(Base):
    """Someone who opened the bot's App Home: whose Home tab is published again when one of
    their requests, a request they may decide, or one of their watches changes."""

    __tablename__ = "home_viewers"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    opened_at: Mapped[datetime]


class Digest(Base):
    """A scheduled digest of what needs attention, posted to ``channel`` at ``at`` (HH:MM in
    ``tz``) every day, or every week on ``day``. Removed digests stay, inactive, for the audit."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64))
    cadence: Mapped[str] = mapped_column(String(16))  # daily | weekly
    day: Mapped[str | None] = mapped_column(String(3))  # mon … sun, for weekly
    at: Mapped[str] = mapped_column(String(5))  # HH:MM
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_occurrence: Mapped[datetime | None]  # the occurrence posted last: "since the last digest"
    active: Mapped[bool] = mapped_column(default=True)


class DigestPost(Base):
    """The claim of one occurrence of a digest: its primary key lets one replica post it."""

    __tablename__ = "digest_posts"

    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True)
    occurrence: Mapped[datetime] = mapped_column(primary_key=True)
    posted_at: Mapped[datetime]
