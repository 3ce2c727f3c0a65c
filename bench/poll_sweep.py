"""Poll sweep: one full sweep of N watched circuits, batched list calls against one GET per circuit.

For each size (default 1,000 and 10,000 circuits) and each strategy of the watch engine
(``batched``: the provider's list call, paged; ``per-resource``: one read per circuit), a child
process of its own (so peak memory is per strategy):

1. builds the sandbox runtime over a demo world with N generated circuits, on SQLite (or on a
   throwaway PostgreSQL database with ``--postgres``);
2. inserts N watches in bulk, each holding its circuit's current snapshot, all due now, spread
   over ``--channels`` channels, as if their status cards were already posted;
3. changes 1 % of the circuits at the simulator and injects 20 ms of latency into every
   provider request (on the real clock);
4. runs one watch-engine tick (the sweep) and measures provider requests (counted at the
   simulator), wall time, CPU time and peak RSS;
5. lets the outbox deliver to a recording poster and checks each changed circuit was announced
   exactly once and no other one was.

Every watched circuit is an Azure cross-connection: Azure is the only provider with a poller so
far. A sweep that outlives ``--sweep-timeout`` is stopped and reported as incomplete, with the
requests it had made by then.

    python bench/poll_sweep.py                  # 1,000 and 10,000 circuits
    python bench/poll_sweep.py --smoke          # 50 circuits
    python bench/poll_sweep.py --circuits 2000 --sweep-timeout 600
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import common

NAME = "poll_sweep"
STRATEGIES = ("batched", "per-resource")
PROVIDERS_POLLED = ("azure",)  # providers with a poller today; the watches are spread over these
RESULT_MARK = "POLL_SWEEP_RESULT "
CREATED_BY = "U0BENCH"
TARGET_CIRCUITS = 10_000  # the size the call-count and wall-time targets are set at


# -- the recording poster --------------------------------------------------------------------------


@dataclass
class Posted:
    kind: str  # post | update | ephemeral
    channel: str
    ts: str
    thread_ts: str | None
    text: str


@dataclass
class RecordingPoster:
    """The bot's voice in channels, kept in memory: what the outbox delivered, in order."""

    posted: list[Posted] = field(default_factory=list)
    _counter: int = 0

    def _ts(self) -> str:
        self._counter += 1
        return f"1800000000.{self._counter:06d}"

    async def post(self, channel: str, reply: Any, *, thread_ts: str | None = None) -> str:
        ts = self._ts()
        self.posted.append(Posted("post", channel, ts, thread_ts, reply.text))
        return ts

    async def update(self, channel: str, ts: str, reply: Any) -> None:
        self.posted.append(Posted("update", channel, ts, None, reply.text))

    async def post_ephemeral(
        self, channel: str, user: str, reply: Any, *, thread_ts: str | None = None
    ) -> None:
        self.posted.append(Posted("ephemeral", channel, self._ts(), thread_ts, reply.text))


# -- seeding (per provider) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    resource_id: str
    label: str
    snapshot: dict[str, str]


def azure_seed(runtime: Any, keys: Sequence[str]) -> list[Seeded]:
    """Each cross-connection's snapshot as the poller will read it, taken from the simulator's state
    (rendered as its API would answer) rather than through N requests."""
    from circuitbot.providers.azure import models as m
    from circuitbot.providers.azure.poller import snapshot

    simulator = runtime.sandbox["azure"]
    subscription = simulator.world.partner_subscription_id
    seeded = []
    for key in keys:
        body = simulator._render(simulator.cross_connection(key), subscription)  # the sandbox's own view
        seeded.append(
            Seeded(key, f"bench {key[:8]}", snapshot(m.ExpressRouteCrossConnection.model_validate(body)))
        )
    return seeded


