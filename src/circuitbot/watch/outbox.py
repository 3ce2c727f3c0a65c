"""The outbox: Slack messages written in the same transaction as the change they report.

Every message the bot posts on its own (a watch's card and replies, an approval's messages, a
direct message) is an outbox row, written with the change it reports, so a change is never
recorded without its message nor announced without its change. Rows belong to a stream
(:func:`stream_of`), delivered in the order written; ``watch.sender`` delivers them.

A row that belongs to a watch or an approval request may leave its thread and the message it
edits empty: the sender takes them from the watch (its card) or the request (its card in that
channel) at delivery time, as posted by an earlier row of the same stream. Edits of one card are
coalesced: an edit not yet sent is dropped when a newer one is written, so the last state wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot.chat.reply import Reply
from circuitbot.store.tables import OutboxMessage
from circuitbot.watch.delivery import IN_FLIGHT, IN_FLIGHT_UNSURE

KINDS = frozenset({"post", "parent", "reply", "update", "ephemeral"})
STREAM_CHUNK = 500  # streams per IN (…) list


def stream_of(
    *,
    watch_id: int | None,
    channel: str,
    thread_ts: str | None,
    user: str | None = None,
    request_id: str | None = None,
) -> str:
    """The ordering key: messages of one stream are delivered in the order they were written.
    An approval request has one stream per channel its card is in."""
    if watch_id is not None:
        return f"watch:{watch_id}"
    if request_id is not None:
        return f"request:{request_id}:{channel}"
    if user is not None:
        return f"user:{user}:{channel}"
    return f"thread:{channel}:{thread_ts}" if thread_ts else f"channel:{channel}"


def enqueue(session: AsyncSession, **columns: Any) -> OutboxMessage:
    """Add a message to the outbox, in the caller's transaction (with the change it reports);
    ``columns`` are :func:`outbox_row`'s arguments.

    ``reply`` and ``parent`` rows of a watch may leave ``thread_ts`` empty and ``update`` rows
    ``update_ts``: the sender takes the watch's thread and card at delivery time (the card is
    posted by an earlier row of the same stream). Wake the sender after the commit
    (``runtime.watches.sender.wake()``) for prompt delivery; it also finds rows on its own.
    """
    row = OutboxMessage(**outbox_row(**columns))
    session.add(row)
    return row


def outbox_row(
    *,
    kind: str,
    channel: str,
    reply: Reply,
    at: datetime,
    thread_ts: str | None = None,
    update_ts: str | None = None,
    user: str | None = None,
    watch_id: int | None = None,
    request_id: str | None = None,
    stream: str | None = None,
) -> dict[str, Any]:
    """An outbox row's columns, for :func:`enqueue` or, many at once, :func:`enqueue_many`."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if kind == "ephemeral" and not user:
        raise ValueError("an ephemeral message needs a user")
    return {
        "kind": kind,
        "stream": stream
        or stream_of(
            watch_id=watch_id, channel=channel, thread_ts=thread_ts, user=user, request_id=request_id
        ),
        "channel": channel,
        "thread_ts": thread_ts,
        "update_ts": update_ts,
        "user": user,
        "payload": reply.as_message(),
        "watch_id": watch_id,
        "request_id": request_id,
        "created_at": at,
        "next_attempt_at": at,
        "attempts": 0,
        "status": "pending",
    }


async def enqueue_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert :func:`outbox_row` rows in multi-row statements; ids follow the order given.

    Through Core: the ORM's bulk insert leaves out the None columns and groups only neighbouring
    rows of the same columns, so a card edit after each reply made one INSERT a row."""
    if rows:
        await session.execute(insert(cast(Table, OutboxMessage.__table__)), list(rows))


async def supersede_card_updates(session: AsyncSession, watch_ids: Sequence[int]) -> None:
    """Drop these watches' card edits not yet sent: the edits about to be written replace them."""
    await supersede_updates(session, [stream_of(watch_id=w, channel="", thread_ts=None) for w in watch_ids])


async def supersede_updates(
    session: AsyncSession, streams: Sequence[str], now: datetime | None = None
) -> None:
    """Drop the edits of these streams not yet sent: the edits about to be written replace them.

    An edit being delivered right now (leased until after ``now``) is kept: a newer edit sent
    beside it could land first and be overwritten. One waiting for its retry is dropped."""
    not_in_flight = OutboxMessage.attempts == 0
    if now is not None:
        not_in_flight = or_(
            not_in_flight,
            OutboxMessage.last_error.not_in((IN_FLIGHT, IN_FLIGHT_UNSURE)),
            OutboxMessage.next_attempt_at <= now,
        )
    for start in range(0, len(streams), STREAM_CHUNK):
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.stream.in_(streams[start : start + STREAM_CHUNK]),
                OutboxMessage.kind == "update",
                OutboxMessage.status == "pending",
                not_in_flight,
            )
            .values(status="superseded")
            .execution_options(synchronize_session=False)
        )
