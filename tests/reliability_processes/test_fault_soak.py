"""A bounded soak of a ``circuitbot serve`` process with 30 % of the calls failing, at the
Azure simulator (429 with Retry-After, 500, 503, dropped connections, dropped answers of writes
that landed, cut-off JSON) and at the fake Slack (429 with Retry-After, 500, answers later than
the client waits, dropped connections, dropped answers of calls that took effect, cut-off
JSON): no message is lost and none is posted twice, and nothing is logged as unhandled. Once
the changes are made and the requests decided the provider recovers, so the watches stop
flapping between "cannot read" and "answers again", and the outbox drains under Slack's faults.

Sizes: 20 watched circuits, 2 waves of 6 changes, 2 approval requests approved meanwhile;
seeded faults (the same seed, the same faults for the same calls). Response URLs and the
start-up ``auth.test`` are spared. The outbox's backoff is capped at 4 s
(``support.serve_child --max-retry``): the soak is about loss and duplicates, not the schedule.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
from process_support import (
    APPROVALS_CHANNEL,
    APPROVERS,
    FINAL,
    REQUESTER,
    approve_click,
    command,
    move_on,
    posted_per_channel,
    seed_watches,
    transition_posts,
)
from sqlalchemy import func, select

from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.server import SimulatorServer
from circuitbot.sandbox.world import World
from circuitbot.store.db import Database
from circuitbot.store.tables import ApprovalRequest, OutboxMessage
from circuitbot.testing.fake_slack import FakeSlack
from support.faulty_slack import FaultySlack
from support.processes import BotProcess, azure_simulator, bot_env, slack_workspace, wait_until

WATCHES = 20
WAVES = 2
CHANGES_PER_WAVE = 6
REQUESTS = 2
FAULTS = 0.30
PROVIDER_FAULTS = FaultConfig(
    seed=3,
    throttle_rate=0.05,
    error_rate=0.05,
    unavailable_rate=0.05,
    drop_rate=0.05,
    process_then_drop_rate=0.05,
    malformed_rate=0.05,
    throttle_retry_after=1,
)
SETTINGS = {
    "requesters": REQUESTER,
    "approvers": ",".join(APPROVERS),
    "approvals_channel": APPROVALS_CHANNEL,
    "watch__tick_seconds": "0.5",
    "watch__fast_interval_seconds": "1",
    "watch__slow_interval_seconds": "1",
    "watch__max_backoff_seconds": "2",
}


@dataclass
class Soak:
    slack: FakeSlack
    faults: FaultySlack
    made: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    channels: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)  # request id -> final status
    tracebacks: list[str] = field(default_factory=list)


_DONE: list[Soak | BaseException] = []  # one soak serves both tests (plain data, no connections)


@pytest.fixture
async def soak(migrated: str, tmp_path) -> Soak:
    if not migrated.startswith("sqlite"):
        pytest.skip("one process: the database does not matter here, and SQLite is the quicker")
    if not _DONE:
        try:
            _DONE.append(await run_soak(migrated, tmp_path))
        except Exception as exc:
            _DONE.append(exc)
    if isinstance(_DONE[0], BaseException):
        raise _DONE[0]
    return _DONE[0]


async def run_soak(migrated: str, tmp_path) -> Soak:
    world = World.demo(extra_circuits=WATCHES - len(World.demo().circuits), seed=5)
    simulator = azure_simulator(world, PROVIDER_FAULTS)
    slack = slack_workspace()
    run = Soak(slack, FaultySlack(slack, rate=FAULTS, seed=4))
    keys = [c.service_key for c in world.circuits]
    rng = random.Random(6)
    db = Database(migrated)
    async with SimulatorServer(simulator) as server, run.faults.serve() as slack_url:
        run.channels = await seed_watches(db, slack, simulator, keys)
        env = bot_env(
            data_dir=tmp_path,
            database_url=migrated,
            slack_api_url=slack_url,
            azure_url=server.url,
            world=world,
            **SETTINGS,
        )
        bot = await BotProcess.start("soaked", env, hooks=["--max-retry", "4"])
        try:
            for wave in range(WAVES):
                for key in rng.sample(keys, CHANGES_PER_WAVE):
                    run.made[key].append(move_on(simulator, key))
                for n in range(REQUESTS // WAVES):
                    key = keys[wave * REQUESTS + n]
                    await ask(bot, slack, db, f"az notes {key} soak {wave}.{n}")
                expected = sum(len(v) for v in run.made.values())
                # Bounds, not timings: a "late" Slack answer costs the sender its 10 s timeout, and
                # a wave can meet several in a row; the bound only keeps a lost message from hanging.
                await wait_until(
                    lambda e=expected: len(transition_posts(slack)) >= e, f"wave {wave}", timeout=300
                )
            ids = await wait_until(lambda: request_ids(db, REQUESTS), "every request stored")
            for request_id, ts in ids.items():  # clicked on the card, or on where it should be
                await bot.send(approve_click(slack, request_id, APPROVERS[0], ts or "0"))
            run.requests = await wait_until(lambda: finished(db, ids), "every request finished", 240)
            # The provider recovers (its flapping would keep the outbox busy for ever); Slack does not.
            simulator.faults = FaultConfig()
            await wait_until(lambda: outbox_drained(db), "the outbox drained", 240)
        finally:
            await bot.stop()
            await db.dispose()
        run.tracebacks = bot.tracebacks()
    assert sum(run.faults.injected.values()) > 0 and sum(simulator.calls.values()) > 0
    return run


async def ask(bot: BotProcess, slack: FakeSlack, db: Database, text: str) -> None:
    """Ask for a change until a request exists: a preview may fail on a provider fault (the
    requester is told so, and asks again)."""
    for attempt in range(5):
        before = await count_requests(db)
        token = f"{text}-{attempt}".replace(" ", "-")
        await bot.send(command(slack, text, token=token))
        await wait_until(lambda t=token: slack.responses(t), f"an answer to {text!r}")
        if await wait_until(lambda b=before: count_requests(db), "the count") > before:
            return
    raise AssertionError(f"no request for {text!r}")


async def count_requests(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ApprovalRequest)) or 0) or -1


async def request_ids(db: Database, count: int) -> dict[str, str | None] | None:
    async with db.session() as session:
        rows = (await session.execute(select(ApprovalRequest.id, ApprovalRequest.approvals_ts))).all()
    return {r.id: r.approvals_ts for r in rows} if len(rows) == count else None


async def finished(db: Database, ids: dict[str, str | None]) -> dict[str, str] | None:
    async with db.session() as session:
        rows = (await session.execute(select(ApprovalRequest.id, ApprovalRequest.status))).all()
    done = {r.id: str(r.status) for r in rows if r.status in FINAL}
    return done if len(done) == len(ids) else None


async def outbox_drained(db: Database) -> bool:
    async with db.session() as session:
        pending = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )
    return pending == 0


async def test_watch_notifications_are_neither_lost_nor_doubled_under_faults(soak: Soak) -> None:
    seen = posted_per_channel(soak.slack)
    assert seen == {soak.channels[key]: changes for key, changes in soak.made.items()}
    assert soak.tracebacks == []


def test_approval_cards_and_their_edits_are_neither_lost_nor_doubled_under_faults(soak: Soak) -> None:
    tops = Counter(
        m["text"].split()[0]
        for m in soak.slack.messages(APPROVALS_CHANNEL)
        if m.get("thread_ts", m["ts"]) == m["ts"]
    )
    assert tops == Counter(dict.fromkeys(soak.requests, 1)), "one card per request"
    for message in soak.slack.messages(APPROVALS_CHANNEL):
        request_id = message["text"].split()[0]
        if request_id in soak.requests and message.get("thread_ts", message["ts"]) == message["ts"]:
            shown = json.dumps(message.get("blocks"))
            label = {"succeeded": "Succeeded", "failed": "Failed", "needs_attention": "Needs attention"}
            assert label[soak.requests[request_id]] in shown, "the card shows how it ended"
