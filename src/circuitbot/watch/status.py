"""A watch's status and the only moves between statuses.

A watch starts ``active``. The outbox pauses it when its channel becomes unusable, and watching
the resource again on that channel resumes it. An end state of the resource, the resource
gone, or ``unwatch`` ends it, and an ended watch stays ended: watching again starts a new one
(the unique index on live watches, ``status IN ('active', 'paused')``, allows one per
provider, resource and channel). The values are the strings stored in ``watches.status``.
"""

from __future__ import annotations

from enum import StrEnum


class ForbiddenTransition(ValueError):
    """A watch was asked to move between statuses that do not follow each other."""


class WatchStatus(StrEnum):
    ACTIVE = "active"  # polled
    PAUSED = "paused"  # its channel is unusable: not polled, resumed by watching again
    ENDED = "ended"  # done with; kept for its history

    def may_become(self, new: WatchStatus) -> bool:
        return new in TRANSITIONS[self]

    def become(self, new: WatchStatus) -> WatchStatus:
        """``new``, if a watch in this status may move to it; ForbiddenTransition otherwise."""
        if not self.may_become(new):
            raise ForbiddenTransition(f"a watch cannot go from {self} to {new}")
        return new


TRANSITIONS: dict[WatchStatus, frozenset[WatchStatus]] = {
    WatchStatus.ACTIVE: frozenset({WatchStatus.PAUSED, WatchStatus.ENDED}),
    WatchStatus.PAUSED: frozenset({WatchStatus.ACTIVE, WatchStatus.ENDED}),
    WatchStatus.ENDED: frozenset(),
}

# The statuses of a watch that is still followed: one per provider, resource and channel.
LIVE = (WatchStatus.ACTIVE, WatchStatus.PAUSED)
