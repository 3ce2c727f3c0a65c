"""The Alibaba simulator and the real client on it, in-process, on a FakeClock."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from circuitbot.clock import FakeClock
from circuitbot.providers.alibaba.client import AlibabaClient
from circuitbot.sandbox.alibaba import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, AlibabaSimulator
from circuitbot.sandbox.world import World
from support.http import Recorder

T = TypeVar("T")

# The seeded connections (sandbox/alibaba/state.py), named after what the tests use them for.
WITH_VBRS = "pc-2zeoaxkq3jot5p71qcnuy"  # cn-beijing, Enabled, two VBRs (seed 004's example)
NO_VBRS = "pc-bp1ciz7ekd2grn1as"  # cn-hangzhou, Enabled, no VBR (the SDK's example)
CONFIRMED = "pc-119mfjzm7"  # cn-shanghai, Confirmed
INITIAL = "pc-2ze3f8v1yct9xuxxnl6"  # cn-beijing, Initial
ALLOCATED = "pc-t4n0f3tn6o4ddmutvh4"  # ap-southeast-1, Allocated
REJECTED = "pc-bp1h6klstbwmrgcbuuh"  # cn-hangzhou, Rejected
CANCELED = "pc-uf6ollkcta33nbgbvs4"  # cn-shanghai, Canceled
TERMINATED = "pc-bp1rdqgnpm2dowtej4yl"  # cn-hangzhou, Terminated
STEP = 30.0  # the simulator's seconds per provider-side step in these tests


@dataclass
class Rig:
    sim: AlibabaSimulator
    client: AlibabaClient
    clock: FakeClock
    recorder: Recorder

    async def drive(self, awaitable: Awaitable[T]) -> T:
        return await self.clock.run_until(awaitable)

    def params(self, index: int = -1) -> dict[str, str]:
        """The query parameters of a request the client sent."""
        return dict(self.recorder.requests[index].url.params)


def make_client(
    sim: AlibabaSimulator,
    clock: FakeClock,
    *,
    key_id: str = DEFAULT_ACCESS_KEY_ID,
    secret: str = DEFAULT_ACCESS_KEY_SECRET,
    **options: Any,
) -> tuple[AlibabaClient, Recorder]:
    recorder = Recorder(sim.transport())
    options.setdefault("regions", sim.regions)
    client = AlibabaClient(
        access_key_id=key_id, access_key_secret=secret, transport=recorder, clock=clock, seed=1, **options
    )
    return client, recorder


def make_rig(*, extra: int = 0, signature_version: str = "v3", **sim_options: Any) -> Rig:
    clock = FakeClock()
    sim = AlibabaSimulator(World.demo(), clock, step_seconds=STEP, extra_connections=extra, **sim_options)
    client, recorder = make_client(sim, clock, signature_version=signature_version, poll_interval=5.0)
    return Rig(sim, client, clock, recorder)
