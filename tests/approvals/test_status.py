"""The request statuses' table of moves: what the engine does is what the table allows, and
nothing else gets through."""

from __future__ import annotations

import pytest

from circuitbot.actions.registry import OutcomeUnknown
from circuitbot.approvals import core
from circuitbot.approvals.status import (
    TRANSITIONS,
    ForbiddenTransition,
    RequestStatus,
    check_transition,
)

ALLOWED = {(old, new) for old, moves in TRANSITIONS.items() for new in moves}


class Crash(Exception):
    """The process died here (raised by the after-claim hook)."""


@pytest.fixture
def moves(monkeypatch) -> list[tuple[RequestStatus, RequestStatus]]:
    """Every move the engine asks its compare-and-set for, in order (checked as usual)."""
    seen: list[tuple[RequestStatus, RequestStatus]] = []

    def recording(old: RequestStatus, new: RequestStatus) -> None:
        seen.append((old, new))
        check_transition(old, new)

    monkeypatch.setattr(core, "check_transition", recording)
    return seen


async def test_the_engine_makes_exactly_the_moves_the_table_allows(
    make_harness, database, settings, moves
) -> None:
    a = make_harness(database, settings, instance_id="replica-a")
    clock = a.runtime.clock

    succeeds = await a.request("demo move c1 B")
    await a.click("approve", succeeds, "UAPP1")

    fails = await a.request("demo move c2 B")
    a.provider.tamper("c2")  # the precondition no longer holds at execution
    await a.click("approve", fails, "UAPP1")

    unknown = await a.request("demo move c1 C")

    async def timed_out(*args, **kwargs) -> None:
        raise OutcomeUnknown("the provider did not answer in time")

    a.provider.move = timed_out
    await a.click("approve", unknown, "UAPP1")

    rejected = await a.request("demo move c1 D")
    clicked = await a.click("reject", rejected, "UAPP2")
    await a.submit_reject(clicked.modals[0], "UAPP2", "change freeze")

    canceled = await a.request("demo move c1 E")
    await a.click("cancel", canceled, "UREQ")
    scheduled = await a.request("demo move c1 E at=23:00")
    await a.click("approve", scheduled, "UAPP1")
    await a.click("cancel", scheduled, "UREQ")  # approved, not started: still canceled

    interrupted = await a.request("demo move c1 F")

    async def crash(request_id: str) -> None:
        raise Crash

    a.engine.after_claim = crash
    await a.click("approve", interrupted, "UAPP1")
    expires = await a.request("demo move c1 G")
    await clock.advance(25 * 3600)
    await a.engine.expire_due()
    restarted = make_harness(database, settings, instance_id="replica-b", poster=a.poster)
    await restarted.engine.recover()

    statuses = {rid: (await a.row(rid)).status for rid in (succeeds, fails, unknown, rejected, canceled)}
    statuses |= {rid: (await a.row(rid)).status for rid in (interrupted, expires, scheduled)}
    assert statuses == {
        succeeds: "succeeded",
        fails: "failed",
        unknown: "needs_attention",
        rejected: "rejected",
        canceled: "canceled",
        interrupted: "needs_attention",
        expires: "expired",
        scheduled: "canceled",
    }
    assert set(moves) <= ALLOWED, "every move made is in the table"
    assert set(moves) == ALLOWED, "and the table allows no move the engine never makes"


def test_every_status_has_its_row_and_the_final_ones_go_nowhere() -> None:
    assert set(TRANSITIONS) == set(RequestStatus)
    final = {status for status, moves in TRANSITIONS.items() if not moves}
    assert final == {"succeeded", "failed", "needs_attention", "rejected", "expired", "canceled"}


def test_the_stored_values_are_the_ones_the_database_already_holds() -> None:
    assert [status.value for status in RequestStatus] == [
        "pending",
        "approved",
        "executing",
        "succeeded",
        "failed",
        "needs_attention",
        "rejected",
        "expired",
        "canceled",
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (RequestStatus.PENDING, RequestStatus.EXECUTING),  # run without approval
        (RequestStatus.SUCCEEDED, RequestStatus.PENDING),  # a final status reopened
        (RequestStatus.EXECUTING, RequestStatus.APPROVED),  # a claim given back: it could run twice
        (RequestStatus.APPROVED, RequestStatus.SUCCEEDED),  # done without a claim
    ],
)
def test_a_forbidden_move_is_refused(old: RequestStatus, new: RequestStatus) -> None:
    with pytest.raises(ForbiddenTransition, match=f"from {old} to {new}"):
        check_transition(old, new)


async def test_the_engine_refuses_a_forbidden_move_and_writes_nothing(harness) -> None:
    request_id = await harness.request()

    with pytest.raises(ForbiddenTransition):
        async with harness.runtime.db.session() as session:
            await harness.engine._cas(session, request_id, RequestStatus.PENDING, RequestStatus.EXECUTING)

    assert (await harness.row(request_id)).status == "pending"
    assert harness.provider.writes == 0
