"""``circuitbot`` with test-only hooks, for the reliability suite's child processes.

    python -m support.serve_child [--lease S] [--max-retry S] [--crash before-call|after-call] -- serve …

``--lease`` shortens the watch and outbox leases (and the delivery bound inside them), so the
work a killed replica held is taken over within seconds instead of minutes. ``--max-retry``
caps the outbox's backoff between tries, so a soak with many faults drains in bounded time. ``--crash`` makes
the process kill itself (SIGKILL, as ``kill -9``) at one point of an approved request's
execution: after the claim and before the provider call, or after the call and before its
result is recorded. The production code knows nothing of either.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any


def _default(cls: Any, name: str, value: float) -> None:
    """Make ``value`` the default of ``cls``'s keyword argument ``name``."""
    original = cls.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(name, value)
        original(self, *args, **kwargs)

    cls.__init__ = init


def _shorten_leases(seconds: float) -> None:
    from circuitbot.watch import delivery
    from circuitbot.watch.engine import WatchEngine
    from circuitbot.watch.sender import OutboxSender

    delivery.DELIVERY_TIMEOUT_SECONDS = seconds / 4  # the sender's lease stays four times longer
    _default(WatchEngine, "lease_seconds", seconds)
    _default(OutboxSender, "lease_seconds", seconds)


def _die(*_: Any, **__: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _crash_at(point: str) -> None:
    from circuitbot.approvals.engine import ApprovalEngine

    if point == "before-call":
        original = ApprovalEngine.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)

            async def after_claim(request_id: str) -> None:
                _die()

            self.after_claim = after_claim

        ApprovalEngine.__init__ = init  # type: ignore[method-assign]
    else:  # after-call: the provider answered; the process dies before recording it

        async def record(self: Any, *args: Any, **kwargs: Any) -> bool:
            _die()
            raise AssertionError("unreachable")

        ApprovalEngine._record = record  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lease", type=float)
    parser.add_argument("--max-retry", type=float)
    parser.add_argument("--crash", choices=("before-call", "after-call"))
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.lease:
        _shorten_leases(args.lease)
    if args.max_retry:
        from circuitbot.watch.sender import OutboxSender

        _default(OutboxSender, "max_retry_seconds", args.max_retry)
    if args.crash:
        _crash_at(args.crash)
    from circuitbot.cli import main as cli

    return cli([a for a in args.argv if a != "--"])


if __name__ == "__main__":
    sys.exit(main())
