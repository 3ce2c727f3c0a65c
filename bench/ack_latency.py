"""Ack latency: circuitbot's slash-command ack against a bare Bolt app that only acks.

Seven processes besides this one, all on loopback:

* a fake Slack Web API (``circuitbot.testing.fake_slack.FakeSlack``) that records, with the time it
  arrived, every call: ``auth.test``, the approval requests' ``chat.postMessage`` and each
  command's final reply to its own ``response_url``;
* the floor: a bare Bolt ``AsyncApp`` on the same HTTP stack circuitbot uses (Starlette, Bolt's
  Starlette adapter, uvicorn through ``circuitbot.slack.server.http_server``) whose ``/circuit``
  handler only acks;
* ``circuitbot serve --http``, a real process on SQLite (and then on a throwaway PostgreSQL
  database when a server URL is given), whose providers are the four simulators, each served by
  its own ``circuitbot sandbox serve`` process and reached over loopback HTTP through the
  ordinary settings (``sandbox_processes``).

This process signs slash commands as Slack does and sends them at a fixed concurrency, the
same sequence to each app: help, a port-pair listing, a show, a connection listing and a
mutating command (``az notes``) that becomes an approval request. It times each HTTP response
(the ack), and per verb the time until the command's final reply reached the fake Slack.

    python bench/ack_latency.py                 # 2,000 requests at concurrency 50
    python bench/ack_latency.py --smoke         # 40 requests at concurrency 5
    python bench/ack_latency.py --postgres postgresql://postgres@127.0.0.1:5432/test

The load and its figures are in ``ack_load``, the printed and written report in ``ack_report``,
the two helper servers in ``ack_servers``; this script starts the processes and runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
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
    Load,
    SlackRecord,
    measure,
    plan,
)
from ack_report import report
from ack_servers import serve_fake_slack, serve_floor
from sandbox_processes import served_providers

# The load is one principal reading far beyond ARM's documented 25 reads a second: with ARM's
# limits on, the final replies would measure Azure's quota, not the bot (poll_sweep measures that).
SIMULATOR_FLAGS = {"azure": ["--arm-throttling", "off"]}

# -- the processes ------------------------------------------------------------------------------------


async def start_fake_slack(work: Path) -> tuple[asyncio.subprocess.Process, str, contextlib.AsyncExitStack]:
    stack = contextlib.AsyncExitStack()
    process = await stack.enter_async_context(
        common.child_process(
            [common.python(), __file__, "--serve-fake-slack"],
            env=common.child_env(),
            log=work / "fake-slack.log",
            stdout=asyncio.subprocess.PIPE,
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
    work: Path, slack_root: str, database_url: str | None, providers: dict[str, str]
) -> dict[str, str]:
    settings = {
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
    return common.child_env(**settings)


async def run_circuitbot(
    work: Path,
    slack: SlackRecord,
    label: str,
    database_url: str | None,
    load: Load,
    keep_logs: Path | None,
    providers: dict[str, str],
) -> dict[str, Any]:
    port = common.free_port()
    data_dir = work / label
    data_dir.mkdir()
    log = work / f"circuitbot-{label}.log"
    command = [common.python(), "-m", "circuitbot.cli", "serve", "--http"]
    command += ["--host", common.LOOPBACK, "--port", str(port)]
    async with common.child_process(
        command, env=circuitbot_env(data_dir, slack.root, database_url, providers), log=log
    ) as process:
        base = f"http://{common.LOOPBACK}:{port}"
        await common.wait_until_ready(f"{base}/readyz", process, log=log)
        print(f"measuring circuitbot on {label} …", flush=True)
        result = await measure(label, base + EVENTS_PATH, slack, load, replies_expected=True)
    result["server_log"] = server_log_problems(log, keep_logs)
    return result


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


async def run_floor(work: Path, slack: SlackRecord, load: Load) -> dict[str, Any]:
    port = common.free_port()
    log = work / "floor.log"
    command = [common.python(), __file__, "--serve-floor", "--port", str(port), "--slack-root", slack.root]
    async with common.child_process(command, env=common.child_env(), log=log) as process:
        base = f"http://{common.LOOPBACK}:{port}"
        await common.wait_until_ready(f"{base}/healthz", process, log=log)
        print("measuring the floor (bare Bolt app) …", flush=True)
        return await measure(
            "floor",
            base + EVENTS_PATH,
            slack,
            load,
            replies_expected=False,
        )


async def run(args: argparse.Namespace) -> int:
    from circuitbot.sandbox.world import World

    requests = 40 if args.smoke else args.requests
    concurrency = 5 if args.smoke else args.concurrency
    warmup_count = 10 if args.smoke else args.warmup
    keys = [c.service_key for c in World.demo().circuits]  # the world `serve --sandbox` builds
    load = Load(
        warmup=plan(warmup_count, args.seed + 1, keys, first_index=1_000_000),
        measured=plan(requests, args.seed, keys),
        concurrency=concurrency,
        keep_alive=not args.new_connections,
    )
    parameters = {
        "requests": requests,
        "concurrency": concurrency,
        "connections": "keep-alive" if load.keep_alive else "one per request",
        "warmup_requests": warmup_count,
        "seed": args.seed,
        "mix": {v.name: v.weight for v in MIX},
        "providers": "each simulator its own `circuitbot sandbox serve` process, over loopback HTTP",
        "simulator_flags": SIMULATOR_FLAGS,
        "smoke": args.smoke,
        "postgres": common.redact_url(args.postgres) if args.postgres else None,
    }
    print(
        f"ack latency: {requests} signed slash commands per app at concurrency {concurrency}, "
        f"connections {parameters['connections']}",
        flush=True,
    )
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="circuitbot-bench-") as temporary:
        work = Path(temporary)
        _, slack_root, slack_stack = await start_fake_slack(work)
        async with slack_stack, served_providers(work, flags=SIMULATOR_FLAGS) as providers:
            slack = SlackRecord(slack_root)
            results["floor"] = await run_floor(work, slack, load)
            results["circuitbot_sqlite"] = await run_circuitbot(
                work, slack, "sqlite", None, load, args.keep_logs, providers
            )
            if args.postgres:
                async with common.throwaway_postgres(args.postgres) as url:
                    results["circuitbot_postgres"] = await run_circuitbot(
                        work, slack, "postgres", url, load, args.keep_logs, providers
                    )
    report(results, parameters, args.output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per app (default 2000)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (default 50)")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests first (default 100)")
    parser.add_argument(
        "--new-connections",
        action="store_true",
        help="open a connection per request instead of keeping connections alive",
    )
    parser.add_argument(
        "--keep-logs", type=Path, help="copy the circuitbot servers' logs into this directory"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--serve-fake-slack", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--slack-root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake_slack:
        return asyncio.run(serve_fake_slack())
    if args.serve_floor:
        return asyncio.run(serve_floor(args.port, args.slack_root))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
