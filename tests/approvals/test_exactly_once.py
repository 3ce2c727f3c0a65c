"""Exactly once: racing clicks, racing replicas, and a crash between claim and execution."""

from __future__ import annotations

import asyncio

import pytest
from approvals_support import APPROVERS
from sqlalchemy import select, update

from circuitbot.store.db import Database
from circuitbot.store.tables import ApprovalDecision, ApprovalRequest, AuditEvent
from support.poster import message_text


class Crash(Exception):
    """The process died here (raised by the after-claim hook)."""


async def test_many_concurrent_approve_clicks_run_it_once(harness) -> None:
    request_id = await harness.request()
    harness.provider.write_delay_ticks = 20  # the execution overlaps the other clicks
    clickers = [*APPROVERS, "UAPP1", "UAPP1", "UAPP2"]  # distinct approvers and double clicks

    surfaces = await asyncio.gather(*(harness.click("approve", request_id, user) for user in clickers))

    assert harness.provider.writes == 1, "exactly one provider call"
    row = await harness.row(request_id)
    assert row.status == "succeeded"
    winners = [s for s in surfaces if "You approved" in s.text]
    assert [w.user_id for w in winners] == [row.decided_by]
    for surface in surfaces:
        if surface not in winners:
            told = surface.text
            assert f"already approved by <@{row.decided_by}>" in told or "already voted" in told, told
    async with harness.runtime.db.session() as session:
        approved = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "status.approved"))
        )
        executed = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "status.executing"))
        )
        votes = list(await session.scalars(select(ApprovalDecision.user_id)))
    assert len(approved) == 1
    assert len(executed) == 1
    assert len(votes) == len(set(votes)), "one vote per person however often they click"


async def test_concurrent_votes_of_two_approvers_complete_a_two_approval_request(harness) -> None:
    request_id = await harness.request("demo remove c2")

    await asyncio.gather(
        harness.click("approve", request_id, "UAPP1"), harness.click("approve", request_id, "UAPP2")
    )

    row = await harness.row(request_id)
    assert row.status == "succeeded", "the later of two racing votes sees both"
    assert harness.provider.writes == 1


async def test_replicas_racing_the_sweep_run_an_approved_request_once(
    make_harness, database, database_url, settings
) -> None:
    a = make_harness(database, settings, instance_id="replica-a")
    request_id = await a.request()
    # Approved, then the approving process went away before it could claim the request.
    async with database.session() as session:
        await session.execute(
            update(ApprovalRequest)
            .where(ApprovalRequest.id == request_id)
            .values(status="approved", decided_by="UAPP1", decided_at=a.runtime.clock.now())
        )
    replicas = [a]
    for n in range(3):  # other processes: their own engine on their own connection pool
        replicas.append(
            make_harness(Database(database_url), settings, instance_id=f"replica-{n}", poster=a.poster)
        )
    a.provider.write_delay_ticks = 20
    try:
        results = await asyncio.gather(*(r.engine.run_approved() for r in replicas for _ in range(3)))
    finally:
        for replica in replicas[1:]:
            await replica.runtime.db.dispose()

    assert sorted(rid for claimed in results for rid in claimed) == [request_id]
    assert a.provider.writes == 1
    row = await a.row(request_id)
    assert row.status == "succeeded"


async def test_a_crash_after_the_claim_is_reconciled_as_succeeded_when_the_change_is_visible(
    make_harness, database, settings
) -> None:
    a = make_harness(database, settings, instance_id="replica-a")
    request_id = await a.request()

    async def crash_after_the_provider_call(rid: str) -> None:
        # The provider applied the change, then the process died before recording it.
        a.provider.circuits["c1"].update(port="B", etag="e2")
        raise Crash

    a.engine.after_claim = crash_after_the_provider_call
    await a.click("approve", request_id, "UAPP1")
    row = await a.row(request_id)
    assert row.status == "executing"
    assert a.provider.writes == 0

    await a.runtime.clock.advance(120)  # past the time a live executor takes to hold its lease
    restarted = make_harness(database, settings, instance_id="replica-a-restarted", poster=a.poster)
    await restarted.engine.start()

    row = await restarted.row(request_id)
    assert row.status == "succeeded"
    assert restarted.provider.writes == 0, "recovery reads, never re-executes"
    async with database.session() as session:
        recovered = list(
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.request_id == request_id, AuditEvent.result == "recovered"
                )
            )
        )
    assert [e.action for e in recovered] == ["status.succeeded"]


