"""``/circuit digest #channel daily 09:00 [zone]`` (or ``weekly <day> <time> [zone]``),
``/circuit digests [#channel]`` and ``/circuit undigest <id>``.

A digest changes nothing at a provider, so none of these needs an approval.
"""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from circuitbot.actions.registry import OpContext, Operation, OperationError, Params, Registry, Role
from circuitbot.approvals.windows import DAYS, when
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.digests.engine import DigestEngine
from circuitbot.store.tables import Digest
from circuitbot.watch.commands import _channel, _check_postable, _where

TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class DigestParams(Params):
    positional = ("channel", "cadence", "when")
    rest_of_line = True
    channel: str = Field(description="where to post it, as #channel")
    cadence: Literal["daily", "weekly"] = Field(description="daily, or weekly on a day")
    when: str = Field(description="HH:MM [time zone], or for weekly: <day> HH:MM [time zone]")

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        return _channel(value) or value

    def schedule(self) -> tuple[str | None, str, str]:
        """(day, HH:MM, zone) from ``when``; OperationError says what is expected."""
        words = self.when.split()
        day = words.pop(0).lower()[:3] if self.cadence == "weekly" and words else None
        if self.cadence == "weekly" and day not in DAYS:
            raise OperationError("weekly digests take a day first: `weekly mon 09:00`")
        if not words or not TIME.match(words[0]) or len(words) > 2:
            raise OperationError(
                "give the time as HH:MM, then a time zone if not UTC: `daily 09:00 Europe/Paris`"
            )
        zone = words[1] if len(words) == 2 else "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise OperationError(
                f"unknown time zone {bk.code(zone)} (use a name such as Europe/Paris)"
            ) from None
        hour, minute = words[0].split(":")
        return day, f"{int(hour):02d}:{minute}", zone


class DigestsParams(Params):
    positional = ("channel",)
    channel: str | None = Field(None, description="only the digests of this channel")

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        return _channel(value)


class UndigestParams(Params):
    positional = ("digest_id",)
    digest_id: int = Field(description="the digest's number, as `digests` lists it")


def _engine(ctx: OpContext) -> DigestEngine:
    engine = ctx.runtime.digests
    if engine is None:
        raise OperationError("digests are not running in this process")
    return engine


def _describe(digest: Digest) -> str:
    day = f" on {digest.day.capitalize()}" if digest.cadence == "weekly" and digest.day else ""
    return f"#{digest.id} {digest.cadence}{day} at {digest.at} {digest.tz} in <#{digest.channel}>"


async def digest_execute(ctx: OpContext, params: DigestParams) -> Reply:
    day, at, zone = params.schedule()
    channel = _where(ctx, params.channel)
    await _check_postable(ctx, channel)  # refused at once where the bot cannot post
    engine = _engine(ctx)
    digest = await engine.create(
        channel=channel, cadence=params.cadence, day=day, at=at, tz=zone, by=ctx.caller.user_id
    )
    first = engine.next_run(digest)
    shown = f"; the first on {when(first, zone if zone != 'UTC' else None)}" if first else ""
    return Reply.plain(
        f":newspaper: Digest {_describe(digest)}{shown}. Remove it with `/circuit undigest {digest.id}`."
    )


async def digests_execute(ctx: OpContext, params: DigestsParams) -> Reply:
    digests = await _engine(ctx).list(params.channel)
    if not digests:
        return Reply.plain("No digests. Set one with `/circuit digest #channel daily 09:00`.")
    lines = [f"• {_describe(d)}" for d in digests]
    return Reply.plain(f"*{len(digests)} digest{'s' if len(digests) != 1 else ''}*\n" + "\n".join(lines))


async def undigest_execute(ctx: OpContext, params: UndigestParams) -> Reply:
    digest = await _engine(ctx).remove(params.digest_id)
    if digest is None:
        raise OperationError(f"no digest #{params.digest_id} (`/circuit digests` lists them)")
    return Reply.plain(f":wastebasket: Removed digest {_describe(digest)}.")


def register(registry: Registry) -> None:
    registry.add(
        Operation(
            provider=None,
            verb="digest",
            summary="post a digest of what needs attention to a channel, daily or weekly",
            params=DigestParams,
            execute=digest_execute,
            role=Role.REQUESTER,
            help="Pending approvals, changes scheduled in the next 24 hours, watched resources not "
            "stable, changes executed and failures since the last digest.",
            examples=(
                "/circuit digest #net-ops daily 09:00",
                "/circuit digest #net-ops weekly mon 08:30 Europe/Paris",
            ),
        )
    )
    registry.add(
        Operation(
            provider=None,
            verb="digests",
            summary="the digests set, in one channel or everywhere",
            params=DigestsParams,
            execute=digests_execute,
            role=Role.READER,
            examples=("/circuit digests", "/circuit digests #net-ops"),
        )
    )
    registry.add(
        Operation(
            provider=None,
            verb="undigest",
            summary="remove a digest",
            params=UndigestParams,
            execute=undigest_execute,
            role=Role.REQUESTER,
            examples=("/circuit undigest 3",),
        )
    )