def azure_change(runtime: Any, key: str) -> str:
    """Move a circuit's provider state on by one, as the customer or the partner would."""
    from circuitbot.sandbox.azure import PROVIDER_STATES

    cross_connection = runtime.sandbox["azure"].cross_connection(key)
    before = cross_connection.provider_state
    cross_connection.provider_state = PROVIDER_STATES[
        (PROVIDER_STATES.index(before) + 1) % len(PROVIDER_STATES)
    ]
    return f"{before} → {cross_connection.provider_state}"


SEEDERS = {"azure": azure_seed}
CHANGERS = {"azure": azure_change}


def card_ts(number: int) -> str:
    """The ts of the n-th watch's status card, which is also its thread."""
    return f"1700000000.{number:06d}"


async def insert_watches(
    runtime: Any, provider: str, seeded: Sequence[Seeded], channels: int
) -> dict[str, str]:
    """The watch rows, in bulk, due now, each one's card and thread already posted; returns the
    resource of each card ts."""
    from sqlalchemy import insert

    from circuitbot.store.tables import Watch

    now = runtime.clock.now()
    rows = []
    for number, item in enumerate(seeded):
        rows.append(
            {
                "provider": provider,
                "resource_id": item.resource_id,
                "label": item.label,
                "channel": f"C0SWEEP{number % channels:04d}",
                "thread_ts": card_ts(number),
                "status_ts": card_ts(number),
                "created_by": CREATED_BY,
                "request_id": None,
                "snapshot": item.snapshot,
                "version": 0,
                "status": "active",
                "status_reason": None,
                "next_poll_at": now - timedelta(seconds=1),
                "error_count": 0,
                "unreachable": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    async with runtime.db.session() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Watch), rows[start : start + 1000])
    return {card_ts(number): item.resource_id for number, item in enumerate(seeded)}


# -- one sweep, in a child process -------------------------------------------------------------------


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def child(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import func, select

    from circuitbot.bootstrap import build_runtime
    from circuitbot.clock import SystemClock
    from circuitbot.sandbox.faults import FaultConfig
    from circuitbot.sandbox.world import World
    from circuitbot.settings import Settings, WatchSettings
    from circuitbot.store.tables import WatchTransition

    started = time.perf_counter()
    provider = PROVIDERS_POLLED[0]
    world = World.demo(extra_circuits=args.circuits, seed=args.seed)
    watched_keys = [c.service_key for c in world.circuits[-args.circuits :]]
    with tempfile.TemporaryDirectory(prefix="circuitbot-sweep-") as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            database_url=args.database_url,
            watch=WatchSettings(strategy=args.strategy),
        )
        runtime = await build_runtime(settings, sandbox=True, clock=SystemClock(), world=world)
        poster = RecordingPoster()
        runtime.poster = poster
        try:
            if provider not in runtime.pollers:
                raise SystemExit(f"no {provider} poller is wired: nothing to sweep")
            simulator = runtime.sandbox[provider]
            cards = await insert_watches(
                runtime, provider, SEEDERS[provider](runtime, watched_keys), args.channels
            )
            rng = random.Random(args.seed)
            changed = rng.sample(watched_keys, max(1, round(len(watched_keys) * args.changed_percent / 100)))
            for key in changed:
                CHANGERS[provider](runtime, key)
            if args.page_size:  # a what-if: the sandbox's own page size is the default
                simulator.page_size = args.page_size
            simulator.faults = FaultConfig(latency_ms=args.latency_ms)
            simulator.reset_calls()
            seeded_seconds = time.perf_counter() - started
            rss_before = common.rss_mb()

            common.reset_peak_rss()
            cpu_before, wall_before = cpu_seconds(), time.perf_counter()
            completed, report = True, None
            try:
                report = await asyncio.wait_for(runtime.watches.tick(), args.sweep_timeout)
            except TimeoutError:
                completed = False
            wall = time.perf_counter() - wall_before
            cpu = cpu_seconds() - cpu_before
            sweep_peak = common.peak_rss_mb()
            requests = dict(simulator.calls)

            simulator.faults = FaultConfig()
            async with runtime.db.session() as session:
                transitions = (
                    await session.execute(select(func.count()).select_from(WatchTransition))
                ).scalar_one()
            delivery = await deliver(runtime, poster, args.delivery_timeout) if completed else None
            announced = announcements(poster, cards, changed)
        finally:
            await runtime.close()
    return {
        "strategy": args.strategy,
        "circuits": args.circuits,
        "providers": {provider: args.circuits},
        "simulator_page_size": getattr(simulator, "page_size", None),
        "changed": len(changed),
        "completed": completed,
        "sweep_timeout_seconds": args.sweep_timeout,
        "provider_requests": sum(requests.values()),
        "provider_requests_by_route": requests,
        "poller_calls": dict(report.calls) if report else None,
        "claimed": report.claimed if report else None,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "rss_before_sweep_mb": rss_before,
        "peak_rss_sweep_mb": sweep_peak,
        "peak_rss_process_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seed_seconds": seeded_seconds,
        "transitions_found": transitions,
        "outbox_rows_written": report.messages if report else None,
        "delivery": delivery,
        **announced,
    }


