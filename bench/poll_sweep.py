"""Poll sweep: one full sweep of N watched circuits, batched list calls against one GET per circuit.

For each size (default 1,000 and 10,000 circuits) and each strategy of the watch engine
(``batched``: the provider's list call, paged; ``per-resource``: one read per circuit), a child
process of its own (so peak memory is per strategy):

1. starts the provider's simulator over a demo world with N generated circuits in a process of
   its own (``sim_host``: the simulator ``circuitbot sandbox serve`` runs, plus the benchmark's
   seeding and change routes), and builds the bot's runtime with the provider's ordinary settings
   pointing at it over loopback HTTP, on SQLite (or on a throwaway PostgreSQL database with
   ``--postgres``);
2. inserts N watches in bulk, each holding its circuit's current snapshot, all due now, spread
   over ``--channels`` channels, as if their status cards were already posted;
3. changes 1 % of the circuits at the simulator and injects 20 ms of latency into every
   provider request (on the real clock);
4. runs one watch-engine tick (the sweep) and measures provider requests and 429s (counted at the
   simulator), wall time, the bot's CPU time and peak RSS (the simulator's CPU apart);
5. lets the outbox deliver to a recording poster and checks each changed circuit was announced
   exactly once and no other one was.

Each provider with a poller (``sweep_child.PROVIDERS_POLLED``, or those named with
``--providers``) is swept on its own, with the same sizes and targets: Azure cross-connections,
Equinix connections, Console Connect connections, Alibaba physical connections (one generated per
generated circuit, the sandbox throttling each AccessKey with ``Throttling.User`` as Alibaba
would). Console Connect's batched poller reads a connection's peering configs the first time it
sees it and then only where one may be moving, so its measured sweep follows one warm-up sweep
(its requests are reported as ``warm_up_requests``). The Azure simulator throttles reads as ARM
documents (250 a subscription and principal, refilled at 25 a second), which is what the
per-resource strategy meets at scale. A sweep that outlives ``--sweep-timeout`` is
stopped and reported as incomplete, with the requests it had made by then.

    python bench/poll_sweep.py                  # 1,000 and 10,000 circuits
    python bench/poll_sweep.py --smoke          # 50 circuits
    python bench/poll_sweep.py --circuits 2000 --sweep-timeout 600
    python bench/poll_sweep.py --providers equinix   # 1,000 and 10,000 Equinix connections

One sweep's work is in ``sweep_child`` and the report in ``sweep_report``; this script starts a
child process per size and strategy and gathers their figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from itertools import product
from typing import Any

import common
from sweep_child import PROVIDERS_POLLED, child
from sweep_report import report

STRATEGIES = ("batched", "per-resource")
RESULT_MARK = "POLL_SWEEP_RESULT "


# -- the parent: a child per size and strategy -------------------------------------------------------


def replica_counts(args: argparse.Namespace, database_url: str | None) -> list[int]:
    """One replica, and ``--replicas`` of them where the database is shared (PostgreSQL)."""
    return [1, args.replicas] if database_url and args.replicas > 1 else [1]


async def run_child(
    args: argparse.Namespace,
    provider: str,
    circuits: int,
    strategy: str,
    database_url: str | None,
    replicas: int = 1,
) -> dict:
    command = [common.python(), __file__, "--child", "--strategy", strategy, "--circuits", str(circuits)]
    command += ["--provider", provider]
    command += ["--seed", str(args.seed), "--channels", str(args.channels)]
    command += ["--latency-ms", str(args.latency_ms), "--changed-percent", str(args.changed_percent)]
    command += ["--sweep-timeout", str(args.sweep_timeout), "--delivery-timeout", str(args.delivery_timeout)]
    if args.page_size:
        command += ["--page-size", str(args.page_size)]
    if replicas > 1:
        command += ["--replicas", str(replicas)]
    if args.profile:
        command += ["--profile", f"{args.profile}-{provider.replace(',', '+')}-{circuits}-{strategy}.txt"]
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
    raise RuntimeError(
        f"the {strategy} sweep of {circuits} {provider} circuits failed (exit {process.returncode})"
    )


async def run(args: argparse.Namespace) -> int:
    sizes = [50] if args.smoke else args.circuits
    databases: list[tuple[str, str | None]] = [("sqlite", None)]
    parameters = {
        "circuits": sizes,
        "strategies": list(STRATEGIES),
        "providers": list(args.providers),
        "latency_ms": args.latency_ms,
        "changed_percent": args.changed_percent,
        "channels": args.channels,
        "sweep_timeout_seconds": args.sweep_timeout,
        "simulator_page_size": args.page_size or "the sandbox's own",
        "watch_settings": "circuitbot's defaults (WatchSettings: batch_size, provider_concurrency)",
        "replicas": args.replicas,
        "smoke": args.smoke,
        "postgres": common.redact_url(args.postgres) if args.postgres else None,
    }
    print(
        f"poll sweep: {', '.join(f'{n:,}' for n in sizes)} watched circuits, at each of "
        f"{', '.join(args.providers)} in turn, "
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
            swept = [",".join(args.providers)] if args.all_providers else args.providers
            for provider in swept:
                for circuits in sizes:
                    for strategy, replicas in product(args.strategies, replica_counts(args, url)):
                        label = database if replicas == 1 else f"{database} ×{replicas}"
                        print(f"  {label}: {circuits:,} {provider} circuits, {strategy} …", flush=True)
                        if url:
                            await reset_database(url)
                        result = await run_child(args, provider, circuits, strategy, url, replicas)
                        result["database"] = label
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
    parser.add_argument(
        "--providers",
        nargs="+",
        choices=PROVIDERS_POLLED,
        default=list(PROVIDERS_POLLED),
        help="the providers swept, each on its own (default: every one with a poller)",
    )
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="pyinstrument each sweep into PREFIX-<provider>-<n>-<strategy>.txt",
    )
    parser.add_argument(
        "--all-providers",
        action="store_true",
        help="one sweep over every provider at once, the circuits spread evenly among them",
    )
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="replicas ticking at once on the shared database (PostgreSQL runs only); 1 and N both run",
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--strategy", choices=STRATEGIES, help=argparse.SUPPRESS)
    parser.add_argument("--provider", help=argparse.SUPPRESS)  # one, or several joined by commas
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
