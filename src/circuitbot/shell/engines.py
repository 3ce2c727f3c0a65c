"""The background engines under the shell (approvals, watches): started with it, stopped with
it, and at the end of input given a bounded time to finish the work already under way."""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
from collections.abc import Callable
from typing import Any

from circuitbot.runtime import Runtime
from circuitbot.shell.terminal import Output

log = logging.getLogger(__name__)


async def start_engines(runtime: Runtime, out: Output) -> list[Any]:
    """Start the approvals and watch engines; the shell goes on without one that fails."""

    def failed(name: str, exc: Exception) -> None:
        error_id = secrets.token_hex(4)
        log.error("could not start the %s engine (error id %s)", name, error_id, exc_info=exc)
        out.warn(f"the {name} engine did not start (error id {error_id})")

    return [getattr(runtime, name) for name in await runtime.start_engines(on_error=failed)]


async def stop_engines(engines: list[Any]) -> None:
    for engine in reversed(engines):
        try:
            await _maybe_await(getattr(engine, "stop", None))
        except Exception:
            log.exception("could not stop %s", type(engine).__name__)


async def drain(baseline: set[asyncio.Task[Any]], seconds: float, out: Output) -> None:
    """Let work already under way (tasks started since ``baseline``) finish, within ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    current = asyncio.current_task()
    while True:
        pending = {t for t in asyncio.all_tasks() if t is not current and t not in baseline and not t.done()}
        remaining = deadline - loop.time()
        if not pending:
            break
        if remaining <= 0:
            out.note(f"stopped waiting for background work after {seconds:g}s")
            break
        await asyncio.wait(pending, timeout=remaining)


async def settle(rounds: int = 10) -> None:
    """Give ready tasks a few turns of the event loop."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def _maybe_await(method: Callable[[], Any] | None) -> None:
    if method is None:
        return
    result = method()
    if inspect.isawaitable(result):
        await result
