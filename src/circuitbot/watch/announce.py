"""Saying what happened to watches: their transition rows, replies in their threads and card
edits, written to the outbox in the transaction that records the change."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot.chat.reply import Reply
from circuitbot.providers.base import Snapshot
from circuitbot.store.tables import WatchTransition
from circuitbot.watch import messages
from circuitbot.watch.model import Due, chunks
from circuitbot.watch.outbox import enqueue_many, outbox_row, supersede_card_updates


@dataclass
class News:
    """What to say about one watch: replies in its thread, and its card's new state."""

    watch: Due
    replies: list[Reply]
    snapshot: Snapshot
    status: str
    transition: dict[str, Any] | None = None  # the watch_transitions row of the change


def transition_row(watch: Due, at: datetime, old: Snapshot, new: Snapshot, line: str) -> dict[str, Any]:
    return {"watch_id": watch.id, "at": at, "old": old, "new": new, "summary": line}


async def announce(session: AsyncSession, news: Sequence[News], *, at: datetime) -> int:
    """Each watch's transition row, its replies in its thread, then its card brought up to date
    with its latest timeline; how many outbox rows that was. A fixed number of statements
    for any number of watches (the inserts go out as multi-row statements)."""
    if not news:
        return 0
    transitions = [n.transition for n in news if n.transition is not None]
    if transitions:  # before the timelines are read: the new transitions belong in them
        await session.execute(insert(WatchTransition), transitions)
    ids = [n.watch.id for n in news]
    timelines = await _timelines(session, ids)
    await supersede_card_updates(session, ids)
    rows = []
    for item in news:
        watch = item.watch
        for reply in item.replies:
            rows.append(
                outbox_row(
                    kind="reply",
                    channel=watch.channel,
                    thread_ts=watch.thread_ts,
                    watch_id=watch.id,
                    reply=reply,
                    at=at,
                )
            )
        card = messages.card(
            provider=watch.provider,
            resource_id=watch.resource_id,
            label=watch.label,
            snapshot=item.snapshot,
            status=item.status,
            timeline=timelines.get(watch.id, []),
        )
        rows.append(outbox_row(kind="update", channel=watch.channel, watch_id=watch.id, reply=card, at=at))
    await enqueue_many(session, rows)
    return len(rows)


async def _timelines(session: AsyncSession, watch_ids: list[int]) -> dict[int, list[tuple[datetime, str]]]:
    """The latest transitions of each watch (oldest first), for its card: one query per chunk."""
    timelines: dict[int, list[tuple[datetime, str]]] = collections.defaultdict(list)
    for chunk in chunks(watch_ids):
        ranked = (
            select(
                WatchTransition.watch_id,
                WatchTransition.at,
                WatchTransition.summary,
                func.row_number()
                .over(partition_by=WatchTransition.watch_id, order_by=WatchTransition.id.desc())
                .label("place"),
            )
            .where(WatchTransition.watch_id.in_(chunk))
            .subquery()
        )
        rows = await session.execute(
            select(ranked.c.watch_id, ranked.c.at, ranked.c.summary)
            .where(ranked.c.place <= messages.TIMELINE_ENTRIES)
            .order_by(ranked.c.watch_id, ranked.c.place.desc())
        )
        for row in rows:
            timelines[row.watch_id].append((row.at, row.summary))
    return timelines
