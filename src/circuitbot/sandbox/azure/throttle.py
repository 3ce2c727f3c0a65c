"""ARM's subscription throttling, as Microsoft documents it since the 2024 regional limits.

"Understand how Azure Resource Manager throttles requests"
(learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling):
each subscription has a token bucket per security principal and per kind of operation (reads
250 tokens refilled at 25 a second, writes and deletes 200 at 10 a second). Every answer says
what is left in ``x-ms-ratelimit-remaining-subscription-<kind>``; an empty bucket answers 429
``SubscriptionRequestsThrottled`` with ``Retry-After`` in whole seconds.

Invariants and pitfalls:

* the buckets refill on the simulator's clock (``Clock.monotonic``): on a ``FakeClock`` that
  nobody moves a bucket stays empty, which is what a test of throttling wants;
* the principal is the bearer token as sent (the sandbox accepts any token), so two bot
  processes with the same static token share a bucket, as two replicas with one identity do;
* a throttled request takes no token and changes nothing, but it reached ARM: it is counted in
  ``Simulator.calls`` like any other, and in ``throttled``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

from circuitbot.clock import Clock

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Limit:
    bucket: int
    refill_per_second: float


# The documented subscription limits per principal (2024 regional throttling).
SUBSCRIPTION_LIMITS: dict[str, Limit] = {
    "reads": Limit(250, 25.0),
    "writes": Limit(200, 10.0),
    "deletes": Limit(200, 10.0),
}


def kind_of(method: str) -> str:
    """ARM's kind of operation for an HTTP method (POST actions count as writes)."""
    method = method.upper()
    if method in READ_METHODS:
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


@dataclass
class Verdict:
    allowed: bool
    remaining: int
    retry_after: int  # whole seconds; 0 when allowed

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if not self.allowed else {}


@dataclass
class ArmThrottle:
    """Token buckets per (subscription, principal, kind); ``limits`` None turns throttling off."""

    clock: Clock
    limits: dict[str, Limit] | None = field(default_factory=lambda: dict(SUBSCRIPTION_LIMITS))
    throttled: int = 0  # 429s answered (the benchmarks read it)
    _buckets: dict[tuple[str, str, str], tuple[float, float]] = field(default_factory=dict)

    def take(self, subscription_id: str, authorization: str, method: str) -> Verdict | None:
        """Take a token for one request; None when throttling is off."""
        if not self.limits:
            return None
        kind = kind_of(method)
        limit = self.limits[kind]
        principal = hashlib.sha256(authorization.encode()).hexdigest()[:16]  # never the token itself
        key = (subscription_id.lower(), principal, kind)
        now = self.clock.monotonic()
        tokens, then = self._buckets.get(key, (float(limit.bucket), now))
        tokens = min(float(limit.bucket), tokens + (now - then) * limit.refill_per_second)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            self.throttled += 1
            wait = max(1, math.ceil((1 - tokens) / limit.refill_per_second))
            return Verdict(False, 0, wait)
        self._buckets[key] = (tokens - 1, now)
        return Verdict(True, int(tokens - 1), 0)

    @staticmethod
    def remaining_header(method: str) -> str:
        return f"x-ms-ratelimit-remaining-subscription-{kind_of(method)}"
