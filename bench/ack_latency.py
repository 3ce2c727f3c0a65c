"""Ack latency: circuitbot's slash-command ack against a bare Bolt app that only acks.

Three processes besides this one, all on loopback:

* a fake Slack Web API (``circuitbot.testing.fake_slack.FakeSlack``) that records, with the time it
  arrived, every call: ``auth.test``, the approval requests' ``chat.postMessage`` and each
  command's final reply to its own ``response_url``;
* the floor: a bare Bolt ``AsyncApp`` on the same HTTP stack circuitbot uses (Starlette, Bolt's
  Starlette adapter, uvicorn through ``circuitbot.slack.server.http_server``) whose ``/circuit``
  handler only acks;
* ``circuitbot serve --http --sandbox``, a real process on SQLite (and then on a throwaway
  PostgreSQL database when a server URL is given).

This process signs slash commands as Slack does and sends them at a fixed concurrency, the
same sequence to each app: help, a port-pair listing, a show, a connection listing and a
mutating command (``az notes``) that becomes an approval request. It times each HTTP response
(the ack), and per verb the time until the command's final reply reached the fake Slack.

    python bench/ack_latency.py                 # 2,000 requests at concurrency 50
    python bench/ack_latency.py --smoke         # 40 requests at concurrency 5
    python bench/ack_latency.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common

NAME = "ack_latency"
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
CHANNEL = "C0BENCH"
APPROVALS_CHANNEL = "C0APPROVALS"
REQUESTERS = tuple(f"U0BENCH{n:02d}" for n in range(1, 9))
APPROVER = "U0APPROVER"
EVENTS_PATH = "/slack/events"
CALLS_PATH = "/_bench/calls"
ERROR_MARK = ":warning:"
FINAL_REPLY_WAIT_SECONDS = 180.0


@dataclass(frozen=True)
class Verb:
    name: str
    weight: int
    text: Callable[[int, random.Random, Sequence[str]], str]
    acked_with_answer: bool = False  # instant: the ack itself is the final reply


# The mix: what people type most is a look-up; a fifth of the commands change something.
MIX: tuple[Verb, ...] = (
    Verb("help", 15, lambda i, rng, keys: "help", acked_with_answer=True),
    Verb("az ports", 15, lambda i, rng, keys: "az ports"),
    Verb("az show", 30, lambda i, rng, keys: f"az show {rng.choice(keys)}"),
    Verb("az list", 20, lambda i, rng, keys: "az list"),
    Verb("az notes (approval)", 20, lambda i, rng, keys: f"az notes {rng.choice(keys)} bench note {i}"),
)


@dataclass(frozen=True)
class Planned:
    index: int
    verb: Verb
    text: str
    user: str


@dataclass(frozen=True)
class Load:
    """What each app gets: the same warm-up and measured commands, at the same concurrency."""

    warmup: Sequence[Planned]
    measured: Sequence[Planned]
    concurrency: int
    keep_alive: bool  # reuse connections, as HTTP/1.1 clients and proxies in front of the bot do


@dataclass
class Sample:
    planned: Planned
    token: str
    started: float  # time.monotonic(), comparable with the fake Slack's clock (another process)
    acked: float
    status: int
    body: bytes

    @property
    def ack_seconds(self) -> float:
        return self.acked - self.started


def plan(count: int, seed: int, keys: Sequence[str], first_index: int = 0) -> list[Planned]:
    """``count`` commands in the mix's proportions, shuffled the same way for a seed."""
    rng = random.Random(seed)
    total = sum(v.weight for v in MIX)
    verbs: list[Verb] = []
    for verb in MIX:
        verbs += [verb] * round(count * verb.weight / total)
    while len(verbs) < count:
        verbs.append(MIX[len(verbs) % len(MIX)])
    verbs = verbs[:count]
    rng.shuffle(verbs)
    return [
        Planned(first_index + i, verb, verb.text(first_index + i, rng, keys), rng.choice(REQUESTERS))
        for i, verb in enumerate(verbs)
    ]


# -- the load ---------------------------------------------------------------------------------------


