"""Confirming a write whose answer was lost, by reading the resource back.

When the answer to a write is lost (a dropped connection, a gateway error) the provider may
have applied it. Sending it again is no way to find out: once the first was accepted, a
conditional repeat fails its condition (412, 409) and an unconditional one may be applied
twice. So the write is never sent again; the resource is read to see whether the change is in
place and, when the caller waits, read until it has settled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from circuitbot.clock import Clock

ResourceT = TypeVar("ResourceT")


class Outcome(StrEnum):
    NOT_VISIBLE = "not visible"  # not applied, or still on its way: the caller cannot tell
    APPLIED = "applied"  # in place (and settled, when the caller waited)
    STILL_SETTLING = "still settling"  # in place, but not settled before the time ran out


@dataclass(frozen=True)
class Confirmation(Generic[ResourceT]):
    outcome: Outcome
    found: ResourceT | None  # the resource as last read; None when it is absent


async def confirm_write(
    read: Callable[[], Awaitable[ResourceT | None]],
    applied: Callable[[ResourceT | None], bool],
    *,
    settling: Callable[[ResourceT], bool] | None = None,
    clock: Clock,
    poll_interval: float = 10.0,
    settle_within: float = 3600.0,
) -> Confirmation[ResourceT]:
    """Whether the lost write is in place: ``read`` (None: the resource is absent) and ask
    ``applied``. With ``settling`` the resource is then read every ``poll_interval`` seconds
    while ``settling`` finds it still changing, for at most ``settle_within`` seconds."""
    found = await read()
    if not applied(found):
        return Confirmation(Outcome.NOT_VISIBLE, found)
    if settling is None:
        return Confirmation(Outcome.APPLIED, found)
    deadline = clock.monotonic() + settle_within
    while found is not None and settling(found):
        if clock.monotonic() >= deadline:
            return Confirmation(Outcome.STILL_SETTLING, found)
        await clock.sleep(poll_interval)
        found = await read()
    return Confirmation(Outcome.APPLIED, found)
