"""The runtime: everything a front end needs, built once from settings.

Front ends (Slack, shell) and background jobs share one Runtime: the registry, the database,
the provider clients, the clock, the poster (the bot's voice in channels) and the engines.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from circuitbot.actions.registry import OperationError, Registry
from circuitbot.chat.roles import RoleResolver
from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.base import GENERIC_VOCABULARY, StateVocabulary
from circuitbot.settings import Settings
from circuitbot.store.db import Database

if TYPE_CHECKING:
    from circuitbot.chat.reply import Poster

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    registry: Registry
    clock: Clock = field(default_factory=SystemClock)
    providers: dict[str, Any] = field(default_factory=dict)
    pollers: dict[str, Any] = field(default_factory=dict)  # provider -> providers.base.Poller
    poster: Poster | None = None
    roles: RoleResolver | None = None
    sandbox: Any = None  # the in-process simulators, when running on the sandbox
    # Engines attach themselves here (approvals.engine, watch.engine).
    approvals: Any = None
    watches: Any = None
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    vocabularies: dict[str, StateVocabulary] = field(default_factory=dict)

    def vocabulary(self, provider: str) -> StateVocabulary:
        """The provider's state vocabulary (from its spec), or the generic one for a provider without a spec."""
        return self.vocabularies.get(provider, GENERIC_VOCABULARY)

    def __post_init__(self) -> None:
        if self.roles is None:
            self.roles = RoleResolver(self.settings, clock=self.clock)

    def provider(self, name: str) -> Any:
        try:
            return self.providers[name]
        except KeyError:
            raise OperationError(
                f"{name} is not configured: set its credentials (see the README) or run with --sandbox"
            ) from None

    ENGINES = ("approvals", "watches")

    async def start_engines(self, on_error: Callable[[str, Exception], None] | None = None) -> list[str]:
        """Start the background engines (approvals executor, watch polling and outbox) and stop
        them on close. Without ``on_error`` a failing start is raised; with it, reported and skipped."""
        started = []
        for name in self.ENGINES:
            engine = getattr(self, name, None)
            start = getattr(engine, "start", None)
            if not callable(start):
                continue
            try:
                await start()
            except Exception as exc:
                if on_error is None:
                    raise
                on_error(name, exc)
                continue
            stop = getattr(engine, "stop", None)
            if callable(stop):
                self.on_close(stop)
            started.append(name)
        return started

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    async def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                await closer()
            except Exception:  # closing must go on past one failure
                log.exception("error while closing")
        await self.db.dispose()
