"""Ack latency: circuitbot's slash-command ack against a bare Bolt app that only acks.

Eight processes besides this one (one at a time of the apps), all on loopback:

* a fake Slack Web API (``circuitbot.testing.fake_slack.FakeSlack``) that records, with the time it
  arrived, every call: ``auth.test``, the approval requests' ``chat.postMessage`` and each
  command's final reply to its own ``response_url``;
* a null server that answers every request at once (``ack_wire.serve_null``);
* the floor: a bare Bolt ``AsyncApp`` on the same HTTP stack circuitbot uses (Starlette, Bolt's
  Starlette adapter, uvicorn through ``circuitbot.slack.server.http_server``) whose ``/circuit``
  handler only acks;
* ``circuitbot serve --http``, a real process on SQLite (and then on a throwaway PostgreSQL
  database when a server URL is given), whose providers are the four simulators, each served by
  its own ``circuitbot sandbox serve`` process and reached over loopback HTTP through the
  ordinary settings (``sandbox_processes``).

This process signs slash commands as Slack does, before any clock starts, and sends them with a
raw asyncio HTTP/1.1 client (``ack_wire``), the same sequences to each app: help, a port-pair
listing, a show, a connection listing and a mutating command (``az notes``) that becomes an
approval request. First it drives a server that answers at once (the generator's own ceiling),
then each app in turn: open loops at fixed offered rates (latency from when each request was
due, so a slow answer cannot hide the requests behind it), each followed by the wait for its
final replies, then a closed loop of N connections for capacity. It times each HTTP response
(the ack), and per verb and load the time until the command's final reply reached the fake Slack.

    python bench/ack_latency.py                 # 100, 300 and 1,000/s for 10 s; 50 connections
    python bench/ack_latency.py --smoke         # 20 and 50/s for 1 s; 5 connections for 1 s
    python bench/ack_latency.py --postgres postgresql://postgres@127.0.0.1:5432/test

The load and its figures are in ``ack_load``, the generator in ``ack_wire``, the phases in
``ack_phases``, the printed and written report in ``ack_report``, the helper servers in
``ack_servers``; this script starts the processes and runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common
from ack_load import (
    APPROVALS_CHANNEL,
    APPROVER,
    BOT_TOKEN,
    EVENTS_PATH,
    MIX,
    REQUESTERS,
    SIGNING_SECRET,
    SlackRecord,
    plan,
)
from ack_phases import Phases, measure_app, measure_generator
from ack_report import report
from ack_servers import serve_fake_slack, serve_floor
from ack_wire import Connection, prepare, serve_null
from sandbox_processes import served_providers

# The load is one principal reading far beyond ARM's documented 25 reads a second: with ARM's
# limits on, the final replies would measure Azure's quota, not the bot (poll_sweep measures that).
SIMULATOR_FLAGS = {"azure": ["--arm-throttling", "off"]}
WORK_PROCESS_RUNS = {"both": (False, True), "off": (False,), "on": (True,)}
EXTRA_SETTINGS: dict[str, str] = {}  # --setting NAME=VALUE: what-ifs, reported with the figures

# -- the processes ------------------------------------------------------------------------------------


async def start_fake_slack(
    work: Path, niceness: int
) -> tuple[asyncio.subprocess.Process, str, contextlib.AsyncExitStack]:
    stack = contextlib.AsyncExitStack()
    process = await stack.enter_async_context(
        common.child_process(
            [common.python(), __file__, "--serve-fake-slack"],
            env=common.child_env(),
            log=work / "fake-slack.log",
            stdout=asyncio.subprocess.PIPE,
            niceness=niceness,
        )
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    if not line.startswith("READY "):
        await stack.aclose()
        raise RuntimeError(f"the fake Slack did not start: {line!r}")
    return process, f"http://{common.LOOPBACK}:{int(line.split()[1])}", stack


# A fixed Fernet key: approval requests keep their secrets encrypted, as in a deployment.
SECRET_KEY = "Wy6ZanrTq0XRhhKQG27XBf_LcrRuBaN4ztnkq4UNYeE="


def circuitbot_env(
    work: Path, slack_root: str, database_url: str | None, providers: dict[str, str], work_process: bool
) -> dict[str, str]:
    settings = {
        "CIRCUITBOT_WORK_PROCESS": "true" if work_process else "false",
        **providers,
        "CIRCUITBOT_SECRET_KEY": SECRET_KEY,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack_root}/api/",
        "CIRCUITBOT_DATA_DIR": str(work),
        "CIRCUITBOT_APPROVALS_CHANNEL": APPROVALS_CHANNEL,
        "CIRCUITBOT_REQUESTERS": ",".join(REQUESTERS),
        "CIRCUITBOT_APPROVERS": APPROVER,
    }
    if database_url:
        settings["CIRCUITBOT_DATABASE_URL"] = database_url
    return common.child_env(**settings, **EXTRA_SETTINGS)


async def run_circuitbot(
    work: Path,
    slack: SlackRecord,
    label: str,
    database_url: str | None,
    load: Phases,
    keep_logs: Path | None,
    providers: dict[str, str],
    work_process: bool = False,
) -> dict[str, Any]:
    port = common.free_port()
    data_dir = work / label
    data_dir.mkdir()
    log = work / f"circuitbot-{label}.log"
    command = [common.python(), "-m", "circuitbot.cli", "serve", "--http"]
    command += ["--host", common.LOOPBACK, "--port", str(port)]
    spawned = time.monotonic()
    async with common.child_process(
        command, env=circuitbot_env(data_dir, slack.root, database_url, providers, work_process), log=log
    ) as process:
        base = f"http://{common.LOOPBACK}:{port}"
        first_ack = await first_ack_after(base + EVENTS_PATH, slack.root, process, spawned)
        await common.wait_until_ready(f"{base}/readyz", process, log=log)
        at_rest = {"first_ack_seconds": first_ack, "idle_rss_mb": common.rss_of_tree(process.pid)}
        print(f"measuring circuitbot on {label} …", flush=True)
        result = await measure_app(label, base + EVENTS_PATH, slack, load, replies_expected=True)
        at_rest["rss_after_load_mb"] = common.rss_of_tree(process.pid)
    result["server_log"] = server_log_problems(log, keep_logs)
    result["at_rest"] = at_rest
    return result


async def first_ack_after(
    url: str, slack_root: str, process: asyncio.subprocess.Process, spawned: float
) -> float:
    """Seconds from the process's start to its first ack of a signed `help` (tried every 20 ms)."""
    [request] = prepare(url, slack_root, "startup", plan(1, 0, ["-"], first_index=990_000_000))
    while process.returncode is None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            connection = await Connection.open(url)
            try:
                status, _ = await connection.exchange(request.request)
            finally:
                connection.close()
            if status == 200:
                return time.monotonic() - spawned
        await asyncio.sleep(0.02)
    raise RuntimeError(f"circuitbot exited with {process.returncode} before its first ack")


