"""Assembling the bot: the registry of operations and the runtime around it."""

from __future__ import annotations

import logging
from importlib import import_module

from circuitbot.actions.registry import Registry
from circuitbot.approvals.engine import ApprovalEngine
from circuitbot.clock import Clock, SystemClock
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.store.db import Database
from circuitbot.watch.engine import WatchEngine

log = logging.getLogger(__name__)

# Every module that contributes operations, each through its register(registry).
OPERATION_MODULES = ("circuitbot.chat.builtin", "circuitbot.approvals.commands", "circuitbot.watch.commands")


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
    runtime.approvals = ApprovalEngine(runtime, local_key=sandbox)
    # Front ends start it (runtime.watches.start()) where the process should poll and post.
    runtime.watches = WatchEngine(runtime)
    runtime.on_close(runtime.watches.stop)
    return runtime
