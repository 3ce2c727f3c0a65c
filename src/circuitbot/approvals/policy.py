"""Who may decide what, how many approvals an operation needs, and how long a request lives.

Each rule returns the reason for a refusal (shown to the person who clicked and kept in the
audit row), or None when the action is allowed. The server applies them on every click.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from circuitbot.actions.registry import Caller, Operation, Role
from circuitbot.settings import Settings

# Request ids: "R" and six base32 characters, short enough to type in `/circuit cancel R7KQ2XA`.
REQUEST_ID = re.compile(r"^R[A-Z2-7]{6}$")


def is_request_id(text: str) -> bool:
    return bool(REQUEST_ID.match(text.strip().upper()))


def approvals_required(settings: Settings, op: Operation) -> int:
    """Distinct approvals the operation needs: its own default unless settings say otherwise."""
    return max(1, settings.approvals_needed(op.name, op.approvals))


def expires_at(settings: Settings, now: datetime) -> datetime:
    return now + timedelta(hours=settings.approval_ttl_hours)


def request_refusal(caller: Caller, op: Operation) -> str | None:
    needed = op.required_role
    if not caller.can(needed):
        return f"`{op.name}` needs the {needed.value} role; ask an admin to add you"
    return None


def approver_refusal(caller: Caller) -> str | None:
    """May ``caller`` decide requests at all? (Known without looking at the request.)"""
    if not caller.can(Role.APPROVER):
        return "only approvers may approve or reject requests"
    return None


def decision_refusal(
    caller: Caller, requester: str, settings: Settings, *, rejecting: bool = False
) -> str | None:
    """May ``caller`` approve (or reject) a request made by ``requester``?"""
    refusal = approver_refusal(caller)
    if refusal is not None:
        return refusal
    if caller.user_id == requester and not settings.allow_self_approval:
        if rejecting:
            return "this is your own request: cancel it instead"
        return "you cannot approve your own request; another approver must"
    return None


def cancel_refusal(caller: Caller, requester: str) -> str | None:
    if caller.user_id == requester or caller.can(Role.ADMIN):
        return None
    return "only the requester (or an admin) may cancel a request"
