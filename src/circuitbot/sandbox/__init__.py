"""Simulated provider APIs, speaking each provider's real wire format.

Each provider's spec (``circuitbot.providers.catalog``) names its simulator class and builds it
with its sandbox timings: ``build_simulator`` here (``circuitbot sandbox serve``) and the
in-process sandbox (``bootstrap``) go through the same ``spec.simulator``.
"""

from __future__ import annotations

from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.catalog import spec_of
from circuitbot.sandbox.base import Simulator
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import World


def build_simulator(
    provider: str,
    *,
    world: World | None = None,
    clock: Clock | None = None,
    faults: FaultConfig | None = None,
) -> Simulator:
    """``provider``'s simulator over the demo world and the system clock unless given others.

    Raises LookupError for a provider the catalog does not know.
    """
    return spec_of(provider).simulator(world or World.demo(), clock or SystemClock(), faults)


__all__ = ["FaultConfig", "Simulator", "World", "build_simulator"]
