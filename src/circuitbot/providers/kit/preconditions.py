"""Preconditions: what a change's preview read, checked again on a fresh read before writing.

A preview records in ``Preview.precondition`` the version of the resource the approver saw:
its etag where the provider has one (sent as ``If-Match`` too, yet compared with a fresh read
first, as an API may not enforce the header), or else a state or version field it reports.
Execution compares that record with a fresh read, so a resource that changed in between is
refused with nothing written rather than overwritten. A create records that the resource was
absent instead (sent as ``If-None-Match: *`` where the provider has it).

A change returns ``Changed`` (the resource before and after); the provider renders it through
the hook ``changed_render`` makes from its own describing function.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from circuitbot.actions.registry import OpContext, OperationError, Params, Refused, Verified
from circuitbot.chat.reply import Reply

ETAG = "etag"
ABSENT = "absent"

T = TypeVar("T")


def changed_since_review(what: str, how: str) -> OperationError:
    """The error of a write refused because its resource changed after the preview read it."""
    return OperationError(
        f"{what} changed since the request was reviewed for approval ({how}), so nothing was "
        "written; request it again to review the current state"
    )


def approved_etag(ctx: OpContext) -> str:
    """The etag the preview read, which the write must match."""
    etag = (ctx.precondition or {}).get(ETAG)
    if not etag:
        raise OperationError("the request carries no etag from its preview; request it again")
    return str(etag)


def absent() -> dict[str, Any]:
    """The precondition of a create: nothing of that name existed when the preview read."""
    return {ABSENT: True}


def expects_absent(precondition: Mapping[str, Any] | None) -> bool:
    """Whether the approved change is a create (it recorded absence, not a version)."""
    precondition = precondition or {}
    return not precondition.get(ETAG) and bool(precondition.get(ABSENT))


def require_unchanged(what: str, recorded: Mapping[str, Any], fresh: Mapping[str, Any]) -> None:
    """Refuse the write when a field the preview recorded (a state, a version) now differs.

    For providers without etags: ``recorded`` is the preview's precondition, ``fresh`` the same
    fields as just read. Only recorded fields count; a field the fresh read lacks has changed.
    """
    for name, then in recorded.items():
        now = fresh.get(name)
        if now != then:
            raise changed_since_review(what, f"its {name} was {then}, now {now}")


def refuse_while_busy(what: str, state: str | None, busy: Collection[str]) -> None:
    """Refused while another change of the resource runs (``state`` is one of ``busy``, any
    case): the provider would reject a second one (Azure answers 409)."""
    if (state or "").lower() in {b.lower() for b in busy}:
        raise Refused(f"{what} is {state}: another change is still running; try again once it finished")


def landed(
    now: Mapping[str, Any],
    wanted: Mapping[str, Any],
    *,
    state: str | None = None,
    busy: Collection[str] = (),
) -> Verified:
    """What a fresh read says of a change, for ``verify`` after a crash.

    A resource whose state (when given) is one of ``busy`` (any case) is still changing:
    IN_FLIGHT whatever its fields say, as the write's fields show at once while its operation
    may yet end Failed. Otherwise LANDED when every wanted field has its value and the state is
    not Failed, else NOT_LANDED.
    """
    state = (state or "").lower()
    if state in {b.lower() for b in busy}:
        return Verified.IN_FLIGHT
    if all(now.get(name) == value for name, value in wanted.items()) and state != "failed":
        return Verified.LANDED
    return Verified.NOT_LANDED


@dataclass(frozen=True)
class Changed(Generic[T]):
    """A resource before and after a change, with the one-line title of what was done."""

    title: str
    before: T
    after: T


def changed_render(
    describe: Callable[[str, T, T], Reply],
) -> Callable[[Changed[T], Params, OpContext], Reply]:
    """An Operation's render for a ``Changed`` result, from the provider's ``describe``."""

    def render(result: Changed[T], params: Params, ctx: OpContext) -> Reply:
        return describe(result.title, result.before, result.after)

    return render
