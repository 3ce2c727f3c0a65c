"""Pending requests expire after their TTL; the engine's jobs run expiry and the sweep."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from circuitbot.store.tables import ApprovalRequest, AuditEvent
from support.poster import buttons, message_text


async def test_a_pending_request_expires_after_its_ttl(harness) -> None:
    clock = harness.runtime.clock
    request_id = await harness.request()

    await clock.advance(24 * 3600 - 1)
    assert await harness.engine.expire_due() == []
    assert (await harness.row(request_id)).status == "pending"

    await clock.advance(1)
    assert await harness.engine.expire_due() == [request_id]
    assert await harness.engine.expire_due() == [], "expiring is done once"

    row = await harness.row(request_id)
    assert row.status == "expired"
    message = harness.approval_message(row)
    assert "Expired unapproved" in message_text(message)
    assert buttons(message) == {}
    late = await harness.click("approve", request_id, "UAPP1")
    assert "already expired" in late.text
    assert harness.provider.writes == 0
    async with harness.runtime.db.session() as session:
        actions = list(await session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "system")))
    assert actions == ["status.expired"]


async def test_a_click_after_the_ttl_expires_the_request_instead_of_approving_it(harness) -> None:
    request_id = await harness.request()
    await harness.runtime.clock.advance(25 * 3600)  # the expiry job has not run yet

    late = await harness.click("approve", request_id, "UAPP1")

    assert "already expired" in late.text
    assert (await harness.row(request_id)).status == "expired"
    assert harness.provider.writes == 0


async def test_canceling_after_the_ttl_expires_the_request_instead(harness) -> None:
    request_id = await harness.request()
    await harness.runtime.clock.advance(25 * 3600)  # the expiry job has not run yet

    late = await harness.command(f"cancel {request_id}", user="UREQ")

    assert "already expired" in late.text
    row = await harness.row(request_id)
    assert (row.status, row.decided_by) == ("expired", "system")
    assert "Expired unapproved" in message_text(harness.approval_message(row))


async def approve_in_db(harness, request_id: str, by: str) -> None:
    """Approved by a process that then stopped: nobody runs it but the executor job."""
    async with harness.runtime.db.session() as session:
        await session.execute(
            update(ApprovalRequest)
            .where(ApprovalRequest.id == request_id)
            .values(status="approved", decided_by=by, decided_at=harness.runtime.clock.now())
        )


async def test_the_jobs_expire_requests_and_run_approved_leftovers(harness) -> None:
    clock, engine = harness.runtime.clock, harness.engine
    stale = await harness.request("demo move c1 B")
    await clock.advance(25 * 3600)
    leftover = await harness.request("demo move c2 C")
    await approve_in_db(harness, leftover, "UAPP1")

    await engine.expiry_round()
    assert (await harness.row(stale)).status == "expired"
    assert (await harness.row(leftover)).status == "approved", "expiry runs nothing"
    await engine.execute_round()
    assert (await harness.row(leftover)).status == "succeeded"
    assert harness.provider.circuits["c2"]["port"] == "C"


async def test_the_jobs_run_on_the_real_scheduler_and_stop_with_the_engine(harness) -> None:
    """The one test of the approvals room on APScheduler itself, with short intervals (real time);
    every other test calls the jobs' coroutines on the FakeClock."""
    clock, engine, scheduler = harness.runtime.clock, harness.engine, harness.runtime.scheduler
    engine.sweep_seconds, engine.expiry_seconds = 3600.0, 0.05  # the executor runs when woken
    stale = await harness.request("demo move c1 B")
    await clock.advance(25 * 3600)
    await engine.start()
    execute, expire = scheduler.jobs["approvals.execute"], scheduler.jobs["approvals.expire"]
    try:
        await asyncio.wait_for(expire.ran(expire.runs + 2), 10)  # a safety net only
        assert (await harness.row(stale)).status == "expired"

        await asyncio.wait_for(execute.ran(1), 10)  # its first run, at start
        leftover = await harness.request("demo move c2 C")
        await approve_in_db(harness, leftover, "UAPP2")
        ran = execute.runs
        engine.wake()
        await asyncio.wait_for(execute.ran(ran + 1), 10)
        assert (await harness.row(leftover)).status == "succeeded", "woken, not an hour later"
    finally:
        await engine.stop()
    assert set(scheduler.jobs) == set()
    assert scheduler.next_run("approvals.execute") is None and scheduler.next_run("approvals.expire") is None
    assert harness.provider.writes == 1


async def test_stopping_lets_an_execution_under_way_finish(harness) -> None:
    request_id = await harness.request()
    async with harness.runtime.db.session() as session:
        await session.execute(
            update(ApprovalRequest)
            .where(ApprovalRequest.id == request_id)
            .values(status="approved", decided_by="UAPP1", decided_at=harness.runtime.clock.now())
        )
    harness.provider.gate = asyncio.Event()
    await harness.engine.start()
    await asyncio.wait_for(harness.provider.writing.wait(), 30)

    stopping = asyncio.create_task(harness.engine.stop())
    for _ in range(5):  # stop begins, and the execution gets its turns after that
        await asyncio.sleep(0)
    assert harness.provider.interrupted == 0, "the execution under way is not cut short"
    assert not stopping.done(), "stop waits for it"
    harness.provider.gate.set()
    await stopping

    assert (await harness.row(request_id)).status == "succeeded"
    assert harness.provider.writes == 1


async def test_stopping_after_the_round_under_way_does_not_wait_out_the_sweep_interval(harness) -> None:
    clock, engine = harness.runtime.clock, harness.engine
    stale = await harness.request()
    await clock.advance(25 * 3600)
    entered, release = asyncio.Event(), asyncio.Event()
    expire_due = engine.expire_due

    async def held_expiry() -> list[str]:  # the last job of the first round
        entered.set()
        await release.wait()
        return await expire_due()

    engine.expire_due = held_expiry
    await engine.start()
    await asyncio.wait_for(entered.wait(), 30)  # a safety net only; nothing waits on time
    stopping = asyncio.create_task(engine.stop(grace_seconds=3600))
    await asyncio.sleep(0)  # stop begins while the round is under way
    release.set()

    # The clock never moves: the pause before the next round ends because stop was called.
    await asyncio.wait_for(stopping, 30)  # a safety net only
    assert (await harness.row(stale)).status == "expired", "the round under way finished"
    assert clock.sleepers == 0