async def deliver(runtime: Any, poster: RecordingPoster, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
    """Run the outbox sender until nothing is pending (or ``timeout``); how long it took."""
    sender = runtime.watches.sender
    began = time.perf_counter()
    await sender.start()
    try:
        # The outbox has no event to wait on from outside; its pending count is what is measured.
        while await sender.pending() and time.perf_counter() - began < timeout:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        pending = await sender.pending()
    finally:
        await sender.stop()
    return {"seconds": time.perf_counter() - began, "posted": len(poster.posted), "still_pending": pending}


def announcements(poster: RecordingPoster, cards: dict[str, str], changed: Sequence[str]) -> dict[str, Any]:
    """Thread replies per watch (a watch's thread is its card's ts): changed ones once, others never."""
    thread_of = cards
    replies = collections.Counter(
        thread_of[p.thread_ts] for p in poster.posted if p.kind == "post" and p.thread_ts in thread_of
    )
    cards = collections.Counter(
        thread_of[p.ts] for p in poster.posted if p.kind == "update" and p.ts in thread_of
    )
    wanted = set(changed)
    return {
        "announced_once": sum(1 for key in wanted if replies[key] == 1),
        "announced_more_than_once": sum(1 for key in wanted if replies[key] > 1),
        "not_announced": sum(1 for key in wanted if replies[key] == 0),
        "announced_unchanged": sum(1 for key, n in replies.items() if key not in wanted and n),
        "cards_updated": sum(1 for key in wanted if cards[key] >= 1),
    }


# -- the parent: a child per size and strategy -------------------------------------------------------


async def run_child(args: argparse.Namespace, circuits: int, strategy: str, database_url: str | None) -> dict:
    command = [common.python(), __file__, "--child", "--strategy", strategy, "--circuits", str(circuits)]
    command += ["--seed", str(args.seed), "--channels", str(args.channels)]
    command += ["--latency-ms", str(args.latency_ms), "--changed-percent", str(args.changed_percent)]
    command += ["--sweep-timeout", str(args.sweep_timeout), "--delivery-timeout", str(args.delivery_timeout)]
    if args.page_size:
        command += ["--page-size", str(args.page_size)]
    if database_url:
        command += ["--database-url", database_url]
    process = await asyncio.create_subprocess_exec(
        *command,
        env=common.child_env(),
        cwd=common.REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    for line in out.decode().splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line.removeprefix(RESULT_MARK))
    raise RuntimeError(f"the {strategy} sweep of {circuits} circuits failed (exit {process.returncode})")


async def run(args: argparse.Namespace) -> int:
    sizes = [50] if args.smoke else args.circuits
    databases: list[tuple[str, str | None]] = [("sqlite", None)]
    parameters = {
        "circuits": sizes,
        "strategies": list(STRATEGIES),
        "providers": list(PROVIDERS_POLLED),
        "latency_ms": args.latency_ms,
        "changed_percent": args.changed_percent,
        "channels": args.channels,
        "sweep_timeout_seconds": args.sweep_timeout,
        "simulator_page_size": args.page_size or "the sandbox's own",
        "watch_settings": "circuitbot's defaults (WatchSettings: batch_size, provider_concurrency)",
        "smoke": args.smoke,
        "postgres": common.redact_url(args.postgres) if args.postgres else None,
    }
    print(
        f"poll sweep: {', '.join(f'{n:,}' for n in sizes)} watched circuits, all on "
        f"{'/'.join(PROVIDERS_POLLED)} (the only provider with a poller so far), "
        f"{args.latency_ms:g} ms per provider request, {args.changed_percent:g} % changed",
        flush=True,
    )
    runs: list[dict[str, Any]] = []
    async with contextlib.AsyncExitStack() as stack:
        if args.postgres:
            databases.append(
                ("postgres", await stack.enter_async_context(common.throwaway_postgres(args.postgres)))
            )
        for database, url in databases:
            for circuits in sizes:
                for strategy in STRATEGIES:
                    print(f"  {database}: {circuits:,} circuits, {strategy} …", flush=True)
                    if url:
                        await reset_database(url)
                    result = await run_child(args, circuits, strategy, url)
                    result["database"] = database
                    runs.append(result)
                    state = "" if result["completed"] else f" (stopped at {args.sweep_timeout:g} s)"
                    requests = result["provider_requests"]
                    print(f"    {requests:,} requests, {result['wall_seconds']:.2f} s{state}", flush=True)
    report(runs, parameters, args.output)
    return 0


async def reset_database(url: str) -> None:
    """Each sweep starts from an empty schema, so the runs on one server do not see each other."""
    import asyncpg

    connection = await asyncpg.connect(common._plain_dsn(url))
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


def report(runs: list[dict[str, Any]], parameters: dict[str, Any], output: Path | None) -> None:
    rows = []
    for run in runs:
        delivery = run["delivery"] or {}
        rows.append(
            [
                run["database"],
                f"{run['circuits']:,}",
                run["strategy"],
                f"{run['provider_requests']:,}" + ("" if run["completed"] else "+"),
                f"{run['wall_seconds']:.2f}" + ("" if run["completed"] else " (stopped)"),
                f"{run['cpu_seconds']:.2f}",
                f"{run['peak_rss_process_mb']:.0f}",
                f"{run['peak_rss_sweep_mb']:.0f}" if run["peak_rss_sweep_mb"] else "—",
                f"{run['changed']}",
                f"{run['transitions_found']}",
                f"{run['announced_once']}"
                + (f" (+{run['announced_more_than_once']} twice)" if run["announced_more_than_once"] else ""),
                f"{delivery.get('seconds', 0):.1f}" if delivery else "—",
            ]
        )
    common.print_table(
        [
            "db",
            "circuits",
            "strategy",
            "requests",
            "wall s",
            "CPU s",
            "peak MB",
            "sweep MB",
            "changed",
            "found",
            "posted once",
            "delivery s",
        ],
        rows,
        title="One full sweep (provider requests counted at the simulator; peak MB: the whole child process)",
        left_columns=3,
    )

    comparisons = []
    by_key = {(r["database"], r["circuits"], r["strategy"]): r for r in runs}
    for (database, circuits, strategy), batched in by_key.items():
        if strategy != "batched":
            continue
        single = by_key.get((database, circuits, "per-resource"))
        if single is None:
            continue
        comparisons.append(
            {
                "database": database,
                "circuits": circuits,
                "requests_ratio": common.ratio(single["provider_requests"], batched["provider_requests"]),
                "wall_ratio": common.ratio(single["wall_seconds"], batched["wall_seconds"]),
                "cpu_ratio": common.ratio(single["cpu_seconds"], batched["cpu_seconds"]),
                "both_completed": batched["completed"] and single["completed"],
            }
        )
    common.print_table(
        [
            "db",
            "circuits",
            "requests per-resource/batched",
            "wall per-resource/batched",
            "CPU per-resource/batched",
        ],
        [
            [
                c["database"],
                f"{c['circuits']:,}",
                common.times(c["requests_ratio"]) + ("" if c["both_completed"] else " (incomplete)"),
                common.times(c["wall_ratio"]),
                common.times(c["cpu_ratio"]),
            ]
            for c in comparisons
        ],
        title="Ratios (how many times more the per-resource sweep costs)",
        left_columns=1,
    )

    largest = max(parameters["circuits"])
    at_target = TARGET_CIRCUITS in parameters["circuits"]
    targets = []
    for database in dict.fromkeys(r["database"] for r in runs):
        comparison = next(
            (c for c in comparisons if c["database"] == database and c["circuits"] == TARGET_CIRCUITS), None
        )
        batched = next(
            (
                r
                for r in runs
                if r["database"] == database
                and r["circuits"] == TARGET_CIRCUITS
                and r["strategy"] == "batched"
            ),
            None,
        )
        not_run = f"not run at {TARGET_CIRCUITS:,} circuits"
        quotient = comparison["requests_ratio"] if comparison else None
        complete = bool(comparison and comparison["both_completed"])
        targets.append(
            common.target(
                f"batched requests at {TARGET_CIRCUITS:,} ({database})",
                "≥ 50× fewer than per-resource",
                (f"{common.times(quotient)} fewer" + ("" if complete else " (a sweep did not finish)"))
                if comparison
                else not_run,
                quotient >= 50 if quotient is not None and complete and at_target else None,
            )
        )
        targets.append(
            common.target(
                f"batched sweep wall at {TARGET_CIRCUITS:,} ({database})",
                "≤ 2 s",
                (
                    f"{batched['wall_seconds']:.2f} s"
                    + ("" if batched["completed"] else " (stopped, unfinished)")
                )
                if batched
                else not_run,
                (batched["completed"] and batched["wall_seconds"] <= 2.0) if batched else None,
            )
        )
        peak = max(
            r["peak_rss_process_mb"] for r in runs if r["database"] == database and r["circuits"] == largest
        )
        targets.append(
            common.target(f"peak RSS at {largest:,} ({database})", "≤ 200 MB", f"{peak:.0f} MB", peak <= 200)
        )
        finished = [r for r in runs if r["database"] == database and r["completed"]]
        exact = all(
            r["announced_once"] == r["changed"]
            and not r["announced_unchanged"]
            and not r["announced_more_than_once"]
            for r in finished
        )
        targets.append(
            common.target(
                f"every change announced exactly once ({database})",
                "each changed circuit once, no other",
                f"{len(finished)} of {sum(1 for r in runs if r['database'] == database)} sweeps finished; "
                + ("all exact" if exact else "NOT exact"),
                exact if finished else None,
            )
        )
    common.print_targets(targets)
    common.write_results(NAME, parameters, {"runs": runs, "ratios": comparisons, "targets": targets}, output)


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--circuits", type=int, nargs="+", default=[1000, 10000], help="sizes (default 1000 10000)"
    )
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added to every provider request")
    parser.add_argument(
        "--changed-percent", type=float, default=1.0, help="circuits changed before the sweep"
    )
    parser.add_argument("--channels", type=int, default=50, help="channels the watches are spread over")
    parser.add_argument("--sweep-timeout", type=float, default=600.0, help="stop a sweep after this long")
    parser.add_argument("--delivery-timeout", type=float, default=120.0, help="wait this long for the outbox")
    parser.add_argument(
        "--page-size", type=int, help="what-if: list pages of this size at the simulator (default: its own)"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--strategy", choices=STRATEGIES, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.circuits = args.circuits[0]
        result = asyncio.run(child(args))
        print(RESULT_MARK + json.dumps(result), flush=True)
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
