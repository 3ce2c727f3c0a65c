"""The runtime: everything a front end needs, built once from settings.

Front ends (Slack, shell) and background jobs share one Runtime: the registry, the database,
the provider clients, the clock, the poster (the bot's voice in channels), the engines and the
one scheduler that runs the engines' periodic jobs (``scheduling``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from circuitbot.actions.registry import OperationError, Registry
from circuitbot.chat.roles import RoleResolver
from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.base import GENERIC_VOCABULARY, Poller, StateVocabulary
from circuitbot.providers.spec import ProviderClient
from circuitbot.scheduling import Scheduler
from circuitbot.settings import Settings
from circuitbot.store.db import Database

if TYPE_CHECKING:
    from circuitbot.approvals.engine import ApprovalEngine
    from circuitbot.chat.reply import Poster
    from circuitbot.digests.engine import DigestEngine
    from circuitbot.sandbox.base import Simulator
    from circuitbot.watch.engine import WatchEngine

log = logging.getLogger(__name__)


class Engine(Protocol):
    """A background engine the front ends start and the runtime stops on close."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    db: Database
    registry: Registry
    clock: Clock = field(default_factory=SystemClock)
    providers: dict[str, ProviderClient] = field(default_factory=dict)
    pollers: dict[str, Poller] = field(default_factory=dict)
    vocabularies: dict[str, StateVocabulary] = field(default_factory=dict)
    poster: Poster | None = None
    roles: RoleResolver = field(init=False)  # from the settings; the Slack front end adds user groups
    sandbox: dict[str, Simulator] = field(default_factory=dict)  # the in-process simulators, if any
    # Bootstrap attaches the engines (approvals.engine, watch.engine, digests.engine).
    approvals: ApprovalEngine | None = None
    watches: WatchEngine | None = None
    digests: DigestEngine | None = None
    scheduler: Scheduler = field(default_factory=Scheduler)  # every periodic job of this process
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.roles = RoleResolver(self.settings, clock=self.clock)

    def vocabulary(self, provider: str) -> StateVocabulary:
        """The provider's state vocabulary (its spec's), or the generic one for a provider without a spec."""
        return self.vocabularies.get(provider, GENERIC_VOCABULARY)

    def provider(self, name: str) -> ProviderClient:
        try:
            return self.providers[name]
        except KeyError:
            raise OperationError(
                f"{name} is not configured: set its credentials (see the README) or run with --sandbox"
            ) from None

    def engines(self) -> dict[str, Engine]:
        """The attached engines by name, in the order they start."""
        attached: dict[str, Engine | None] = {
            "approvals": self.approvals,
            "watches": self.watches,
            "digests": self.digests,
        }
        return {name: engine for name, engine in attached.items() if engine is not None}

    async def start_engines(self, on_error: Callable[[str, Exception], None] | None = None) -> list[str]:
        """Start the background engines (approvals executor, watch polling and outbox) and stop
        them on close. Without ``on_error`` a failing start is raised; with it, reported and skipped."""
        started: dict[str, Engine] = {}
        for name, engine in self.engines().items():
            try:
                await engine.start()
            except Exception as exc:
                if on_error is None:
                    raise
                on_error(name, exc)
                continue
            started[name] = engine
        if started:
            self.on_close(lambda: _stop_together(started))
        return list(started)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    async def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                await closer()
            except Exception:  # closing must go on past one failure
                log.exception("error while closing")
        await self.scheduler.shutdown()  # the engines retired their jobs: nothing is left running
        await self.db.dispose()


async def _stop_together(engines: dict[str, Engine]) -> None:
    """Stop the engines side by side: each finishes or gives back its work within its own bound,
    so a stop takes the longest of those bounds, not their sum."""
    results = await asyncio.gather(*(engine.stop() for engine in engines.values()), return_exceptions=True)
    for name, result in zip(engines, results, strict=True):
        if isinstance(result, Exception):
            log.error("error while stopping %s: %s", name, type(result).__name__, exc_info=result)
