"""Scheduled changes: at= on a mutating command, change windows and freezes. An approved change
waits for its time, runs once (also with replicas racing for it), can be canceled until it
starts, and one whose window passed unexecuted waits for the next window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from approvals_support import RecordingSurface

from circuitbot.approvals.windows import parse_freezes, parse_windows
from circuitbot.store.db import Database
from support.poster import buttons, message_text

START = datetime(2026, 1, 1, tzinfo=UTC)  # the FakeClock's start: a Thursday, 00:00 UTC
SATURDAY_2AM = datetime(2026, 1, 3, 2, 0, tzinfo=UTC)


async def until(harness, at: datetime) -> None:
    clock = harness.runtime.clock
    await clock.advance((at - clock.now()).total_seconds())


async def test_a_change_requested_with_at_runs_once_at_its_time_with_replicas_racing(
    make_harness, database, database_url, settings
) -> None:
    a = make_harness(database, settings, instance_id="replica-a")
    made = await a.command("demo move c1 B at=2026-01-01T06:00")
    assert "Once approved it runs at Thu 2026-01-01 06:00 UTC" in made.text
    request_id = (await a.engine.requests("pending"))[0][0][0].id
    assert "runs at Thu 2026-01-01 06:00 UTC once approved" in message_text(
        a.approval_message(await a.row(request_id))
    )

    clicked = await a.click("approve", request_id, "UAPP1")
    assert "scheduled for Thu 2026-01-01 06:00 UTC" in clicked.text
    row = await a.row(request_id)
    assert (row.status, row.scheduled_for) == ("approved", datetime(2026, 1, 1, 6, tzinfo=UTC))
    card = a.approval_message(row)
    assert "Approved by <@UAPP1> · scheduled for Thu 2026-01-01 06:00 UTC" in message_text(card)
    assert set(buttons(card)) == {"approval:cancel"}, "it can be canceled until it starts"
    await a.engine.execute_round()
    assert a.provider.writes == 0, "not before its time"

    replicas = [a]
    for n in range(2):  # other processes: their own engine on their own connection pool
        replicas.append(
            make_harness(Database(database_url), settings, instance_id=f"replica-{n}", poster=a.poster)
        )
    await until(a, datetime(2026, 1, 1, 6, tzinfo=UTC))
    a.provider.write_delay_ticks = 20
    try:
        ran = await asyncio.gather(*(r.engine.run_approved() for r in replicas for _ in range(3)))
    finally:
        for replica in replicas[1:]:
            await replica.runtime.db.dispose()

    assert sorted(rid for claimed in ran for rid in claimed) == [request_id]
    assert a.provider.writes == 1
    assert (await a.row(request_id)).status == "succeeded"


async def test_a_scheduled_change_can_be_canceled_until_it_starts(harness) -> None:
    request_id = await harness.request("demo move c1 B at=02:00")
    await harness.click("approve", request_id, "UAPP1")
    assert (await harness.row(request_id)).status == "approved"

    canceled = await harness.click("cancel", request_id, "UREQ")
    assert f"Request `{request_id}` canceled" in canceled.text
    await until(harness, START + timedelta(hours=3))
    await harness.engine.execute_round()

    row = await harness.row(request_id)
    assert (row.status, row.decided_by) == ("canceled", "UREQ")
    assert harness.provider.writes == 0


async def test_a_change_approved_outside_a_window_waits_for_the_next_and_a_missed_one_for_the_one_after(
    harness, settings
) -> None:
    settings.change_windows = parse_windows("0 2 * * sat 2h")
    request_id = await harness.request()
    clicked = await harness.click("approve", request_id, "UAPP1")
    assert "scheduled for Sat 2026-01-03 02:00 UTC" in clicked.text
    assert "outside the change windows (0 2 * * sat 2h UTC)" in clicked.text

    # The bot was down for the whole window: the change never runs outside one.
    await until(harness, SATURDAY_2AM + timedelta(hours=3))
    await harness.engine.execute_round()
    row = await harness.row(request_id)
    assert (row.status, row.scheduled_for) == ("approved", SATURDAY_2AM + timedelta(days=7))
    assert harness.provider.writes == 0
    notes = [m.text for m in harness.poster.thread(row.approvals_ts)]
    assert any("could not run in its window" in n and "Sat 2026-01-10 02:00 UTC" in n for n in notes), notes
    await harness.engine.execute_round()
    assert len(harness.poster.thread(row.approvals_ts)) == len(notes), "said once"

    await until(harness, SATURDAY_2AM + timedelta(days=7, minutes=1))
    await harness.engine.execute_round()
    assert (await harness.row(request_id)).status == "succeeded"
    assert harness.provider.writes == 1


async def test_a_freeze_holds_back_even_a_change_approved_before_it(harness, settings) -> None:
    request_id = await harness.request("demo move c1 B at=06:00")
    await harness.click("approve", request_id, "UAPP1")
    # A freeze is configured after the approval, covering the change's time.
    settings.freezes = parse_freezes("2026-01-01T05:00/2026-01-02T00:00 year-start freeze")

    await until(harness, datetime(2026, 1, 1, 6, tzinfo=UTC))
    await harness.engine.execute_round()
    row = await harness.row(request_id)
    assert (row.status, row.scheduled_for) == ("approved", datetime(2026, 1, 2, tzinfo=UTC))
    notes = " ".join(m.text for m in harness.poster.thread(row.approvals_ts))
    assert "a change freeze (year-start freeze) until Fri 2026-01-02 00:00 UTC" in notes

    await until(harness, datetime(2026, 1, 2, tzinfo=UTC))
    await harness.engine.execute_round()
    assert (await harness.row(request_id)).status == "succeeded"


async def test_a_change_approved_during_a_freeze_waits_and_the_approver_is_told(harness, settings) -> None:
    settings.freezes = parse_freezes("2025-12-31T00:00/2026-01-01T12:00 audit")
    request_id = await harness.request()
    clicked = await harness.click("approve", request_id, "UAPP1")
    assert "scheduled for Thu 2026-01-01 12:00 UTC (a change freeze (audit) until" in clicked.text
    assert harness.provider.writes == 0


async def test_at_is_read_in_a_time_zone_and_refused_when_unreadable_or_past(harness) -> None:
    made = await harness.command('demo move c1 B at="fri 09:00 Europe/Paris"')
    assert "runs at Fri 2026-01-02 08:00 UTC (Fri 09:00 Europe/Paris)" in made.text
    assert "at= takes an ISO 8601 time" in (await harness.command("demo move c1 B at=soon")).text
    assert "at= is in the past" in (await harness.command("demo move c1 B at=2025-12-31T00:00")).text
    assert "unknown time zone" in (await harness.command('demo move c1 B at="sat 02:00 Mars/Olympus"')).text


async def test_the_modal_has_a_run_at_field_checked_inline(harness) -> None:
    opened = await harness.command("demo move c1")  # no port: the form opens
    [view] = opened.modals
    assert "run_at" in [b.get("block_id") for b in view["blocks"]]

    async def submit(run_at: str) -> tuple[list, RecordingSurface]:
        values = {
            "key": {"value": {"type": "plain_text_input", "value": "c1"}},
            "port": {"value": {"type": "plain_text_input", "value": "B"}},
            "run_at": {"value": {"type": "plain_text_input", "value": run_at}},
        }
        surface, acked = RecordingSurface("UREQ"), []

        async def ack_errors(errors) -> None:
            acked.append(errors)

        submitted = dict(view, state={"values": values})
        await harness.router.handle_view(submitted, user_id="UREQ", surface=surface, ack_errors=ack_errors)
        return acked, surface

    acked, _ = await submit("whenever")
    assert list(acked[0]) == ["run_at"] and "at= takes an ISO 8601 time" in acked[0]["run_at"]
    acked, surface = await submit("sat 02:00")
    assert acked == [None]
    assert "Once approved it runs at Sat 2026-01-03 02:00 UTC" in surface.text
