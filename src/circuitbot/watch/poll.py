"""Reading many resources of one provider: batched (the provider's list call) or one by one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal

from circuitbot.providers.base import Poller, Snapshot, snapshot_of

Result = Snapshot | None | Exception
Strategy = Literal["batched", "per-resource"]


class NoAnswer(Exception):
    """The provider's batch answer left this resource out."""

    def __init__(self, resource_id: str) -> None:
        super().__init__(f"no answer for {resource_id}")


def _clean(answer: object) -> Result:
    if answer is None or isinstance(answer, Exception):
        return answer
    return snapshot_of(answer)  # type: ignore[arg-type]


async def poll(
    poller: Poller,
    resource_ids: Sequence[str],
    *,
    strategy: Strategy,
    batch_size: int,
    limit: asyncio.Semaphore,
) -> tuple[dict[str, Result], int]:
    """Every resource's snapshot (or None, or the error that hid it), and how many calls it took.

    ``limit`` bounds the calls in flight to this provider, across every tick of the process.
    """
    if strategy == "per-resource":

        async def one(resource_id: str) -> tuple[str, Result]:
            async with limit:
                try:
                    return resource_id, _clean(await poller.snapshot_one(resource_id))
                except Exception as exc:
                    return resource_id, exc

        pairs = await asyncio.gather(*(one(r) for r in resource_ids))
        return dict(pairs), len(resource_ids)

    chunks = [resource_ids[n : n + batch_size] for n in range(0, len(resource_ids), batch_size)]

    async def many(chunk: Sequence[str]) -> dict[str, Result]:
        async with limit:
            try:
                answers = await poller.snapshot_many(chunk)
            except Exception as exc:
                return dict.fromkeys(chunk, exc)
        return {r: _clean(answers[r]) if r in answers else NoAnswer(r) for r in chunk}

    results: dict[str, Result] = {}
    for part in await asyncio.gather(*(many(c) for c in chunks)):
        results.update(part)
    return results, len(chunks)
