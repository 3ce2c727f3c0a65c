"""Ack latency's phases for one app: a warm-up, then open loops at fixed offered rates (each
followed by the wait for its final replies), then a closed loop for capacity."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ack_load import (
    APPROVALS_CHANNEL,
    FINAL_REPLY_WAIT_SECONDS,
    Planned,
    SlackRecord,
    expected_replies,
    plan,
    summarize,
)
from ack_wire import closed_loop, open_loop, prepare


@dataclass(frozen=True)
class Phases:
    """What every app gets: the same commands at the same rates, for the same time."""

    rates: Sequence[float]
    seconds: float  # each open loop
    closed_connections: int
    closed_seconds: float
    warmup: Sequence[Planned]
    seed: int
    keys: Sequence[str]
    closed_capacity: int = 40_000  # commands prepared for the closed loop (more than any app answers)

    def open_plan(self, number: int, rate: float) -> list[Planned]:
        count = max(1, round(rate * self.seconds))
        return plan(count, self.seed + 10 + number, self.keys, first_index=(number + 1) * 1_000_000)

    def closed_plan(self) -> list[Planned]:
        return plan(self.closed_capacity, self.seed + 99, self.keys, first_index=50_000_000)


async def measure_app(
    label: str, app_url: str, slack: SlackRecord, phases: Phases, *, replies_expected: bool
) -> dict[str, Any]:
    """Every phase against one app; its figures by phase."""
    warm = prepare(app_url, slack.root, f"{label}-warmup", phases.warmup)
    warm_samples, _ = await closed_loop(app_url, iter(warm), 10, 3600.0)
    if replies_expected:
        await slack.wait_for_replies(expected_replies(warm_samples), FINAL_REPLY_WAIT_SECONDS)
    figures: dict[str, Any] = {"open_loop": {}}
    for number, rate in enumerate(phases.rates):
        prepared = prepare(app_url, slack.root, f"{label}-r{number}", phases.open_plan(number, rate))
        print(f"  {label}: open loop at {rate:g}/s for {phases.seconds:g} s …", flush=True)
        posted_before = await _approvals_posted(slack)
        began = time.monotonic()
        samples, generator = await open_loop(app_url, prepared, rate)
        seconds = time.monotonic() - began
        missing: set[str] = set()
        if replies_expected:
            missing = await slack.wait_for_replies(expected_replies(samples), FINAL_REPLY_WAIT_SECONDS)
        else:
            await slack.refresh()
        summary = summarize(samples, slack, seconds, missing, replies_expected, posted_before)
        figures["open_loop"][f"{rate:g}"] = {"offered_per_second": rate, **summary, "generator": generator}
    print(
        f"  {label}: closed loop, {phases.closed_connections} connections for {phases.closed_seconds:g} s …"
    )
    prepared = prepare(app_url, slack.root, f"{label}-closed", phases.closed_plan())
    samples, seconds = await closed_loop(
        app_url, iter(prepared), phases.closed_connections, phases.closed_seconds
    )
    await slack.refresh()
    figures["closed_loop"] = summarize(samples, slack, seconds, set(), False, 0)
    return figures


async def measure_generator(null_url: str, slack_root: str, phases: Phases) -> dict[str, Any]:
    """The generator against a server that answers at once: its own ceiling, closed loop."""
    prepared = prepare(null_url, slack_root, "null", phases.closed_plan())
    samples, seconds = await closed_loop(
        null_url, iter(prepared), phases.closed_connections, phases.closed_seconds
    )
    return {"closed_loop": summarize(samples, SlackRecord(slack_root), seconds, set(), False, 0)}


async def _approvals_posted(slack: SlackRecord) -> int:
    await slack.refresh()
    return slack.count("chat.postMessage", APPROVALS_CHANNEL)
