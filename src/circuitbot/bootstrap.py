"""Assembling the bot: the registry of operations and the runtime around it."""

from __future__ import annotations

import logging
from importlib import import_module

from circuitbot.actions.registry import Registry
from circuitbot.approvals.engine import ApprovalEngine
from circuitbot.clock import Clock, SystemClock
from circuitbot.digests.engine import DigestEngine
from circuitbot.endtoend.finding import keyed_providers
from circuitbot.endtoend.poller import KEY, KeyPoller, key_vocabulary
from circuitbot.providers.catalog import PROVIDERS
from circuitbot.runtime import Runtime
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings
from circuitbot.store.db import Database
from circuitbot.watch.engine import WatchEngine

log = logging.getLogger(__name__)

# The provider-neutral modules that contribute operations, each through its register(registry);
# each provider's come through its spec (providers.catalog).
OPERATION_MODULES = (
    "circuitbot.chat.builtin",
    "circuitbot.approvals.commands",
    "circuitbot.watch.commands",
    "circuitbot.endtoend.commands",
    "circuitbot.digests.commands",
)


def build_registry(extra_modules: tuple[str, ...] = ()) -> Registry:
    registry = Registry()
    for name in (*OPERATION_MODULES, *extra_modules):
        import_module(name).register(registry)
    for spec in PROVIDERS:
        spec.register(registry)
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
    runtime.digests = DigestEngine(runtime)
    return runtime


def front_runtime(settings: Settings) -> Runtime:
    """The runtime of a front end whose work runs in a work process (``workprocess``): the
    registry, to parse and to answer ``help``. Its database is never opened, its providers never
    built: everything past the ack is the work process's."""
    return Runtime(settings=settings, db=Database(settings.effective_database_url), registry=build_registry())


async def attach_providers(runtime: Runtime, *, sandbox: bool, world: World | None = None) -> None:
    """A client and a poller per provider: on the sandbox, the simulators in-process over the same
    HTTP path as production; otherwise the real APIs of the providers whose credentials are set."""
    world = (world or World.demo()) if sandbox else None
    for spec in PROVIDERS:
        settings = runtime.settings.provider_settings(spec.name)
        runtime.vocabularies[spec.name] = spec.vocabulary
        if world is not None:
            simulator = spec.simulator(world, runtime.clock)
            runtime.sandbox[spec.name] = simulator
            client = spec.sandbox_client(settings, simulator, runtime.clock)
        elif spec.configured(settings):
            client = spec.client(settings, runtime.clock)
        else:
            log.info("%s is not configured; its commands will say so", spec.name)
            continue
        runtime.providers[spec.name] = client
        runtime.pollers[spec.name] = spec.poller(client, runtime.clock)
        runtime.on_close(client.aclose)
    attach_key_watches(runtime)


def attach_key_watches(runtime: Runtime) -> None:
    """``watch key <service-key>``: one watch over every leg, where a provider can be searched by key."""
    keyed = keyed_providers(runtime)
    if keyed:
        runtime.pollers[KEY] = KeyPoller(runtime)
        runtime.vocabularies[KEY] = key_vocabulary(runtime.vocabularies[name] for name, _ in keyed)
