"""Ack latency's load: the command mix, the signed slash commands sent at a fixed concurrency,
and what the fake Slack recorded of their final replies, summed up per app.

Shared by the parent (``ack_latency.py``), its report and the helper servers it starts, so the
wire facts (secret, token, channels, paths) are stated once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import common

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
CHANNEL = "C0BENCH"
APPROVALS_CHANNEL = "C0APPROVALS"
REQUESTERS = tuple(f"U0BENCH{n:02d}" for n in range(1, 9))
APPROVER = "U0APPROVER"
EVENTS_PATH = "/slack/events"
CALLS_PATH = "/_bench/calls"
ERROR_MARK = ":warning:"
BUSY_MARK = "is too busy to run"  # circuitbot.workprocess.BUSY: the ack of a command refused
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


def signed_command(slack_root: str, label: str, item: Planned) -> tuple[str, str, dict[str, str]]:
    """A planned command as Slack sends it, with a response_url of its own: (token, body, headers)."""
    from circuitbot.testing.payloads import signed_request_headers, slash_command_body

    token = f"{label}-{item.index}"
    body = slash_command_body(
        item.text,
        user_id=item.user,
        channel_id=CHANNEL,
        response_url=f"{slack_root}/response/{token}",
        trigger_id=f"{item.index}.{label}.bench",
    )
    return token, body, signed_request_headers(SIGNING_SECRET, body)


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

    samples: list[Sample] = []
    work = iter(planned)
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=not keep_alive)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for item in work:  # one shared iterator: each command is sent once
                token, body, headers = signed_command(slack_root, label, item)
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
    return {s.token for s in samples if not s.planned.verb.acked_with_answer and not refused(s)}


def refused(sample: Sample) -> bool:
    """Refused in its ack by the work process's backlog bound: an answer, owing nothing more."""
    return sample.status == 200 and BUSY_MARK in _text(sample.body)


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
    busy: Counter[str] = Counter()
    for sample in samples:
        verb = sample.planned.verb
        by_verb_ack[verb.name].append(sample.ack_seconds)
        if sample.status != 200:
            errors[verb.name] += 1
            continue
        if refused(sample):
            busy[verb.name] += 1
            continue
        if not replies_expected:
            continue
        if verb.acked_with_answer:
            text, final = _text(sample.body), sample.ack_seconds
        elif sample.token in replies:
            reply = replies[sample.token]
            text, final = reply.get("text") or "", reply["at"] - sample.started
        else:
            continue
        by_verb_final[verb.name].append(final)
        if text.startswith(ERROR_MARK):
            errors[verb.name] += 1
    acks = [s.ack_seconds for s in samples]
    result: dict[str, Any] = {
        "requests": len(samples),
        "load_average": common.load_average(),
        "load_seconds": load_seconds,
        "throughput_per_second": len(samples) / load_seconds if load_seconds else None,
        "non_200": sum(1 for s in samples if s.status != 200),
        "refused_as_busy": sum(busy.values()),
        "ack": common.distribution(acks),
        "ack_by_verb": {name: common.distribution(values) for name, values in by_verb_ack.items()},
    }
    if replies_expected:
        mutating = sum(1 for s in samples if s.planned.verb.name.startswith("az notes") and not refused(s))
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
            "busy_replies_by_verb": dict(busy),
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
