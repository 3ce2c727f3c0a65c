"""When an approved change may run: its own time (``at=``), change windows and freezes.

* ``at=`` on a mutating command: ISO 8601 (``2026-12-12T02:00``, an offset honoured), or a day
  and a time (``sat 02:00``, ``tomorrow 02:00``, ``02:00``: the next such moment), optionally
  followed by an IANA time zone (``sat 02:00 Europe/Paris``); without a zone the time is UTC.
* ``CIRCUITBOT_CHANGE_WINDOWS``: ``[provider:] <cron: 5 fields> <duration>`` entries separated
  by ``;``, e.g. ``0 2 * * sat 2h`` (Saturdays 02:00–04:00 UTC, every provider) or
  ``azure: 0 22 * * sun 90m``. A provider with windows of its own uses only those; one without
  uses the global ones; with none at all, changes run at once.
* ``CIRCUITBOT_FREEZES``: ``<from>/<to> [reason]`` entries (ISO 8601, UTC unless an offset is
  given) separated by ``;``. Nothing runs inside a freeze.

``Calendar.next_slot`` is the one answer to "when may this run": the earliest moment at or after a
given one that is inside a window of the provider and outside every freeze. Window starts come
from APScheduler's ``CronTrigger``, in UTC. The executor asks again just before it claims a
request, so a freeze configured after the approval, or a window missed while the bot was down,
still holds the change back: it never runs outside a window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)([mhd])$")
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
MAX_STEPS = 1000  # windows and freezes looked through before a slot is given up on


class ScheduleError(ValueError):
    """An ``at=``, a window or a freeze that cannot be read; the text says what is expected."""


@dataclass(frozen=True)
class Window:
    cron: str
    length: timedelta
    provider: str | None = None

    @property
    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(self.cron, timezone=UTC)

    def start_covering(self, at: datetime) -> datetime | None:
        """The start of this window's occurrence that ``at`` falls in, if any."""
        start = self.trigger.get_next_fire_time(None, at - self.length + timedelta(microseconds=1))
        return start if start is not None and start <= at else None

    def next_start(self, after: datetime) -> datetime | None:
        return self.trigger.get_next_fire_time(None, after)

    def __str__(self) -> str:
        return f"{self.provider + ': ' if self.provider else ''}{self.cron} {_duration(self.length)}"


@dataclass(frozen=True)
class Freeze:
    start: datetime
    end: datetime
    reason: str = ""

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


