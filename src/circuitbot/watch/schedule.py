"""When a watch is polled next, and how its card says so: fast while its provider's vocabulary
reads something in flight, slow when stable, backing off exponentially after errors."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from circuitbot.providers.base import Snapshot

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime
    from circuitbot.settings import WatchSettings


class Schedule:
    """Reads the settings and vocabularies from the runtime at each call, as they are now."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def settings(self) -> WatchSettings:
        return self.runtime.settings.watch

    def is_changing(self, provider: str, snapshot: Snapshot | None) -> bool:
        return self.runtime.vocabulary(provider).is_transitional(snapshot)

    def interval(self, provider: str, snapshot: Snapshot | None) -> timedelta:
        settings = self.settings
        changing = self.is_changing(provider, snapshot)
        seconds = settings.fast_interval_seconds if changing else settings.slow_interval_seconds
        return timedelta(seconds=seconds)

    def backoff_seconds(self, errors: int) -> float:
        """The wait after ``errors`` consecutive failed polls."""
        settings = self.settings
        return min(settings.max_backoff_seconds, settings.fast_interval_seconds * 2 ** (errors - 1))

    def status_line(self, provider: str, snapshot: Snapshot | None) -> str:
        if self.is_changing(provider, snapshot):
            return f"changing; checking every {duration(self.settings.fast_interval_seconds)}"
        return f"stable; checking every {duration(self.settings.slow_interval_seconds)}"


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"
