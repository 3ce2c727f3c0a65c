"""Notification delay: from a change at the provider to its message reaching Slack, against the poll interval.

The runtime runs here with its scheduler and outbox sender, as in ``circuitbot serve``, its Azure
provider a simulator in a process of its own (``sim_host``) reached over loopback HTTP:
every tick (``tick_seconds``) polls the watches that are due, and each watch is due every T
seconds (``fast_interval_seconds`` and ``slow_interval_seconds`` both T). Its poster talks to a
fake Slack Web API on loopback. The benchmark watches a set of sandbox circuits (each card
posted first), then, over a bounded run, changes circuits at random moments (a Poisson stream,
never a circuit whose last change is not announced yet) with 20 ms of latency on every provider
request, and measures for each change the delay until the fake Slack received its thread reply.
The transition rows tell how that delay splits into detecting the change and delivering it.

It runs once per channel layout: by default one channel per circuit, then five circuits per
channel, where Slack's pace of about one message a second per channel (two messages per
change: the reply and the card edit) adds to the delay.

    python bench/notify_delay.py                 # T = 2 s, 90 s per layout
    python bench/notify_delay.py --interval 5 --duration 180
    python bench/notify_delay.py --smoke         # T = 0.5 s, a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common
from sandbox_processes import provider_settings
from sim_host import HostedSimulator, hosts_for

NAME = "notify_delay"
PROVIDER = "azure"  # the delay is measured on Azure circuits (each provider polls alike)
BOT_TOKEN = "xoxb-bench"
CREATED_BY = "U0BENCH"
MARGIN_SECONDS = 0.5


@dataclass
class Change:
    key: str
    at: float  # loop time (monotonic), comparable with the fake Slack's record
    wall: datetime
    what: str
    delivered_at: float | None = None
    detected_at: datetime | None = None


class Announcements:
    """Matches the fake Slack's thread replies to the changes still waiting for theirs."""

    def __init__(self, fake: Any, key_of_thread: dict[str, str]) -> None:
        self.fake = fake
        self.key_of_thread = key_of_thread
        self.pending: dict[str, Change] = {}
        self._seen_calls = len(fake.calls)

    def collect(self) -> None:
        for call in self.fake.calls[self._seen_calls :]:
            if call.method != "chat.postMessage" or not call.ok:
                continue
            key = self.key_of_thread.get(call.args.get("thread_ts"))
            change = self.pending.pop(key, None) if key else None
            if change is not None:
                change.delivered_at = call.at
        self._seen_calls = len(self.fake.calls)

    async def settle(self, interval: float) -> None:
        """Wait for the changes still pending, a few poll intervals at most."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3 * interval + 10 + len(self.pending)
        while self.pending and loop.time() < deadline:
            await asyncio.sleep(0.05)
            self.collect()
        self.collect()


async def run_layout(
    args: argparse.Namespace, *, circuits: int, channels: int, interval: float, duration: float, rate: float
) -> dict[str, Any]:
    from circuitbot.testing.fake_slack import FakeSlack

    rng = random.Random(args.seed)
    fake = FakeSlack()
    async with contextlib.AsyncExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="circuitbot-notify-")))
        hosts = await stack.enter_async_context(hosts_for([PROVIDER], circuits, args.seed, work))
        host = hosts[PROVIDER]
        seed = await host.call("GET", "seed")
        keys = seed["watched"]
        runtime = await start_runtime(stack, args, fake, host, seed["subscription_id"], interval)
        rows = await watch_every_circuit(runtime, keys, channels)
        announcements = Announcements(fake, {r.thread_ts: r.resource_id for r in rows})
        changes, skipped = await change_at_random(host, announcements, keys, rng, duration, rate)
        await announcements.settle(interval)
        await runtime.watches.stop()
        await mark_detected(runtime, changes, {r.id: r.resource_id for r in rows})
    delivered = [c for c in changes if c.delivered_at is not None]
    delays = [c.delivered_at - c.at for c in delivered]
    return {
        "circuits": circuits,
        "channels": channels,
        "interval_seconds": interval,
        "duration_seconds": duration,
        "changes": len(changes),
        "announced": len(delivered),
        "not_announced": len(changes) - len(delivered),
        "skipped_no_free_circuit": skipped,
        **delay_figures(delivered),
        "p50_over_interval": common.ratio(common.percentile(delays, 50), interval),
        "p99_over_interval": common.ratio(common.percentile(delays, 99), interval),
    }


async def start_runtime(
    stack: contextlib.AsyncExitStack,
    args: argparse.Namespace,
    fake: Any,
    host: HostedSimulator,
    subscription_id: str,
    interval: float,
) -> Any:
    """The runtime polling every ``interval`` the simulator served by ``host`` (its ordinary
    settings point at it), posting to ``fake``, its watches started."""
    from circuitbot.bootstrap import build_runtime
    from circuitbot.clock import SystemClock
    from circuitbot.settings import Settings, WatchSettings
    from circuitbot.slack.app import slack_client
    from circuitbot.slack.poster import SlackPoster

    api_url = await stack.enter_async_context(fake.serve())
    database_url = None
    if args.postgres:
        database_url = await stack.enter_async_context(common.throwaway_postgres(args.postgres))
    data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="circuitbot-notify-")))
    os.environ.update(provider_settings({PROVIDER: host.url}, subscription_id))
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=api_url,
        watch=WatchSettings(
            tick_seconds=interval, fast_interval_seconds=interval, slow_interval_seconds=interval
        ),
    )
    runtime = await build_runtime(settings, sandbox=False, clock=SystemClock())
    stack.push_async_callback(runtime.close)
    runtime.poster = SlackPoster(slack_client(settings, rate_limit_retries=0))
    await host.call("PUT", "faults", {"latency_ms": args.latency_ms})
    await runtime.watches.start()
    return runtime


async def watch_every_circuit(runtime: Any, keys: Sequence[str], channels: int) -> Sequence[Any]:
    """Follow every circuit, its card posted before anything changes; the watch rows."""
    from circuitbot.actions.registry import WatchTarget

    for number, key in enumerate(keys):
        await runtime.watches.watch(
            WatchTarget(PROVIDER, key, f"bench {key[:8]}"),
            f"C0NOTIFY{number % channels:04d}",
            created_by=CREATED_BY,
        )
    return await threads_posted(runtime, len(keys), timeout=60 + len(keys))


async def change_at_random(
    host: HostedSimulator,
    announcements: Announcements,
    keys: Sequence[str],
    rng: random.Random,
    duration: float,
    rate: float,
) -> tuple[list[Change], int]:
    """Changes at Poisson moments for ``duration``, never to a circuit whose last change is not
    announced yet; the changes made, and how many moments found no such circuit."""
    loop = asyncio.get_running_loop()
    changes: list[Change] = []
    skipped = 0
    began = loop.time()
    next_at = began + rng.expovariate(rate)
    while next_at < began + duration:
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        announcements.collect()
        free = [k for k in keys if k not in announcements.pending]
        if not free:
            skipped += 1
        else:
            key = rng.choice(free)
            at, wall = loop.time(), datetime.now(UTC)  # before the change: the delay is not flattered
            what = (await host.call("POST", "change-one", {"key": key}))["what"]
            change = Change(key, at, wall, what)
            announcements.pending[key] = change
            changes.append(change)
        next_at += rng.expovariate(rate)
    return changes, skipped


async def mark_detected(runtime: Any, changes: Sequence[Change], key_of_watch: dict[int, str]) -> None:
    """Which tick saw each change: the k-th transition of a watch is its k-th change."""
    from sqlalchemy import select

    from circuitbot.store.tables import WatchTransition

    async with runtime.db.session() as session:
        transitions = (
            await session.execute(
                select(WatchTransition.watch_id, WatchTransition.at).order_by(WatchTransition.id)
            )
        ).all()
    seen_at: dict[str, deque[datetime]] = defaultdict(deque)
    for row in transitions:
        seen_at[key_of_watch[row.watch_id]].append(_aware(row.at))
    for change in changes:
        if seen_at[change.key]:
            change.detected_at = seen_at[change.key].popleft()


def delay_figures(delivered: Sequence[Change]) -> dict[str, Any]:
    """The delay of each delivered change, split into detecting it and delivering it."""
    delays = [c.delivered_at - c.at for c in delivered]
    detect = [(c.detected_at - c.wall).total_seconds() for c in delivered if c.detected_at]
    deliver = [
        c.delivered_at - c.at - (c.detected_at - c.wall).total_seconds() for c in delivered if c.detected_at
    ]
    return {
        "delay": common.distribution(delays),
        "detect": common.distribution(detect),
        "deliver": common.distribution(deliver),
    }


async def threads_posted(runtime: Any, count: int, timeout: float) -> Sequence[Any]:  # noqa: ASYNC109
    """The watches once every card is posted (the sender records each card's ts after Slack answered)."""
    from sqlalchemy import select

    from circuitbot.store.tables import Watch

    deadline = time.monotonic() + timeout
    while True:
        async with runtime.db.session() as session:
            rows = (await session.execute(select(Watch.id, Watch.resource_id, Watch.thread_ts))).all()
        if sum(1 for r in rows if r.thread_ts) >= count:
            return rows
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {sum(1 for r in rows if r.thread_ts)} of {count} cards were posted")
        await asyncio.sleep(0.05)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC


async def run(args: argparse.Namespace) -> int:
    interval = 0.5 if args.smoke else args.interval
    duration = 4.0 if args.smoke else args.duration
    circuits = 5 if args.smoke else args.circuits
    rate = 2.0 if args.smoke else args.rate
    layouts = [circuits, max(1, circuits // 5)] if args.channels is None else args.channels
    parameters = {
        "interval_seconds": interval,
        "duration_seconds_per_layout": duration,
        "circuits": circuits,
        "channel_layouts": layouts,
        "changes_per_second": rate,
        "latency_ms": args.latency_ms,
        "provider": PROVIDER,
        "seed": args.seed,
        "smoke": args.smoke,
        "postgres": common.redact_url(args.postgres) if args.postgres else None,
    }
    print(
        f"notification delay: T = {interval:g} s, {circuits} {PROVIDER} circuits watched, "
        f"~{rate:g} changes/s for {duration:g} s per layout",
        flush=True,
    )
    runs = []
    for channels in layouts:
        print(f"  {circuits} circuits over {channels} channel(s) …", flush=True)
        started = time.monotonic()
        result = await run_layout(
            args, circuits=circuits, channels=channels, interval=interval, duration=duration, rate=rate
        )
        result["run_seconds"] = time.monotonic() - started
        runs.append(result)
    report(runs, parameters, args.output)
    return 0


def report(runs: Sequence[dict[str, Any]], parameters: dict[str, Any], output: Path | None) -> None:
    interval = parameters["interval_seconds"]
    rows = []
    for run in runs:
        delay, detect, deliver = run["delay"], run["detect"], run["deliver"]
        rows.append(
            [
                f"{run['circuits']} over {run['channels']}",
                f"{run['announced']}/{run['changes']}",
                _s(delay["p50"]),
                _s(delay["p95"]),
                _s(delay["p99"]),
                _s(delay["max"]),
                common.times(run["p50_over_interval"]),
                common.times(run["p99_over_interval"]),
                _s(detect["p50"]) + " / " + _s(detect["p99"]),
                _s(deliver["p50"]) + " / " + _s(deliver["p99"]),
            ]
        )
    common.print_table(
        [
            "circuits over channels",
            "announced",
            "p50 s",
            "p95 s",
            "p99 s",
            "max s",
            "p50/T",
            "p99/T",
            "detect p50/p99 s",
            "deliver p50/p99 s",
        ],
        rows,
        title=f"Delay from a change to its Slack message, T = {interval:g} s",
    )
    targets = []
    for run in runs:
        p99 = run["delay"]["p99"]
        targets.append(
            common.target(
                f"p99 delay, {run['circuits']} circuits over {run['channels']} channel(s)",
                f"≤ T + {MARGIN_SECONDS:g} s = {interval + MARGIN_SECONDS:g} s",
                f"{_s(p99)} s",
                None if p99 is None else p99 <= interval + MARGIN_SECONDS,
            )
        )
        targets.append(
            common.target(
                f"every change announced, {run['channels']} channel(s)",
                "all",
                f"{run['announced']} of {run['changes']}",
                run["not_announced"] == 0,
            )
        )
    common.print_targets(targets)
    common.write_results(NAME, parameters, {"runs": list(runs), "targets": targets}, output)


def _s(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=2.0, help="poll interval T in seconds (default 2)")
    parser.add_argument("--duration", type=float, default=90.0, help="seconds of changes per layout")
    parser.add_argument("--rate", type=float, default=1.0, help="changes per second on average")
    parser.add_argument("--circuits", type=int, default=50, help="watched circuits")
    parser.add_argument(
        "--channels",
        type=int,
        nargs="+",
        help="channel layouts to run (default: one channel per circuit, then five circuits per channel)",
    )
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added to every provider request")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