def _duration(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def parse_windows(value: Any) -> Any:
    """The setting's text as windows (a list passes through)."""
    if not isinstance(value, str):
        return value
    windows = []
    for entry in filter(None, (part.strip() for part in value.split(";"))):
        provider, _, rest = entry.rpartition(":") if ":" in entry.split()[0] else ("", "", entry)
        words = rest.split()
        found = DURATION.match(words[-1]) if len(words) == 6 else None
        if found is None:
            raise ValueError(f"{entry!r}: expected [provider:] <5 cron fields> <duration such as 2h or 90m>")
        cron = " ".join(words[:5])
        try:
            CronTrigger.from_crontab(cron, timezone=UTC)
        except ValueError as exc:
            raise ValueError(f"{entry!r}: {exc}") from None
        length = timedelta(seconds=float(found[1]) * UNIT_SECONDS[found[2]])
        windows.append(Window(cron, length, provider.strip().lower() or None))
    return windows


def parse_freezes(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    freezes = []
    for entry in filter(None, (part.strip() for part in value.split(";"))):
        span, _, reason = entry.partition(" ")
        start_text, _, end_text = span.partition("/")
        try:
            start, end = _instant(start_text), _instant(end_text)
        except ValueError:
            raise ValueError(f"{entry!r}: expected <from>/<to> [reason], both ISO 8601") from None
        if end <= start:
            raise ValueError(f"{entry!r}: the freeze ends before it starts")
        freezes.append(Freeze(start, end, reason.strip()))
    return freezes


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text.strip())
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class Calendar:
    """Windows and freezes, from the settings."""

    def __init__(self, windows: list[Window], freezes: list[Freeze]) -> None:
        self.windows = windows
        self.freezes = freezes

    def windows_for(self, provider: str | None) -> list[Window]:
        own = [w for w in self.windows if provider is not None and w.provider == provider]
        return own or [w for w in self.windows if w.provider is None]

    def freeze_at(self, at: datetime) -> Freeze | None:
        return next((f for f in self.freezes if f.covers(at)), None)

    def next_slot(self, provider: str | None, earliest: datetime) -> datetime:
        """The first moment at or after ``earliest`` inside a window of ``provider`` (if it has
        any) and outside every freeze."""
        windows, at = self.windows_for(provider), earliest
        for _ in range(MAX_STEPS):
            freeze = self.freeze_at(at)
            if freeze is not None:
                at = freeze.end
                continue
            if not windows or any(w.start_covering(at) is not None for w in windows):
                return at
            starts = [s for w in windows if (s := w.next_start(at)) is not None]
            if not starts:
                break
            at = min(starts)
        raise ScheduleError(f"no change window outside the freezes after {when(earliest)}")

    def why_waiting(self, provider: str | None, at: datetime) -> str:
        """Why a change may not run at ``at``, in words (empty when it may)."""
        freeze = self.freeze_at(at)
        if freeze is not None:
            reason = f" ({freeze.reason})" if freeze.reason else ""
            return f"a change freeze{reason} until {when(freeze.end)}"
        windows = self.windows_for(provider)
        if windows and not any(w.start_covering(at) for w in windows):
            return "outside the change windows (" + ", ".join(str(w) for w in windows) + " UTC)"
        return ""


def when(at: datetime, zone: str | None = None) -> str:
    """A moment in UTC, and in ``zone`` too when one is given."""
    shown = at.astimezone(UTC).strftime("%a %Y-%m-%d %H:%M UTC")
    if zone:
        local = at.astimezone(ZoneInfo(zone))
        shown += f" ({local:%a %H:%M} {zone})"
    return shown


def parse_at(text: str, now: datetime) -> tuple[datetime, str | None]:
    """``at=`` as a UTC moment and the time zone it was given in (None for UTC or an offset)."""
    words = text.strip().split()
    zone_name: str | None = None
    zone: tzinfo = UTC
    if len(words) > 1 and "/" in words[-1]:
        zone_name = words.pop()
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(
                f"unknown time zone {zone_name!r} (use a name such as Europe/Paris)"
            ) from None
    if len(words) == 1 and ("-" in words[0] or "T" in words[0]):
        try:
            at = datetime.fromisoformat(words[0])
        except ValueError:
            raise ScheduleError(_AT_USAGE) from None
        at = at.replace(tzinfo=zone) if at.tzinfo is None else at
        return at.astimezone(UTC), zone_name
    at = _next_named(words, now.astimezone(zone))
    return at.astimezone(UTC), zone_name


_AT_USAGE = (
    "at= takes an ISO 8601 time (2026-12-12T02:00, 2026-12-12T02:00+01:00) or a day and a time "
    "(sat 02:00, tomorrow 02:00, 02:00), optionally followed by a time zone (Europe/Paris)"
)


def _next_named(words: list[str], now: datetime) -> datetime:
    """``[day] HH:MM`` as the next such moment after ``now`` (in ``now``'s zone)."""
    if not 1 <= len(words) <= 2 or not re.fullmatch(r"\d{1,2}:\d{2}", words[-1]):
        raise ScheduleError(_AT_USAGE)
    hour, minute = map(int, words[-1].split(":"))
    if hour > 23 or minute > 59:
        raise ScheduleError(_AT_USAGE)
    day = words[0].lower()[:3] if len(words) == 2 else None
    if day is not None and day not in (*DAYS, "tod", "tom"):
        raise ScheduleError(_AT_USAGE)
    base = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if day == "tom":
        return base + timedelta(days=1)
    if day in DAYS:
        ahead = (DAYS.index(day) - now.weekday()) % 7
        at = base + timedelta(days=ahead)
        return at if at > now else at + timedelta(days=7)
    return base if base > now or day == "tod" else base + timedelta(days=1)