def server_log_problems(log: Path, keep_in: Path | None) -> dict[str, int]:
    """What the server logged as failures while under load; the log is kept only in ``keep_in``."""
    if keep_in is not None:
        keep_in.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, keep_in / log.name)
    text = log.read_text(errors="replace")
    return {
        "error_lines": sum(1 for line in text.splitlines() if " ERROR " in line or line.startswith("ERROR")),
        "tracebacks": text.count("Traceback (most recent call last)"),
        "database_locked": text.count("database is locked"),
    }


async def run_floor(work: Path, slack: SlackRecord, load: Phases) -> dict[str, Any]:
    port = common.free_port()
    log = work / "floor.log"
    command = [common.python(), __file__, "--serve-floor", "--port", str(port), "--slack-root", slack.root]
    async with common.child_process(command, env=common.child_env(), log=log) as process:
        base = f"http://{common.LOOPBACK}:{port}"
        await common.wait_until_ready(f"{base}/healthz", process, log=log)
        print("measuring the floor (bare Bolt app) …", flush=True)
        return await measure_app("floor", base + EVENTS_PATH, slack, load, replies_expected=False)


async def run_generator(work: Path, slack: SlackRecord, load: Phases) -> dict[str, Any]:
    port = common.free_port()
    log = work / "null.log"
    command = [common.python(), __file__, "--serve-null", "--port", str(port)]
    async with common.child_process(command, env=common.child_env(), log=log) as process:
        base = f"http://{common.LOOPBACK}:{port}"
        await common.wait_until_ready(f"{base}/", process, log=log)
        print("measuring the load generator's own ceiling …", flush=True)
        return await measure_generator(base + EVENTS_PATH, slack.root, load)


