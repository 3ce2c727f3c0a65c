"""Assembling the bot: the registry of operations and the runtime around it."""

from __future__ import annotations

import logging
from importlib import import_module

from circuitbot.actions.registry import Registry
from circuitbot.approvals.engine import ApprovalEngine
from circuitbot.clock import Clock, SystemClock
from circuitbot.runtime import Runtime
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings
from circuitbot.store.db import Database
from circuitbot.watch.engine import WatchEngine

log = logging.getLogger(__name__)

# Every module that contributes operations, each through its register(registry).
OPERATION_MODULES = (
    "circuitbot.chat.builtin",
    "circuitbot.approvals.commands",
    "circuitbot.watch.commands",
    "circuitbot.providers.azure.operations",
)


# provider -> module offering simulator(world, clock), sandbox_client(settings, simulator, clock),
# client(settings, clock) for the real API, and poller(client, clock) for the watch engine.
PROVIDER_WIRING: dict[str, str] = {"azure": "circuitbot.providers.azure.wiring"}


def build_registry(extra_modules: tuple[str, ...] = ()) -> Registry:
    registry = Registry()
    for name in (*OPERATION_MODULES, *extra_modules):
        import_module(name).register(registry)
    return registry


async def build_runtime(
    settings: Settings,
    *,
    sandbox: bool = False,
    clock: Clock | None = None,
    registry: Registry | None = None,
    migrate: bool = True,
    world: World | None = None,
) -> Runtime:
    """The runtime for a front end: database migrated, provider clients built."""
    db = Database(settings.effective_database_url)
    if migrate:
        await db.upgrade()
    runtime = Runtime(
        settings=settings,
        db=db,
        registry=registry or build_registry(),
        clock=clock or SystemClock(),
    )
    await attach_providers(runtime, sandbox=sandbox, world=world)
    runtime.approvals = ApprovalEngine(runtime, local_key=sandbox)
    # Front ends start both engines (runtime.start_engines(), which stops them on close) where the
    # process should execute, poll and post.
    runtime.watches = WatchEngine(runtime)
    return runtime


async def attach_providers(runtime: Runtime, *, sandbox: bool, world: World | None = None) -> None:
    """A client and a poller per provider: on the sandbox, the simulators in-process over the same
    HTTP path as production; otherwise the real APIs of the providers whose credentials are set."""
    if sandbox:
        world = world or World.demo()
        runtime.sandbox = {}
    for name, module_name in PROVIDER_WIRING.items():
        wiring = import_module(module_name)
        if sandbox:
            simulator = wiring.simulator(world, runtime.clock)
            runtime.sandbox[name] = simulator
            client = wiring.sandbox_client(runtime.settings, simulator, runtime.clock)
        elif getattr(runtime.settings, name).configured:
            client = wiring.client(runtime.settings, runtime.clock)
        else:
            log.info("%s is not configured; its commands will say so", name)
            continue
        runtime.providers[name] = client
        runtime.pollers[name] = wiring.poller(client, runtime.clock)
        runtime.on_close(client.aclose)
