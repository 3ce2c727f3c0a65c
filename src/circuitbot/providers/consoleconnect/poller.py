"""What the watch engine reads of a Console Connect connection: its status, Azure's provisioning
status (``partner.peering``) and each peering config's ``syncStatus``.

A watched id is a connection's ObjectId (the GROUP_LAYER2 of an Azure order). Its snapshot::

    {"status": "ACTIVE", "partnerPeering": "PROVISIONED", "peering[PRIVATE].syncStatus": "SYNCING"}

Peering configs exist only once a connection is ACTIVE (the API refuses them before), so they
are part of the snapshot only while it is.

The batched strategy lists the company's connections once per sweep, every page, shared by all
the sweep's batches (``kit.listing``). Peering configs are not in the listing and cost three
reads per connection (one per type), so they are read only where one may be moving: an ACTIVE
connection whose configs were never read, whose ``updatedAt`` changed since (a config write
touches it), or one of whose configs was last seen PENDING or SYNCING; otherwise the configs
last read stand. A change made on Azure's side alone does not touch ``updatedAt``; it shows at
the connection's next config read. The per-resource strategy reads the connection and, while it
is ACTIVE, its three configs every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.base import Snapshot, snapshot_of
from circuitbot.providers.kit.listing import SweepListing

from . import models as m
from .client import ConsoleConnectClient
from .errors import NotFound

LISTING_MAX_AGE_SECONDS = 1.0
PEERING_READS_AT_ONCE = 8
MOVING_SYNC = frozenset(m.status_key(s) for s in (m.SyncStatus.PENDING, m.SyncStatus.SYNCING))


class Entry(NamedTuple):
    """What a sweep keeps of a listed connection: a few strings, not the whole JSON object."""

    own: dict[str, Any]  # the connection's own snapshot fields
    active: bool
    updated_at: Any
    name: str | None

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Entry:
        name = item.get("name")
        return cls(
            own_snapshot(item), _active(item), item.get("updatedAt"), name if isinstance(name, str) else None
        )


Listing = dict[str, Entry]  # connection id (lower case) -> what the sweep keeps of it


@dataclass
class _Configs:
    """The peering configs of a connection as last read, and the ``updatedAt`` they go with."""

    updated_at: Any
    parts: dict[str, str]

    @property
    def moving(self) -> bool:
        return any(m.status_key(value) in MOVING_SYNC for value in self.parts.values())


def own_snapshot(item: Mapping[str, Any]) -> dict[str, Any]:
    """The connection's own fields of a snapshot, from its JSON (read as it is: a sweep reads
    thousands)."""
    partner = item.get("partner")
    status = m.provisioning_status(partner.get("peering")) if isinstance(partner, Mapping) else None
    return {"status": item.get("status"), "partnerPeering": status}


def peering_parts(configs: Mapping[str, Mapping[str, Any] | None]) -> dict[str, str]:
    """``peering[<type>].syncStatus`` of each config that exists."""
    return {
        f"peering[{kind}].syncStatus": str(config.get("syncStatus") or "UNKNOWN")
        for kind, config in configs.items()
        if config is not None
    }


def _active(item: Mapping[str, Any]) -> bool:
    return m.same_status(item.get("status") if isinstance(item.get("status"), str) else None, "ACTIVE")


class ConsoleConnectPoller:
    """The watch engine's view of Console Connect (``providers.base.Poller``)."""

    provider = "consoleconnect"

    def __init__(
        self, client: ConsoleConnectClient, *, clock: Clock | None = None,
        listing_max_age: float = LISTING_MAX_AGE_SECONDS,
    ) -> None:  # fmt: skip
        self.client = client
        self.clock = clock or SystemClock()
        self._listing: SweepListing[Listing] = SweepListing(self.clock, max_age=listing_max_age)
        self._configs: dict[str, _Configs] = {}
        self._names: dict[str, str] = {}
        self._reads = asyncio.Semaphore(PEERING_READS_AT_ONCE)

    def begin_sweep(self) -> None:
        self._listing.begin_sweep()

    def normalize(self, resource_id: str) -> str:
        """ObjectIds are hex: one spelling, lower case."""
        return resource_id.strip().lower()

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]:
        """One listing (all pages, once per sweep) answers for every id; configs where they may move.

        An id the listing lacks is read on its own before it is called gone.
        """
        listing = await self._listing.get(self._list)
        answers: dict[str, Snapshot | Exception | None] = {}
        reads: list[str] = []  # ids that need a read: absent from the listing, or configs moving
        for resource_id in resource_ids:
            handle = self.normalize(resource_id)
            entry = listing.get(handle)
            if entry is not None and not self._configs_wanted(handle, entry):
                answers[resource_id] = self._compose(handle, entry)
            else:
                reads.append(resource_id)

        async def answer(resource_id: str) -> Snapshot | Exception | None:
            handle = self.normalize(resource_id)
            try:
                entry = listing.get(handle)
                if entry is None:
                    item = await self._read(resource_id)
                    if item is None:
                        return None
                    return await self._snapshot(handle, Entry.of(item), fresh=True)
                return await self._snapshot(handle, entry, fresh=False)
            except Exception as exc:  # this id's failure, not the batch's
                return exc

        answers.update(await _each(reads, answer, PEERING_READS_AT_ONCE))
        return {rid: answers[rid] for rid in resource_ids}

    async def snapshot_one(self, resource_id: str) -> Snapshot | None:
        item = await self._read(resource_id)
        if item is None:
            return None
        return await self._snapshot(self.normalize(resource_id), Entry.of(item), fresh=True)

    def describe(self, resource_id: str, snapshot: Snapshot | None) -> str:
        """``Contoso EUAP Test (507f1f77…)`` once read; the id otherwise."""
        name = self._names.get(self.normalize(resource_id))
        return f"{name} ({resource_id.strip()[:8]}…)" if name else resource_id

    # --- plumbing -----------------------------------------------------------------------------

    async def _list(self) -> Listing:
        listing: Listing = {}
        async for item in self.client.iter_connection_items():
            handle = item.get("id")
            if isinstance(handle, str) and handle:
                listing[self.normalize(handle)] = Entry.of(item)
        return listing

    async def _read(self, resource_id: str) -> Mapping[str, Any] | None:
        try:
            return await self.client.get_connection_item(resource_id.strip())
        except NotFound:
            return None

    def _configs_wanted(self, handle: str, entry: Entry) -> bool:
        """Whether a peering of this connection may be moving: its configs are to be read."""
        if not entry.active:
            return False
        known = self._configs.get(handle)
        return known is None or known.moving or known.updated_at != entry.updated_at

    async def _snapshot(self, handle: str, entry: Entry, *, fresh: bool) -> Snapshot:
        """The snapshot of a connection as read; ``fresh``: its configs read whatever is known."""
        if entry.active and (fresh or self._configs_wanted(handle, entry)):
            self._configs[handle] = _Configs(entry.updated_at, await self._read_configs(handle))
        return self._compose(handle, entry)

    def _compose(self, handle: str, entry: Entry) -> Snapshot:
        """The connection's own fields and, while it is ACTIVE, its configs as last read."""
        if entry.name:
            self._names[handle] = entry.name
        values = dict(entry.own)
        if entry.active:
            known = self._configs.get(handle)
            values.update(known.parts if known is not None else {})
        else:
            self._configs.pop(handle, None)
        return snapshot_of(values)

    async def _read_configs(self, connection_id: str) -> dict[str, str]:
        async def read(kind: str) -> Mapping[str, Any] | None:
            async with self._reads:
                try:
                    return await self.client.get_peering_item(connection_id, kind)
                except NotFound:
                    return None

        kinds = [kind.value for kind in m.PeeringType]
        configs = await asyncio.gather(*(read(kind) for kind in kinds))
        return peering_parts(dict(zip(kinds, configs, strict=True)))


async def _each(
    ids: Sequence[str], answer: Callable[[str], Awaitable[Snapshot | Exception | None]], at_once: int
) -> dict[str, Snapshot | Exception | None]:
    """``answer`` for every id, ``at_once`` at a time: a few workers, not a task per id (the
    first sweep after a start reads the configs of thousands of connections)."""
    queue = iter(ids)
    answers: dict[str, Snapshot | Exception | None] = {}

    async def worker() -> None:
        for resource_id in queue:
            answers[resource_id] = await answer(resource_id)

    await asyncio.gather(*(worker() for _ in range(min(at_once, len(ids)))))
    return answers
