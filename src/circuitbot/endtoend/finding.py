"""Finding a circuit's legs at every provider at once.

Invariants: every keyed provider that is configured is asked; a provider that raises or does
not answer within ``FIND_TIMEOUT_SECONDS`` (on the runtime's clock) is listed as unreachable with
a short reason, never as "no leg here"; the others' legs are kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import httpx

from circuitbot.providers import catalog
from circuitbot.providers.http import ProviderHTTPError
from circuitbot.providers.legs import KeyedProvider, Leg, Role

if TYPE_CHECKING:
    from circuitbot.clock import Clock
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)

FIND_TIMEOUT_SECONDS = 10.0  # per provider; Slack's user waits behind a "working…" reply

_T = TypeVar("_T")


@dataclass(frozen=True)
class Unreachable:
    provider: str
    why: str


@dataclass(frozen=True)
class CircuitLegs:
    """What every provider said about one service key."""

    service_key: str
    legs: tuple[Leg, ...]
    asked: tuple[str, ...]  # the providers that answered (with legs or without)
    unreachable: tuple[Unreachable, ...]
    labels: dict[str, str]  # provider name -> display name, for every provider asked

    def label(self, provider: str) -> str:
        return self.labels.get(provider, provider)

    def at(self, provider: str) -> list[Leg]:
        return [leg for leg in self.legs if leg.provider == provider]

    @property
    def azure(self) -> Leg | None:
        return next((leg for leg in self.legs if leg.role == Role.AZURE), None)

    @property
    def carriers(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.role == Role.CARRIER]

    @property
    def found(self) -> bool:
        return bool(self.legs)


def keyed_providers(runtime: Runtime) -> list[tuple[str, KeyedProvider]]:
    """The configured providers that can be searched by service key, in catalog order."""
    return [
        (spec.name, spec)
        for spec in catalog.PROVIDERS
        if isinstance(spec, KeyedProvider) and spec.name in runtime.providers
    ]


async def find_legs(
    runtime: Runtime, service_key: str, *, bound: float = FIND_TIMEOUT_SECONDS
) -> CircuitLegs:
    """Every leg of the key at every keyed provider, each provider given ``bound`` seconds."""
    key = service_key.strip()
    providers = keyed_providers(runtime)

    async def one(name: str, spec: KeyedProvider) -> Sequence[Leg] | Unreachable:
        try:
            return await bounded(runtime.clock, spec.legs_for_key(runtime.providers[name], key), bound)
        except TimeoutError:
            return Unreachable(name, f"no answer within {bound:g} s")
        except Exception as exc:  # a provider's failure must not hide the others' legs
            log.warning("finding legs at %s failed: %s", name, _reason(exc))
            return Unreachable(name, _reason(exc))

    answers = await asyncio.gather(*(one(name, spec) for name, spec in providers))
    legs: list[Leg] = []
    asked: list[str] = []
    unreachable: list[Unreachable] = []
    for (name, _), answer in zip(providers, answers, strict=True):
        if isinstance(answer, Unreachable):
            unreachable.append(answer)
        else:
            asked.append(name)
            legs.extend(answer)
    labels = {name: spec.label for name, spec in providers}
    return CircuitLegs(key, tuple(legs), tuple(asked), tuple(unreachable), labels)


def _reason(exc: Exception) -> str:
    """A few words on why a provider did not answer (its status and code, never its message:
    a message may echo what was sent)."""
    if isinstance(exc, ProviderHTTPError):
        return " ".join(str(part) for part in (exc.status, exc.code) if part) or "an error"
    if isinstance(exc, httpx.HTTPError):
        return f"could not be reached ({type(exc).__name__})"
    return type(exc).__name__


async def bounded(clock: Clock, work: Awaitable[_T], seconds: float) -> _T:
    """``work``'s result, or TimeoutError once ``seconds`` pass on ``clock`` (``work`` is then
    cancelled). On the clock rather than the loop's timer, so tests move time themselves."""
    task = asyncio.ensure_future(work)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise TimeoutError