async def send(
    app_url: str,
    slack_root: str,
    label: str,
    planned: Sequence[Planned],
    *,
    concurrency: int,
    keep_alive: bool,
) -> list[Sample]:
    """Every planned command, ``concurrency`` in flight; each has its own response_url."""
    import aiohttp

    from circuitbot.testing.payloads import signed_request_headers, slash_command_body

    samples: list[Sample] = []
    work = iter(planned)
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=not keep_alive)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for item in work:  # one shared iterator: each command is sent once
                token = f"{label}-{item.index}"
                body = slash_command_body(
                    item.text,
                    user_id=item.user,
                    channel_id=CHANNEL,
                    response_url=f"{slack_root}/response/{token}",
                    trigger_id=f"{item.index}.{label}.bench",
                )
                headers = signed_request_headers(SIGNING_SECRET, body)
                started = time.monotonic()
                async with session.post(app_url, data=body.encode(), headers=headers) as response:
                    payload = await response.read()
                    status = response.status
                samples.append(Sample(item, token, started, time.monotonic(), status, payload))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


class SlackRecord:
    """The fake Slack's calls, fetched from its process as they accumulate."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.calls: list[dict[str, Any]] = []

    async def refresh(self) -> None:
        import aiohttp

        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.root}{CALLS_PATH}", params={"since": str(len(self.calls))}) as response,
        ):
            self.calls += (await response.json())["calls"]

    def replies(self) -> dict[str, dict[str, Any]]:
        """The first POST to each response_url, by token."""
        first: dict[str, dict[str, Any]] = {}
        for call in self.calls:
            token = call.get("token")
            if call["method"] == "response_url" and token and token not in first:
                first[token] = call
        return first

    def count(self, method: str, channel: str | None = None) -> int:
        return sum(
            1
            for c in self.calls
            if c["method"] == method and (channel is None or c.get("channel") == channel)
        )

    async def wait_for_replies(self, tokens: set[str], timeout: float) -> set[str]:  # noqa: ASYNC109
        """Wait until every token got its reply (or ``timeout``); returns the ones still missing."""
        deadline = time.monotonic() + timeout
        while True:
            await self.refresh()
            missing = tokens - set(self.replies())
            if not missing or time.monotonic() > deadline:
                return missing
            await asyncio.sleep(0.25)


def expected_replies(samples: Sequence[Sample]) -> set[str]:
    return {s.token for s in samples if not s.planned.verb.acked_with_answer}


# -- one app under load -------------------------------------------------------------------------------


async def measure(
    label: str,
    app_url: str,
    slack: SlackRecord,
    load: Load,
    *,
    replies_expected: bool,
) -> dict[str, Any]:
    """Warm the app up (its replies settled), then send the measured commands and collect figures."""
    warm = await send(
        app_url,
        slack.root,
        f"{label}-warmup",
        load.warmup,
        concurrency=min(load.concurrency, 10),
        keep_alive=load.keep_alive,
    )
    if replies_expected:
        await slack.wait_for_replies(expected_replies(warm), FINAL_REPLY_WAIT_SECONDS)
    posted_before = slack.count("chat.postMessage", APPROVALS_CHANNEL)
    began = time.monotonic()
    samples = await send(
        app_url, slack.root, label, load.measured, concurrency=load.concurrency, keep_alive=load.keep_alive
    )
    load_seconds = time.monotonic() - began
    missing: set[str] = set()
    if replies_expected:
        missing = await slack.wait_for_replies(expected_replies(samples), FINAL_REPLY_WAIT_SECONDS)
    else:
        await slack.refresh()
    return summarize(samples, slack, load_seconds, missing, replies_expected, posted_before)


def summarize(
    samples: Sequence[Sample],
    slack: SlackRecord,
    load_seconds: float,
    missing: set[str],
    replies_expected: bool,
    approvals_posted_before: int,
) -> dict[str, Any]:
    replies = slack.replies()
    by_verb_ack: dict[str, list[float]] = defaultdict(list)
    by_verb_final: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    for sample in samples:
        verb = sample.planned.verb
        by_verb_ack[verb.name].append(sample.ack_seconds)
        if sample.status != 200:
            errors[verb.name] += 1
            continue
        if not replies_expected:
            continue
        if verb.acked_with_answer:
            text = _text(sample.body)
            by_verb_final[verb.name].append(sample.ack_seconds)
        elif sample.token in replies:
            reply = replies[sample.token]
            text = reply.get("text") or ""
            by_verb_final[verb.name].append(reply["at"] - sample.started)
        else:
            continue
        if text.startswith(ERROR_MARK):
            errors[verb.name] += 1
    acks = [s.ack_seconds for s in samples]
    result: dict[str, Any] = {
        "requests": len(samples),
        "load_seconds": load_seconds,
        "throughput_per_second": len(samples) / load_seconds if load_seconds else None,
        "non_200": sum(1 for s in samples if s.status != 200),
        "ack": common.distribution(acks),
        "ack_by_verb": {name: common.distribution(values) for name, values in by_verb_ack.items()},
    }
    if replies_expected:
        mutating = sum(1 for s in samples if s.planned.verb.name.startswith("az notes"))
        result |= {
            "final_reply_by_verb": {
                name: {
                    **common.distribution(values),
                    "via": "ack" if _verb(name).acked_with_answer else "response_url",
                }
                for name, values in by_verb_final.items()
            },
            "missing_final_replies": len(missing),
            "error_replies_by_verb": dict(errors),
            "approval_requests_sent": mutating,
            "approval_messages_posted": slack.count("chat.postMessage", APPROVALS_CHANNEL)
            - approvals_posted_before,
        }
    return result


def _verb(name: str) -> Verb:
    return next(v for v in MIX if v.name == name)


def _text(body: bytes) -> str:
    with contextlib.suppress(ValueError):
        payload = json.loads(body or b"{}")
        if isinstance(payload, dict):
            return str(payload.get("text") or "")
    return ""


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


def circuitbot_env(work: Path, slack_root: str, database_url: str | None) -> dict[str, str]:
    settings = {
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
) -> dict[str, Any]:
    port = common.free_port()
    data_dir = work / label
    data_dir.mkdir()
    log = work / f"circuitbot-{label}.log"
    command = [common.python(), "-m", "circuitbot.cli", "serve", "--http", "--sandbox"]
    command += ["--host", common.LOOPBACK, "--port", str(port)]
    async with common.child_process(
        command, env=circuitbot_env(data_dir, slack.root, database_url), log=log
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
        async with slack_stack:
            slack = SlackRecord(slack_root)
            results["floor"] = await run_floor(work, slack, load)
            results["circuitbot_sqlite"] = await run_circuitbot(
                work, slack, "sqlite", None, load, args.keep_logs
            )
            if args.postgres:
                async with common.throwaway_postgres(args.postgres) as url:
                    results["circuitbot_postgres"] = await run_circuitbot(
                        work, slack, "postgres", url, load, args.keep_logs
                    )
    report(results, parameters, args.output)
    return 0


# -- the report -------------------------------------------------------------------------------------


def report(results: dict[str, Any], parameters: dict[str, Any], output: Path | None) -> None:
    floor = results["floor"]["ack"]
    apps = [
        (name, results[key])
        for name, key in (("SQLite", "circuitbot_sqlite"), ("PostgreSQL", "circuitbot_postgres"))
        if key in results
    ]
    headers = ["ack (ms)", "floor"]
    for name, _ in apps:
        headers += [f"circuitbot {name}", "ratio"]
    rows = []
    ratios: dict[str, dict[str, float | None]] = {}
    for stat in ("p50", "p95", "p99", "max"):
        row: list[Any] = [stat, common.ms(floor[stat])]
        for name, figures in apps:
            value = figures["ack"][stat]
            quotient = common.ratio(value, floor[stat])
            ratios.setdefault(name.lower(), {})[stat] = quotient
            row += [common.ms(value), common.times(quotient)]
        rows.append(row)
    throughput: list[Any] = ["requests/s", f"{results['floor']['throughput_per_second']:.0f}"]
    for _, figures in apps:
        throughput += [f"{figures['throughput_per_second']:.0f}", ""]
    rows.append(throughput)
    print_title = f"Ack latency: {parameters['requests']} requests at concurrency {parameters['concurrency']}"
    common.print_table(headers, rows, title=print_title)

    for name, figures in apps:
        verb_rows = []
        for verb in MIX:
            ack = figures["ack_by_verb"].get(verb.name) or common.distribution([])
            final = figures["final_reply_by_verb"].get(verb.name) or common.distribution([])
            verb_rows.append(
                [
                    verb.name,
                    ack["count"],
                    common.ms(ack["p50"]),
                    common.ms(ack["p99"]),
                    common.ms(final["p50"]),
                    common.ms(final["p95"]),
                    common.ms(final["p99"]),
                    common.ms(final["max"]),
                    "ack" if verb.acked_with_answer else "response_url",
                    figures["error_replies_by_verb"].get(verb.name, 0),
                ]
            )
        common.print_table(
            [
                "verb",
                "n",
                "ack p50",
                "ack p99",
                "final p50",
                "final p95",
                "final p99",
                "final max",
                "via",
                "errors",
            ],
            verb_rows,
            title=f"circuitbot on {name}: per verb, ms (final = until the reply reached the fake Slack)",
        )
        print(
            f"approval requests: {figures['approval_requests_sent']} sent, "
            f"{figures['approval_messages_posted']} posted to {APPROVALS_CHANNEL}; "
            f"final replies missing: {figures['missing_final_replies']}; non-200 acks: {figures['non_200']}"
        )
        problems = figures["server_log"]
        locked = problems["database_locked"]
        print(f"server log: {problems['tracebacks']} tracebacks, {locked} 'database is locked'")

    targets = []
    for name, figures in apps:
        p99 = figures["ack"]["p99"]
        quotient = common.ratio(p99, floor["p99"])
        targets.append(
            common.target(
                f"ack p99 vs floor ({name})",
                "≤ 1.5× floor p99",
                f"{common.ms(p99)} ms vs {common.ms(floor['p99'])} ms = {common.times(quotient)}",
                None if quotient is None else quotient <= 1.5,
            )
        )
        targets.append(
            common.target(
                f"ack p99 absolute ({name})",
                "far under Slack's 3 s",
                f"{common.ms(p99)} ms",
                None if p99 is None else p99 < 3.0,
            )
        )
        clean = (
            figures["missing_final_replies"] == 0
            and not figures["error_replies_by_verb"]
            and figures["non_200"] == 0
        )
        targets.append(
            common.target(
                f"every command answered ({name})",
                "no missing or error replies",
                f"{figures['missing_final_replies']} missing, "
                f"{sum(figures['error_replies_by_verb'].values())} errors",
                clean,
            )
        )
        problems = figures["server_log"]
        targets.append(
            common.target(
                f"no server errors under load ({name})",
                "no tracebacks in the server log",
                f"{problems['tracebacks']} tracebacks ({problems['database_locked']} database is locked)",
                problems["tracebacks"] == 0,
            )
        )
    if not any(key == "circuitbot_postgres" for key in results):
        targets.append(
            common.target("PostgreSQL run", "with --postgres or $" + common.POSTGRES_ENV, "skipped", None)
        )
    common.print_targets(targets)
    common.write_results(
        NAME, parameters, {"results": results, "ratios_to_floor": ratios, "targets": targets}, output
    )


# -- the helper servers (child processes of this script) ---------------------------------------------


async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_fake_slack() -> int:
    """The fake Slack on a free loopback port, plus a route that hands out its recorded calls."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from circuitbot.slack.server import http_server
    from circuitbot.testing.fake_slack import RESPONSE_URL_METHOD, FakeSlack

    fake = FakeSlack()

    async def calls(request: Request) -> JSONResponse:
        since = int(request.query_params.get("since", "0"))
        return JSONResponse(
            {
                "calls": [
                    {
                        "method": c.method,
                        "at": c.at,
                        "ok": c.ok,
                        "status": c.status,
                        "error": c.error,
                        "channel": c.args.get("channel") if c.method != RESPONSE_URL_METHOD else None,
                        "token": c.response_token,
                        "text": str(c.args.get("text") or "")[:200],
                    }
                    for c in fake.calls[since:]
                ]
            }
        )

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == CALLS_PATH:
            response = await calls(Request(scope, receive))
            await response(scope, receive, send)
            return
        await fake.app(scope, receive, send)

    async with http_server(app, common.LOOPBACK, 0) as port:
        fake.root_url = f"http://{common.LOOPBACK}:{port}"
        print(f"READY {port}", flush=True)
        await _until_terminated()
    return 0


async def serve_floor(port: int, slack_root: str) -> int:
    """A bare Bolt app on circuitbot's HTTP stack: verifies the signature, acks, nothing else."""
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from circuitbot.slack.server import http_server

    bolt = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=f"{slack_root}/api/"),
        signing_secret=SIGNING_SECRET,
        request_verification_enabled=True,
        process_before_response=False,
    )

    @bolt.command("/circuit")
    async def only_ack(ack: Any) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route(EVENTS_PATH, events, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])]
    )
    async with http_server(app, common.LOOPBACK, port):
        await _until_terminated()
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