async def test_a_crash_before_execution_is_never_re_executed_and_needs_attention(
    make_harness, database, settings
) -> None:
    a = make_harness(database, settings, instance_id="replica-a")
    request_id = await a.request()

    async def crash(rid: str) -> None:
        raise Crash

    a.engine.after_claim = crash
    await a.click("approve", request_id, "UAPP1")
    assert (await a.row(request_id)).status == "executing"

    await a.runtime.clock.advance(120)
    restarted = make_harness(database, settings, instance_id="replica-a-restarted", poster=a.poster)
    await restarted.engine.start()
    await restarted.engine.run_approved()

    row = await restarted.row(request_id)
    assert row.status == "needs_attention"
    assert "not visible" in row.error
    assert restarted.provider.writes == 0
    assert a.provider.circuits["c1"]["port"] == "A"
    # The approvals thread says what happened; the message shows it.
    thread = restarted.poster.thread(row.approvals_ts)
    assert any("*not* run again" in r.text for r in thread)
    assert "Needs attention" in message_text(restarted.poster.latest(row.approvals_ts))
    # Starting again changes nothing.
    await restarted.engine.stop()
    assert await restarted.engine.recover() == {}


async def test_a_live_execution_is_not_taken_for_an_orphan_by_a_starting_replica(
    make_harness, database, settings
) -> None:
    if not database.skip_locked:
        pytest.skip("SQLite serves one process: every 'executing' row at start-up is an orphan")
    a = make_harness(database, settings, instance_id="replica-a")
    request_id = await a.request()
    running, release = asyncio.Event(), asyncio.Event()

    async def slow_start(rid: str) -> None:
        running.set()
        await release.wait()

    a.engine.after_claim = slow_start
    click = asyncio.create_task(a.click("approve", request_id, "UAPP1"))
    await asyncio.wait_for(running.wait(), 30)
    await a.runtime.clock.advance(600)  # long enough ago that only the lease tells it apart

    b = make_harness(database, settings, instance_id="replica-b", poster=a.poster)
    assert await b.engine.recover() == {}
    assert (await b.row(request_id)).status == "executing"

    release.set()
    await click
    assert (await a.row(request_id)).status == "succeeded"
    assert a.provider.writes == 1


async def approve_behind_the_scenes(database, request_id: str, at) -> None:
    """Approved by a process that then stopped: only the sweep can pick it up."""
    async with database.session() as session:
        await session.execute(
            update(ApprovalRequest)
            .where(ApprovalRequest.id == request_id)
            .values(status="approved", decided_by="UAPP1", decided_at=at)
        )


async def test_a_request_queued_behind_a_slow_one_is_not_taken_for_an_orphan(
    make_harness, database, settings
) -> None:
    a = make_harness(database, settings, instance_id="replica-a")
    clock = a.runtime.clock
    slow, queued = await a.request("demo move c1 B"), await a.request("demo move c2 C")
    await approve_behind_the_scenes(database, slow, clock.now())
    await clock.advance(1)
    await approve_behind_the_scenes(database, queued, clock.now())
    running, release = asyncio.Event(), asyncio.Event()

    async def hold_the_first(rid: str) -> None:
        if rid == slow:
            running.set()
            await release.wait()

    a.engine.after_claim = hold_the_first
    sweep = asyncio.create_task(a.engine.run_approved())
    await asyncio.wait_for(running.wait(), 30)
    await clock.advance(a.engine.orphan_after_seconds + 60)

    assert (await a.row(queued)).status == "approved", "claimed only when it can run"
    if database.skip_locked:  # another replica starting now: neither request looks orphaned
        b = make_harness(database, settings, instance_id="replica-b", poster=a.poster)
        assert await b.engine.recover() == {}

    release.set()
    assert await sweep == [slow, queued]
    assert [(await a.row(rid)).status for rid in (slow, queued)] == ["succeeded", "succeeded"]
    assert a.provider.writes == 2
    assert (a.provider.circuits["c1"]["port"], a.provider.circuits["c2"]["port"]) == ("B", "C")
    async with database.session() as session:
        executing = list(
            await session.scalars(
                select(AuditEvent.request_id).where(AuditEvent.action == "status.executing")
            )
        )
    assert sorted(executing) == sorted([slow, queued]), "each claimed once"


async def test_an_executor_whose_claim_was_reconciled_before_its_lease_does_not_execute(
    make_harness, database, settings
) -> None:
    a = make_harness(database, settings, instance_id="replica-a")
    clock = a.runtime.clock
    request_id = await a.request()
    # Replica A claimed it, then stalled before taking its lease, long enough to look dead.
    async with database.session() as session:
        await session.execute(
            update(ApprovalRequest)
            .where(ApprovalRequest.id == request_id)
            .values(status="executing", decided_by="UAPP1", claimed_by="replica-a", claimed_at=clock.now())
        )
    await clock.advance(a.engine.orphan_after_seconds + 60)
    b = make_harness(database, settings, instance_id="replica-b", poster=a.poster)
    assert await b.engine.recover() == {request_id: "needs_attention"}

    assert await a.engine._run_claimed(request_id) == "needs_attention"

    assert a.provider.writes == 0, "the lease is taken, then the claim checked again"
    row = await a.row(request_id)
    assert (row.status, row.claimed_by) == ("needs_attention", "replica-a")
