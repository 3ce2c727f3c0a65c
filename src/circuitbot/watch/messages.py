"""What a watch says in Slack: its status card, and the replies in the card's thread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.logs import scrub
from circuitbot.providers.base import is_part_field
from circuitbot.watch.snapshots import ABSENT, Change

TIMELINE_ENTRIES = 10  # the card shows the latest changes; the thread holds all of them


def when(at: datetime) -> str:
    return at.strftime("%b %d %H:%M:%S UTC")


def _name(provider: str, label: str) -> str:
    return f"{provider} *{bk.escape(label)}*"


def card(
    *,
    provider: str,
    resource_id: str,
    label: str,
    snapshot: Mapping[str, str] | None,
    status: str,
    timeline: Sequence[tuple[datetime, str]] = (),
) -> Reply:
    """The status card: current state, how the watch is doing, and the latest changes."""
    own = [(k, v) for k, v in (snapshot or {}).items() if not is_part_field(k)]
    parts = [(k, v) for k, v in (snapshot or {}).items() if is_part_field(k)]
    now = " / ".join(bk.escape(v) for _, v in own) or ABSENT
    text = f":satellite_antenna: {_name(provider, label)}: {now} — {status}"
    blocks = [bk.section(text), *bk.fields((f"`{bk.escape(k)}`", bk.escape(v)) for k, v in own + parts)]
    if label != resource_id:
        blocks.append(bk.context(f"`{bk.escape(resource_id)}`"))
    if timeline:
        lines = [f"{when(at)}  {line}" for at, line in timeline[-TIMELINE_ENTRIES:]]
        blocks.extend(bk.code_sections(lines))
    return Reply(text=text, blocks=blocks, ephemeral=False)


def changed(provider: str, label: str, changes: Sequence[Change]) -> Reply:
    lines = [
        f"• `{bk.escape(c.field)}`: {bk.escape(c.old or ABSENT)} → *{bk.escape(c.new or ABSENT)}*"
        for c in changes
    ]
    text = f":arrows_counterclockwise: {_name(provider, label)} changed\n" + "\n".join(lines)
    return Reply(text=text, blocks=[bk.section(text)], ephemeral=False)


def ended(provider: str, label: str, state: str) -> Reply:
    text = f":checkered_flag: {_name(provider, label)} reached *{bk.escape(state)}*; no longer watched."
    return Reply(text=text, blocks=[bk.section(text)], ephemeral=False)


def gone(provider: str, label: str) -> Reply:
    text = f":wastebasket: {_name(provider, label)} no longer exists at {provider}; no longer watched."
    return Reply(text=text, blocks=[bk.section(text)], ephemeral=False)


def unreachable(provider: str, label: str, error: str, retry_in: float) -> Reply:
    text = (
        f":warning: cannot read {_name(provider, label)} from {provider}: "
        f"{bk.escape(bk.clip(scrub(error), 300))}. Retrying, next in {retry_in:.0f} s, backing off."
    )
    return Reply(text=text, blocks=[bk.section(text)], ephemeral=False)


def recovered(provider: str, label: str) -> Reply:
    text = f":white_check_mark: {provider} answers again for {_name(provider, label)}."
    return Reply(text=text, blocks=[bk.section(text)], ephemeral=False)


def stopped(provider: str, label: str, user: str) -> Reply:
    text = f":no_bell: <@{user}> stopped watching {_name(provider, label)}."
    return Reply(text=text, blocks=[bk.section(text)], ephemeral=False)


def paused(provider: str, label: str, channel: str, error: str, resource_id: str) -> Reply:
    text = (
        f":double_vertical_bar: I paused your watch of {_name(provider, label)}: Slack answers "
        f"`{error}` for <#{channel}>. Invite me there (or pick another channel), then "
        f"`/circuit watch {provider} {resource_id} <#{channel}>` to resume."
    )
    return Reply(text=text, blocks=[bk.section(text)], ephemeral=False)
