"""Approval races through real processes: rounds of concurrent Approve clicks from several
approvers, signed as Slack signs them, on SQLite, on PostgreSQL and across two ``circuitbot
serve`` processes sharing PostgreSQL. Each round writes once at the provider and shows one
decision.

Sizes: 20 rounds × 50 clicks (4 approvers, two approvals required) per database variant.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from process_support import (
    APPROVAL_SETTINGS,
    APPROVALS_CHANNEL,
    APPROVERS,
    Cluster,
    approve_click,
    cards,
    command,
    final_row,
)

from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.world import World
from circuitbot.store.db import Database
from circuitbot.testing.fake_slack import FakeSlack
from support.processes import BotProcess, bot_env, puts, wait_until

ROUNDS = 20
CLICKS = 50


def card_of(slack: FakeSlack, text: str) -> tuple[str, str] | None:
    """The (request id, ts) of the approval card that mentions ``text``."""
    for request_id, ts in cards(slack).items():
        if text in str(slack.message(APPROVALS_CHANNEL, ts)):
            return request_id, ts
    return None


def outcome_notes(slack: FakeSlack) -> list[dict]:
    return [c.args for c in slack.calls_to("chat.postMessage", ok=True) if "succeeded." in c.args["text"]]


@pytest.mark.parametrize("replicas", [1, 2])
async def test_approve_click_storms_write_once_and_show_one_decision(
    replicas: int,
    migrated: str,
    tmp_path,
    fake_slack: FakeSlack,
    slack_api_url: str,
    world: World,
    simulator: AzureSimulator,
    azure_url: str,
) -> None:
    if replicas > 1 and migrated.startswith("sqlite"):
        pytest.skip("SQLite serves one process")
    env = bot_env(
        data_dir=tmp_path,
        database_url=migrated,
        slack_api_url=slack_api_url,
        azure_url=azure_url,
        world=world,
        **APPROVAL_SETTINGS,
    )
    cluster = Cluster([await BotProcess.start(f"bot-{n}", env) for n in range(replicas)])
    db = Database(migrated)
    keys = [circuit.service_key for circuit in world.circuits]

    async def race(n: int) -> None:
        key = keys[n % len(keys)]
        asked = await cluster.bot(n).send(command(fake_slack, f"az notes {key} round {n}"))
        assert asked.status_code == 200, asked.text
        request_id, ts = await wait_until(lambda: card_of(fake_slack, f"round {n}"), f"the card of round {n}")
        clicks = [
            cluster.bot(i).send(approve_click(fake_slack, request_id, APPROVERS[i % len(APPROVERS)], ts))
            for i in range(CLICKS)
        ]
        assert [a.status_code for a in await asyncio.gather(*clicks)] == [200] * CLICKS
        row = await final_row(db, request_id)
        assert row.status == "succeeded", (row.status, row.error)
        assert simulator.cross_connection(key).notes == f"round {n}"

    try:
        for first in range(0, ROUNDS, len(keys)):  # rounds on distinct circuits race side by side
            await asyncio.gather(*(race(n) for n in range(first, min(first + len(keys), ROUNDS))))
        await wait_until(lambda: len(outcome_notes(fake_slack)) == 2 * ROUNDS, "every outcome said")
    finally:
        await cluster.stop()
        await db.dispose()

    assert puts(simulator) == ROUNDS, "one provider write per round"
    ids = cards(fake_slack)
    assert len(ids) == ROUNDS, "one card per request"
    posts = [c.args for c in fake_slack.calls_to("chat.postMessage", ok=True)]
    for request_id in ids:
        copies = sorted(p["channel"] for p in posts if p["text"].startswith(f"{request_id} "))
        assert copies == [APPROVALS_CHANNEL, "CGENERAL"], "the card and the requester's copy, once each"
        outcomes = [p for p in posts if f"`{request_id}` succeeded" in p["text"]]
        assert len(outcomes) == 2, "the outcome said once in each copy's thread"
    for ts in ids.values():
        edits = [
            json.dumps(c.args.get("blocks"))
            for c in fake_slack.calls_to("chat.update", ok=True)
            if (c.args["channel"], c.args["ts"]) == (APPROVALS_CHANNEL, ts)
        ]
        decided = edits.index(next(e for e in edits if "Succeeded" in e))
        # Replicas may repaint a card with the same decision; none ever shows another state after it.
        assert set(edits[decided:]) == {edits[decided]}, "one decision shown, and it stays"
    assert cluster.tracebacks() == []
