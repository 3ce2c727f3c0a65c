"""One delivery of an outbox row, and how nothing is posted twice.

A delivery is bounded (``DELIVERY_TIMEOUT_SECONDS``) well inside the sender's lease, so no other
sender claims a row still being posted. And a post Slack took but this process never recorded
(a timeout after Slack accepted it, a crash before the pass was written) is found again: each
post carries Slack message metadata naming its row (``OUTBOX_EVENT``), and a row tried before
is first looked up in its channel or thread, and settled if it is there.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Row

from circuitbot.chat.reply import Poster, PostError, Reply
from circuitbot.store.tables import OutboxMessage

log = logging.getLogger(__name__)

# A delivery (a look-up and a post, single attempts of at most 10 s each with the Slack poster)
# is cut off here; the sender's lease is several times this, so a row is never posted by two senders.
DELIVERY_TIMEOUT_SECONDS = 30.0
OUTBOX_EVENT = "circuitbot_outbox"  # the metadata event_type tagging each post with its row
LOOKUP_MARGIN = timedelta(minutes=5)  # look from this long before a row was written (clock skew)
# A try that ended with one of these certainly posted nothing: no look-up before the next one.
NOT_POSTED = frozenset({"ratelimited", "no_poster"})
# A claim writes one of these into last_error, so a process that dies mid-delivery leaves a
# mark: whether the row may have been posted by then (its earlier tries, or this one) or not.
IN_FLIGHT = "in flight"
IN_FLIGHT_UNSURE = "in flight; an earlier try may have posted it"
LOOKUP_ERROR_PREFIX = "lookup_"  # a failed look-up proves nothing: the next try looks again
# Slack cannot show us the channel's history (no scope, a DM addressed by user id, …): post
# without looking rather than never.
CANNOT_LOOK = frozenset(
    {
        "missing_scope",
        "not_in_channel",
        "channel_not_found",
        "thread_not_found",
        "not_allowed_token_type",
        "method_not_supported_for_channel_type",
    }
)

# The thread and the card a row without its own goes to: a watch's, or its request's card in the
# row's channel (whose ts is also the thread of the request's notes there).
Target = tuple[str | None, str | None]


@runtime_checkable
class TaggingPoster(Protocol):
    """A poster that tags its posts with Slack message metadata and finds them again by it
    (``SlackPoster``); with any other poster the outbox posts untagged and never looks."""

    async def post(
        self,
        channel: str,
        reply: Reply,
        *,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str: ...

    async def find_posted(
        self, channel: str, metadata: dict[str, Any], *, thread_ts: str | None = None, since: datetime
    ) -> str | None:
        """The ts of the bot's message carrying ``metadata`` posted since ``since`` in the
        channel (in ``thread_ts``'s thread when given), or None. Raises PostError."""
        ...


@dataclass(frozen=True)
class Claimed:
    """An outbox row leased for one delivery."""

    id: int
    kind: str
    stream: str
    channel: str
    thread_ts: str | None
    update_ts: str | None
    user: str | None
    payload: dict[str, Any]
    watch_id: int | None
    request_id: str | None
    attempts: int  # including this one
    created_at: datetime
    last_error: str | None  # IN_FLIGHT or IN_FLIGHT_UNSURE, as the claim wrote it

    @classmethod
    def of(cls, row: Row[Any]) -> Claimed:
        return cls(
            id=row.id,
            kind=row.kind,
            stream=row.stream,
            channel=row.channel,
            thread_ts=row.thread_ts,
            update_ts=row.update_ts,
            user=row.user,
            payload=dict(row.payload),
            watch_id=row.watch_id,
            request_id=row.request_id,
            attempts=row.attempts,
            created_at=row.created_at,
            last_error=row.last_error,
        )

    @property
    def tag(self) -> dict[str, Any]:
        """The Slack message metadata naming this row."""
        return {"event_type": OUTBOX_EVENT, "event_payload": {"outbox_id": self.id}}

    @property
    def may_have_been_posted(self) -> bool:
        """An earlier attempt may have reached Slack: look before posting again."""
        return self.last_error == IN_FLIGHT_UNSURE


CLAIMED_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.kind,
    OutboxMessage.stream,
    OutboxMessage.channel,
    OutboxMessage.thread_ts,
    OutboxMessage.update_ts,
    OutboxMessage.user,
    OutboxMessage.payload,
    OutboxMessage.watch_id,
    OutboxMessage.request_id,
    OutboxMessage.attempts,
    OutboxMessage.created_at,
    OutboxMessage.last_error,
)


