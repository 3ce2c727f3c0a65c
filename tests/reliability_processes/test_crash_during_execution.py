"""kill -9 during an approved change, in a real ``circuitbot serve`` process: after the claim
and before the provider call, and after the call and before its result is recorded. The
process restarted on the same database never runs the change again, and the request ends in
the state the provider shows, or in needs_attention.

The crash is a test-only hook of ``support.serve_child``: the child kills itself with SIGKILL
at that point of the execution.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from process_support import APPROVERS, REQUESTER, approve_click, cards, command, final_row
from sqlalchemy import update

from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.world import World
from circuitbot.store.db import Database
from circuitbot.store.tables import ApprovalRequest
from circuitbot.testing.fake_slack import FakeSlack
from support.processes import BotProcess, bot_env, puts, wait_until

SETTINGS = {"requesters": REQUESTER, "approvers": ",".join(APPROVERS), "approvals_channel": "CAPPROVALS"}


@pytest.mark.parametrize("point", ["before-call", "after-call"])
async def test_a_kill_9_during_execution_never_runs_the_change_twice(
    point: str,
    migrated: str,
    tmp_path,
    fake_slack: FakeSlack,
    slack_api_url: str,
    world: World,
    simulator: AzureSimulator,
    azure_url: str,
) -> None:
    env = bot_env(
        data_dir=tmp_path,
        database_url=migrated,
        slack_api_url=slack_api_url,
        azure_url=azure_url,
        world=world,
        **SETTINGS,
    )
    key = world.circuits[0].service_key
    before = simulator.cross_connection(key).notes
    crashing = await BotProcess.start("crashing", env, hooks=["--crash", point])
    asked = await crashing.send(command(fake_slack, f"az notes {key} after the crash"))
    assert asked.status_code == 200
    (request_id, ts), *_ = (await wait_until(lambda: cards(fake_slack), "the approval card")).items()
    with contextlib.suppress(httpx.HTTPError):  # the ack may or may not beat the crash
        await crashing.send(approve_click(fake_slack, request_id, APPROVERS[0], ts))
    assert await crashing.wait() == -9, crashing.log()
    written = puts(simulator)
    assert written == (0 if point == "before-call" else 1)

    db = Database(migrated)
    try:
        async with db.session() as session:  # the process stayed dead longer than any lease
            await session.execute(
                update(ApprovalRequest)
                .where(ApprovalRequest.id == request_id)
                .values(claimed_at=datetime.now(UTC) - timedelta(minutes=10))
            )
        restarted = await BotProcess.start("restarted", env)
        try:
            row = await final_row(db, request_id)
            await wait_until(
                lambda: len(fake_slack.thread("CAPPROVALS", ts)) >= 1, "the recovery note in the thread"
            )
        finally:
            await restarted.stop()
    finally:
        await db.dispose()

    assert puts(simulator) == written, "never run again"
    notes = simulator.cross_connection(key).notes
    if point == "before-call":
        assert (row.status, notes) == ("needs_attention", before)
    else:
        assert notes == "after the crash"
        assert row.status in ("succeeded", "needs_attention")
    assert restarted.tracebacks() == []
