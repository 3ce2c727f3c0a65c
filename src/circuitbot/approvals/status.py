"""The statuses of an approval request and the moves between them, in one table.

The database stores the values as they are written here (``approval_requests.status``), so a
value never changes; a new status is a new member and its rows in ``TRANSITIONS``. Every move the
engine makes (a compare-and-set, see ``EngineCore._cas``) is checked against the table first.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class RequestStatus(StrEnum):
    PENDING = "pending"  # waiting for its approvals
    APPROVED = "approved"  # approvals in, not yet claimed by an executor
    EXECUTING = "executing"  # claimed: the provider is being (or was, before a crash) called
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the provider refused: nothing changed
    NEEDS_ATTENTION = "needs_attention"  # the outcome is unknown: a person must check the provider
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELED = "canceled"


# Status → the statuses it may move to. A status that may move nowhere is final.
TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.PENDING: frozenset(
        {RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.EXPIRED, RequestStatus.CANCELED}
    ),
    # A scheduled change may be canceled until an executor claims it.
    RequestStatus.APPROVED: frozenset({RequestStatus.EXECUTING, RequestStatus.CANCELED}),
    RequestStatus.EXECUTING: frozenset(
        {RequestStatus.SUCCEEDED, RequestStatus.FAILED, RequestStatus.NEEDS_ATTENTION}
    ),
    RequestStatus.SUCCEEDED: frozenset(),
    RequestStatus.FAILED: frozenset(),
    RequestStatus.NEEDS_ATTENTION: frozenset(),
    RequestStatus.REJECTED: frozenset(),
    RequestStatus.EXPIRED: frozenset(),
    RequestStatus.CANCELED: frozenset(),
}


class ForbiddenTransition(ValueError):
    """A move the table does not allow: a mistake in the code, never a race (races lose the CAS)."""


def check_transition(old: RequestStatus, new: RequestStatus) -> None:
    """Raise ForbiddenTransition unless a request in ``old`` may move to ``new``."""
    if new not in TRANSITIONS[old]:
        raise ForbiddenTransition(f"a request cannot move from {old} to {new}")
