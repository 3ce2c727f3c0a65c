"""Watching a circuit by its service key: every leg in one watch, so one thread.

``/circuit watch key <service-key>`` is an ordinary watch whose provider is :data:`KEY` and whose
resource is the key. Its snapshot joins the states of every leg, each field named after its leg
(``equinix.primary.status``, ``azure.peering[AzurePrivatePeering].state``), so a change at any
provider is a transition of this one watch and is posted in its thread.

Invariants:
- The watch ends only when every keyed provider answered and none has a leg (``None``: gone).
  No provider ever reports an end state for the whole circuit, so its vocabulary has none.
- A provider that does not answer keeps the legs it last gave (in this process), so an outage
  is not announced as legs vanishing; with nothing remembered its fields are left out, and when
  no provider answers at all the read fails and the engine counts an error, as for any watch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from circuitbot.endtoend.finding import CircuitLegs, find_legs
from circuitbot.providers.base import Snapshot, StateVocabulary, snapshot_of
from circuitbot.providers.legs import Leg, Role

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

KEY = "key"  # the provider word of a circuit watched by key: `watch key <service-key>`
CONCURRENT_KEYS = 8  # keys searched at once within a sweep; each asks every provider


class ProvidersUnreachable(Exception):
    """No provider answered for the key."""


def key_vocabulary(vocabularies: Iterable[StateVocabulary]) -> StateVocabulary:
    """Every leg's values are in flight where their own provider says so; nothing is terminal."""
    vocabularies = list(vocabularies)
    return StateVocabulary(
        in_flight=frozenset().union(*(v.in_flight for v in vocabularies)),
        terminal=frozenset(),
        in_flight_prefixes=tuple(sorted({p for v in vocabularies for p in v.in_flight_prefixes})),
    )


def leg_fields(leg: Leg) -> dict[str, str]:
    """A leg's states as snapshot fields, named after the leg."""
    prefix = f"{leg.provider}.{leg.side}" if leg.side else leg.provider
    fields = {f"{prefix}.{name}": value for name, value in leg.states.items()}
    fields.update({f"{prefix}.peering[{part}].state": state for part, state in leg.parts})
    return fields


class KeyPoller:
    """The watch engine's view of circuits watched by key (``providers.base.Poller``)."""

    provider = KEY

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._last: dict[tuple[str, str], list[Leg]] = {}  # (key, provider) -> its legs as last read
        self._names: dict[str, str] = {}  # key -> the circuit's name, for labels

    def normalize(self, resource_id: str) -> str:
        return resource_id.strip().lower()

    async def snapshot_one(self, resource_id: str) -> Snapshot | None:
        return self._compose(resource_id, await find_legs(self.runtime, resource_id))

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]:
        limit = asyncio.Semaphore(CONCURRENT_KEYS)

        async def one(key: str) -> Snapshot | Exception | None:
            async with limit:
                try:
                    return await self.snapshot_one(key)
                except ProvidersUnreachable as exc:
                    return exc

        answers = await asyncio.gather(*(one(key) for key in resource_ids))
        return dict(zip(resource_ids, answers, strict=True))

    def describe(self, resource_id: str, snapshot: Snapshot | None) -> str:
        name = self._names.get(self.normalize(resource_id))
        return name or resource_id

    def _compose(self, key: str, found: CircuitLegs) -> Snapshot | None:
        key = self.normalize(key)
        if not found.asked:
            why = (
                ", ".join(f"{u.provider}: {u.why}" for u in found.unreachable)
                or "no keyed provider is configured"
            )
            raise ProvidersUnreachable(why)
        legs = list(found.legs)
        for name in found.asked:
            self._last[(key, name)] = found.at(name)
        for unreachable in found.unreachable:
            legs.extend(self._last.get((key, unreachable.provider), []))
        if not legs:
            return None
        names = [leg.name for leg in legs if leg.role == Role.AZURE] or [legs[0].name]
        self._names[key] = names[0]
        fields: dict[str, str] = {}
        for leg in legs:
            fields.update(leg_fields(leg))
        return snapshot_of(fields)
