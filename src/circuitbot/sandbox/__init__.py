"""Simulated provider APIs, speaking each provider's real wire format.

Each provider's simulator lives in ``circuitbot.sandbox.<provider>`` and registers itself with
``@register_simulator``; ``simulator_class`` imports it on first use and falls back to a
placeholder (``stubs``) while it does not exist yet.
"""

from __future__ import annotations

import importlib
from typing import TypeVar

from circuitbot.clock import Clock, SystemClock
from circuitbot.sandbox.base import Simulator
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import World

PROVIDERS: tuple[str, ...] = ("azure", "equinix", "consoleconnect", "alibaba")

SIMULATORS: dict[str, type[Simulator]] = {}


_S = TypeVar("_S", bound=type[Simulator])


def register_simulator(cls: _S) -> _S:
    """Class decorator: make ``cls`` the simulator of ``cls.provider``."""
    SIMULATORS[cls.provider] = cls
    return cls


def simulator_class(provider: str) -> type[Simulator]:
    if provider not in PROVIDERS:
        raise LookupError(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
    if provider not in SIMULATORS:
        module = f"{__name__}.{provider}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # the module exists but something it imports does not
                raise
    if provider in SIMULATORS:
        return SIMULATORS[provider]
    from circuitbot.sandbox.stubs import PLACEHOLDERS

    if provider in PLACEHOLDERS:
        return PLACEHOLDERS[provider]
    raise LookupError(f"no simulator for {provider!r}: {__name__}.{provider} does not register one")


def build_simulator(
    provider: str,
    *,
    world: World | None = None,
    clock: Clock | None = None,
    faults: FaultConfig | None = None,
) -> Simulator:
    """A simulator for ``provider`` over the demo world and the system clock unless given others."""
    cls = simulator_class(provider)
    return cls(world or World.demo(), clock or SystemClock(), faults)


__all__ = [
    "PROVIDERS",
    "SIMULATORS",
    "FaultConfig",
    "Simulator",
    "World",
    "build_simulator",
    "register_simulator",
    "simulator_class",
]
