"""The work loop: an event loop in a thread of its own, where the runtime lives and works.

``circuitbot serve`` answers Slack on the main loop and does everything else here: the database,
the provider clients, the background engines and the work of acknowledged commands. An ack
then never waits in a queue behind earlier commands' work: the main loop only verifies, parses
and acknowledges, and hands the rest over with :meth:`WorkLoop.run`.

Invariants and pitfalls:

* everything bound to a loop (the database engine and its pool, provider HTTP clients, asyncio
  locks and semaphores of the engines and the router's work slots) is created and used on the
  work loop only; build the runtime with ``run(build_runtime(...))``;
* ``run`` carries the caller's context variables (correlation id, operation) into the work;
* a callable handed to the work that must run on the main loop (Bolt's ack) hops back by
  itself (``slack.app._Ack``);
* it is one thread: the GIL still shares the CPU between the loops, so the work is bounded
  (``CIRCUITBOT_WORK_CONCURRENCY``) and the main loop gets its turn at every switch interval.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
STOP_TIMEOUT_SECONDS = 30.0


class WorkLoop:
    """An asyncio loop running in a daemon thread until :meth:`stop`."""

    def __init__(self, name: str = "circuitbot-work") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the work loop is not running")
        return self._loop

    def start(self) -> None:
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=main, name=self._name, daemon=True)
        self._thread.start()
        ready.wait()

    def on_loop(self) -> bool:
        """Whether the caller runs on the work loop itself."""
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the work loop and wait for it here, with this task's context.

        Cancelling the waiter cancels the work."""
        if self.on_loop():
            return await work
        future = asyncio.run_coroutine_threadsafe(_carrying(contextvars.copy_context(), work), self.loop)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    async def stop(self) -> None:
        """Stop the loop once the tasks still on it are cancelled; waits for the thread."""
        if self._loop is None or self._thread is None:
            return
        loop, thread = self._loop, self._thread
        if not loop.is_closed():
            loop.call_soon_threadsafe(_cancel_all_and_stop, loop)
        await asyncio.to_thread(thread.join, STOP_TIMEOUT_SECONDS)
        if thread.is_alive():
            log.warning("the work loop did not stop within %.0f s", STOP_TIMEOUT_SECONDS)
        self._loop = self._thread = None


async def _carrying(context: contextvars.Context, work: Coroutine[Any, Any, T]) -> T:
    """``work`` in a task that first takes on the values of ``context``'s variables."""
    for variable, value in context.items():
        variable.set(value)
    return await work


def _cancel_all_and_stop(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if not tasks:
        loop.stop()
        return
    gathered = asyncio.gather(*tasks, return_exceptions=True)
    gathered.add_done_callback(lambda _: loop.stop())