async def run(args: argparse.Namespace) -> int:
    from circuitbot.sandbox.world import World

    keys = [c.service_key for c in World.demo().circuits]  # the world the simulators serve
    load = Phases(
        rates=[20.0, 50.0] if args.smoke else args.rates,
        seconds=1.0 if args.smoke else args.seconds,
        closed_connections=5 if args.smoke else args.connections,
        closed_seconds=1.0 if args.smoke else args.closed_seconds,
        warmup=plan(10 if args.smoke else args.warmup, args.seed + 1, keys, first_index=900_000_000),
        seed=args.seed,
        keys=keys,
        closed_capacity=2_000 if args.smoke else 40_000,
    )
    parameters = {
        "open_loop_rates": list(load.rates),
        "open_loop_seconds": load.seconds,
        "closed_loop_connections": load.closed_connections,
        "closed_loop_seconds": load.closed_seconds,
        "generator": "raw HTTP/1.1 over asyncio streams, pre-signed bodies, kept-alive connections",
        "warmup_requests": len(load.warmup),
        "seed": args.seed,
        "mix": {v.name: v.weight for v in MIX},
        "providers": "each simulator its own `circuitbot sandbox serve` process, over loopback HTTP",
        "simulator_flags": SIMULATOR_FLAGS,
        "settings": EXTRA_SETTINGS or "circuitbot's defaults",
        "work_process_runs": args.work_process,
        "remote_niceness": args.remote_niceness,
        "smoke": args.smoke,
        "postgres": common.redact_url(args.postgres) if args.postgres else None,
    }
    print(
        f"ack latency: open loop at {', '.join(f'{r:g}' for r in load.rates)} requests/s for "
        f"{load.seconds:g} s each, then a closed loop of {load.closed_connections} connections",
        flush=True,
    )
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="circuitbot-bench-") as temporary:
        work = Path(temporary)
        _, slack_root, slack_stack = await start_fake_slack(work, args.remote_niceness)
        serving = served_providers(work, flags=SIMULATOR_FLAGS, niceness=args.remote_niceness)
        async with slack_stack, serving as providers:
            slack = SlackRecord(slack_root)
            results["generator"] = await run_generator(work, slack, load)
            results["floor"] = await run_floor(work, slack, load)
            for split in WORK_PROCESS_RUNS[args.work_process]:
                label = "sqlite_work_process" if split else "sqlite"
                results[f"circuitbot_{label}"] = await run_circuitbot(
                    work, slack, label, None, load, args.keep_logs, providers, split
                )
                if args.postgres:
                    label = label.replace("sqlite", "postgres")
                    async with common.throwaway_postgres(args.postgres) as url:
                        results[f"circuitbot_{label}"] = await run_circuitbot(
                            work, slack, label, url, load, args.keep_logs, providers, split
                        )
    report(results, parameters, args.output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--rates", type=float, nargs="+", default=[100.0, 300.0, 1000.0], help="open-loop requests/s"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="each open loop lasts this long (10)")
    parser.add_argument("--connections", type=int, default=50, help="closed-loop connections (50)")
    parser.add_argument("--closed-seconds", type=float, default=10.0, help="the closed loop lasts this long")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests first (default 100)")
    parser.add_argument(
        "--keep-logs", type=Path, help="copy the circuitbot servers' logs into this directory"
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a circuitbot setting for the run (CIRCUITBOT_WORK_CONCURRENCY=32), repeatable",
    )
    parser.add_argument(
        "--work-process",
        choices=sorted(WORK_PROCESS_RUNS),
        default="both",
        help="circuitbot with its work in a thread (off), in a work process (on), or each in turn (both)",
    )
    parser.add_argument(
        "--remote-niceness",
        type=int,
        default=common.REMOTE_NICENESS,
        help=f"the simulators' and the fake Slack's niceness ({common.REMOTE_NICENESS}; 0: the bot's own)",
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--serve-fake-slack", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-null", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--slack-root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake_slack:
        return asyncio.run(serve_fake_slack())
    EXTRA_SETTINGS.update(setting.split("=", 1) for setting in args.setting)
    if args.serve_null:
        asyncio.run(serve_null(args.port))
        return 0
    if args.serve_floor:
        return asyncio.run(serve_floor(args.port, args.slack_root))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
