"""Pending requests expire after their TTL; the engine's own loop runs expiry and the sweep."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from circuitbot.store.tables import ApprovalRequest, AuditEvent
from support.poster import buttons, message_text


class Rounds:
    """Tells when the engine's loop has finished a round: it then waits on the clock."""

    def __init__(self, clock) -> None:
        self.parked = asyncio.Event()
        self._sleep = clock.sleep
        clock.sleep = self.sleep

    async def sleep(self, seconds: float) -> None:
        self.parked.set()
        await self._sleep(seconds)

    async def next(self) -> None:
        await asyncio.wait_for(self.parked.wait(), 30)  # a safety net only; nothing waits on time
        self.parked.clear()


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


async def test_the_engine_loop_expires_requests_and_runs_approved_leftovers(harness) -> None:
    clock, engine = harness.runtime.clock, harness.engine
    stale = await harness.request("demo move c1 B")
    await clock.advance(25 * 3600)
    leftover = await harness.request("demo move c2 C")
    async with harness.runtime.db.session() as session:  # approved by a process that then stopped
        await session.execute(
            update(ApprovalRequest)
            .where(ApprovalRequest.id == leftover)
            .values(status="approved", decided_by="UAPP1", decided_at=clock.now())
        )

    rounds = Rounds(clock)
    await engine.start()
    await rounds.next()

    assert (await harness.row(stale)).status == "expired"
    assert (await harness.row(leftover)).status == "succeeded"
    assert harness.provider.circuits["c2"]["port"] == "C"

    # Later rounds come with the clock: a request approved now is picked up by the next sweep.
    third = await harness.request("demo move c1 D")
    async with harness.runtime.db.session() as session:
        await session.execute(
            update(ApprovalRequest)
            .where(ApprovalRequest.id == third)
            .values(status="approved", decided_by="UAPP2", decided_at=clock.now())
        )
    assert (await harness.row(third)).status == "approved"
    await clock.advance(engine.sweep_seconds)
    await rounds.next()
    assert (await harness.row(third)).status == "succeeded"
    assert harness.provider.writes == 2

    await engine.stop()
    assert clock.sleepers == 0


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