@dataclass(frozen=True)
class Outcome:
    """How one delivery went."""

    row: Claimed
    sent_ts: str | None = None
    error: str | None = None  # Slack's error code, when the delivery failed
    retry_after: float | None = None


async def deliver(poster: Poster | None, row: Claimed, target: Target | None) -> Outcome:
    """One try at delivering ``row``: its outcome, whatever went wrong (bounded in time)."""
    try:
        async with asyncio.timeout(DELIVERY_TIMEOUT_SECONDS):
            return await _attempt(poster, row, target)
    except PostError as exc:
        return Outcome(row, error=exc.error, retry_after=exc.retry_after)
    except Exception as exc:  # a timeout, a network error, a bug in a poster: retry like an outage
        log.warning("outbox row %s: delivery raised %s", row.id, type(exc).__name__)
        return Outcome(row, error=type(exc).__name__)


async def _attempt(poster: Poster | None, row: Claimed, target: Target | None) -> Outcome:
    if poster is None:
        raise PostError("no_poster")
    thread_ts, status_ts = target or (None, None)
    reply = Reply(text=row.payload.get("text", ""), blocks=list(row.payload.get("blocks") or []))
    reply.ephemeral = row.kind == "ephemeral"
    if row.kind in ("post", "parent", "reply"):
        if row.kind == "reply":
            thread_ts = row.thread_ts or thread_ts
        else:
            thread_ts = row.thread_ts
        if not isinstance(poster, TaggingPoster):
            return Outcome(row, sent_ts=await poster.post(row.channel, reply, thread_ts=thread_ts))
        if row.may_have_been_posted:
            found = await _posted_before(poster, row, thread_ts)
            if found is not None:
                log.info("outbox row %s was posted by an earlier attempt (ts %s)", row.id, found)
                return Outcome(row, sent_ts=found)
        ts = await poster.post(row.channel, reply, thread_ts=thread_ts, metadata=row.tag)
        return Outcome(row, sent_ts=ts)
    if row.kind == "update":  # an edit is the same edit however often it is made
        edited = row.update_ts or status_ts
        if edited is None:  # the card was never posted (Slack refused it): nothing to edit
            raise PostError("message_not_found")
        await poster.update(row.channel, edited, reply)
        return Outcome(row, sent_ts=edited)
    # An ephemeral message cannot be looked up: a retry may show it twice, to one person.
    await poster.post_ephemeral(row.channel, row.user or "", reply)
    return Outcome(row)


async def _posted_before(poster: TaggingPoster, row: Claimed, thread_ts: str | None) -> str | None:
    """The ts of this row's post if an earlier attempt made it; None if not, or if Slack
    cannot say (then posting again is the lesser evil: a message twice, never none)."""
    try:
        return await poster.find_posted(
            row.channel, row.tag, thread_ts=thread_ts, since=row.created_at - LOOKUP_MARGIN
        )
    except PostError as exc:
        if exc.error not in CANNOT_LOOK:  # Slack is busy or down: the post would fare no better
            raise PostError(LOOKUP_ERROR_PREFIX + exc.error, retry_after=exc.retry_after) from exc
        log.warning("outbox row %s: cannot look for an earlier post (%s)", row.id, exc.error)
        return None
