"""The approval flow through the router: request, preview, decisions, execution, messages, audit."""

from __future__ import annotations

import json
import re

import pytest
from approvals_support import FakeWatches
from sqlalchemy import select

from circuitbot.approvals.engine import ApprovalEngine
from circuitbot.bootstrap import build_runtime
from circuitbot.store.audit import audit
from circuitbot.store.tables import ApprovalDecision, ApprovalRequest, AuditEvent
from support.poster import buttons, message_text


async def audit_actions(harness, request_id: str) -> list[tuple[str, str, str]]:
    async with harness.runtime.db.session() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(AuditEvent.id)
        )
        return [(e.actor, e.action, e.result) for e in rows]


async def test_a_mutating_command_becomes_a_pending_request_with_a_preview(harness) -> None:
    surface = await harness.command("demo move c1 B")

    row = (await harness.engine.requests("pending"))[0][0][0]
    assert row.status == "pending"
    assert row.operation == "demo.move"
    assert row.requester == "UREQ"
    assert row.target == "demo:c1"
    assert row.precondition == {"etag": "e1"}
    assert row.preview["changes"] == [["port", "A", "B"]]
    assert row.approvals_required == 1
    assert (row.expires_at - row.created_at).total_seconds() == 24 * 3600
    # Nothing ran: the preview read the provider once, nothing was written.
    assert harness.provider.reads == 1
    assert harness.provider.writes == 0
    # The requester hears about it privately, with the id.
    assert surface.replies[-1].ephemeral
    assert f"Request `{row.id}` created" in surface.replies[-1].text
    # Posted to the approvals channel and to the requester's channel, buttons carrying only the id.
    posted = {p.channel: p for p in harness.poster.posts()}
    assert set(posted) == {"CAPPROVALS", "CGENERAL"}
    for post in posted.values():
        assert buttons(post.reply) == {
            "approval:approve": row.id,
            "approval:reject": row.id,
            "approval:cancel": row.id,
        }
        text = message_text(post.reply)
        assert "move c1 from port A to B" in text
        assert "traffic drops" in text
    assert (row.approvals_ts, row.requester_ts) == (posted["CAPPROVALS"].ts, posted["CGENERAL"].ts)
    assert await audit_actions(harness, row.id) == [("UREQ", "request.created", "ok")]


async def test_approval_by_another_user_runs_it_once_and_shows_success(harness) -> None:
    request_id = await harness.request()

    clicker = await harness.click("approve", request_id, "UAPP1")

    row = await harness.row(request_id)
    assert row.status == "succeeded"
    assert row.decided_by == "UAPP1"
    assert row.claimed_by == "replica-a"
    assert harness.provider.writes == 1
    assert harness.provider.circuits["c1"] == {"port": "B", "etag": "e2"}
    assert "You approved" in clicker.text
    message = harness.approval_message(row)
    assert "Succeeded" in message.text or "Succeeded" in message_text(message)
    assert buttons(message) == {}, "a decided request has no buttons left"
    copy = harness.poster.latest(row.requester_ts)
    assert "Succeeded" in message_text(copy)
    # The message went pending → approved → executing → succeeded, in place.
    states = [r.text.rsplit("· ", 1)[-1] for r in harness.poster.updates(row.approvals_ts)]
    assert states == ["approved", "executing", "succeeded"]
    # The operation's own rendering is in the thread.
    thread = harness.poster.thread(row.approvals_ts)
    assert any("c1 is now on port B" in message_text(r) for r in thread)
    assert await audit_actions(harness, request_id) == [
        ("UREQ", "request.created", "ok"),
        ("UAPP1", "vote.approve", "ok"),
        ("UAPP1", "status.approved", "ok"),
        ("system", "status.executing", "ok"),
        ("system", "status.succeeded", "ok"),
    ]
    # A later click changes nothing and is told who decided.
    late = await harness.click("approve", request_id, "UAPP2")
    assert "already approved by <@UAPP1>, now succeeded" in late.text
    assert harness.provider.writes == 1


async def test_the_requester_cannot_approve_their_own_request(harness) -> None:
    request_id = await harness.request(user="UAPP1")  # an approver asking for a change

    refused = await harness.click("approve", request_id, "UAPP1")

    assert "cannot approve your own request" in refused.text
    assert refused.replies[-1].ephemeral
    assert (await harness.row(request_id)).status == "pending"
    assert harness.provider.writes == 0
    assert ("UAPP1", "vote.approve", "refused") in await audit_actions(harness, request_id)


async def test_self_approval_works_where_settings_allow_it(make_harness, database, settings) -> None:
    harness = make_harness(database, settings.model_copy(update={"allow_self_approval": True}))
    request_id = await harness.request(user="UAPP1")

    await harness.click("approve", request_id, "UAPP1")

    assert (await harness.row(request_id)).status == "succeeded"
    assert harness.provider.writes == 1


@pytest.mark.parametrize("clicker", ["UREQ2", "UNOBODY"])
async def test_a_non_approver_is_refused_and_audited(harness, clicker) -> None:
    request_id = await harness.request()

    refused = await harness.click("approve", request_id, clicker)
    rejected = await harness.click("reject", request_id, clicker)

    assert "only approvers" in refused.text
    assert "only approvers" in rejected.text
    assert rejected.modals == [], "no reason form for someone who may not reject"
    assert (await harness.row(request_id)).status == "pending"
    assert harness.provider.writes == 0
    actions = await audit_actions(harness, request_id)
    assert (clicker, "vote.approve", "refused") in actions
    assert (clicker, "vote.reject", "refused") in actions
    async with harness.runtime.db.session() as session:
        assert list(await session.scalars(select(ApprovalDecision))) == []


async def test_two_approvals_need_two_distinct_approvers(harness) -> None:
    request_id = await harness.request("demo remove c2")
    assert (await harness.row(request_id)).approvals_required == 2

    first = await harness.click("approve", request_id, "UAPP1")
    assert "1 of 2" in first.text
    row = await harness.row(request_id)
    assert row.status == "pending"
    assert "1 of 2 so far" in message_text(harness.approval_message(row))

    again = await harness.click("approve", request_id, "UAPP1")
    assert "already voted" in again.text
    assert (await harness.row(request_id)).status == "pending"
    assert "c2" in harness.provider.circuits

    await harness.click("approve", request_id, "UAPP2")
    row = await harness.row(request_id)
    assert row.status == "succeeded"
    assert row.decided_by == "UAPP2"
    assert "c2" not in harness.provider.circuits
    assert harness.provider.writes == 1


async def test_settings_can_require_more_approvals_for_an_operation(make_harness, database, settings) -> None:
    harness = make_harness(database, settings.model_copy(update={"approvals_required": {"demo.move": 3}}))
    request_id = await harness.request()
    for n, approver in enumerate(["UAPP1", "UAPP2"], 1):
        await harness.click("approve", request_id, approver)
        assert (await harness.row(request_id)).status == "pending", f"after {n} approvals"
    await harness.click("approve", request_id, "UAPP3")
    assert (await harness.row(request_id)).status == "succeeded"


async def test_reject_asks_for_a_reason_and_nothing_runs(harness) -> None:
    request_id = await harness.request()

    clicked = await harness.click("reject", request_id, "UAPP2")
    [opened], [view] = clicked.opened, clicked.modals
    assert opened["callback_id"] == view["callback_id"] == "approval_reject"
    assert f"Request `{request_id}`" in json.dumps(opened), "opened before the request is looked up"
    assert "move c1 from port A to B" in json.dumps(view), "then filled in"
    assert clicked.replies == []
    assert (await harness.row(request_id)).status == "pending", "nothing is decided until the form is sent"

    done = await harness.submit_reject(view, "UAPP2", "  change freeze until Monday ")

    row = await harness.row(request_id)
    assert row.status == "rejected"
    assert row.decided_by == "UAPP2"
    assert row.reason == "change freeze until Monday"
    assert "You rejected" in done.text
    message = message_text(harness.approval_message(row))
    assert "Rejected by <@UAPP2>: change freeze until Monday" in message
    assert buttons(harness.approval_message(row)) == {}
    assert harness.provider.writes == 0
    late = await harness.click("approve", request_id, "UAPP1")
    assert "already rejected by <@UAPP2>" in late.text
    assert harness.provider.writes == 0
    assert ("UAPP2", "status.rejected", "ok") in await audit_actions(harness, request_id)


async def test_the_requester_rejecting_is_told_to_cancel(make_harness, database, settings) -> None:
    harness = make_harness(database, settings)
    request_id = await harness.request(user="UAPP1")
    clicked = await harness.click("reject", request_id, "UAPP1")
    assert "cancel it instead" in clicked.text
    [view] = clicked.modals  # opened at once (the click's trigger is short-lived), then refused
    assert "submit" not in view
    assert "cancel it instead" in json.dumps(view)


async def test_rejecting_an_expired_request_says_so_in_the_form(harness) -> None:
    request_id = await harness.request()
    await harness.runtime.clock.advance(25 * 3600)

    clicked = await harness.click("reject", request_id, "UAPP1")

    [view] = clicked.modals
    assert "submit" not in view
    assert "already expired" in json.dumps(view)
    assert "already expired" in clicked.text
    assert (await harness.row(request_id)).status == "expired"


async def test_the_requester_may_cancel_a_pending_request_and_no_one_else(harness) -> None:
    request_id = await harness.request()

    other = await harness.command(f"cancel {request_id}", user="UAPP1")
    assert "only the requester" in other.text
    assert (await harness.row(request_id)).status == "pending"

    mine = await harness.command(f"cancel {request_id.lower()}", user="UREQ")
    assert [r.text for r in mine.replies if "canceled" in r.text] == [f"Request `{request_id}` canceled."]
    row = await harness.row(request_id)
    assert row.status == "canceled"
    assert "Canceled by <@UREQ>" in message_text(harness.approval_message(row))

    late = await harness.click("approve", request_id, "UAPP1")
    assert "already canceled" in late.text
    assert harness.provider.writes == 0
    actions = await audit_actions(harness, request_id)
    assert ("UAPP1", "cancel", "refused") in actions
    assert ("UREQ", "status.canceled", "ok") in actions


async def test_the_cancel_button_works_for_the_requester(harness) -> None:
    request_id = await harness.request()
    clicked = await harness.click("cancel", request_id, "UREQ", channel="CGENERAL")
    assert (await harness.row(request_id)).status == "canceled"
    assert [r.text for r in clicked.replies] == [f"Request `{request_id}` canceled."], "told once"


async def test_a_preview_with_nothing_to_change_is_refused_before_anyone_is_asked(harness) -> None:
    surface = await harness.command("demo move c1 A")  # already on A

    assert "nothing to change" in surface.text
    assert harness.poster.posts() == []
    async with harness.runtime.db.session() as session:
        assert list(await session.scalars(select(ApprovalRequest))) == []
        refused = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "request.refused"))
        )
    assert [(e.actor, e.target, e.result) for e in refused] == [("UREQ", "demo:c1", "refused")]


async def test_a_failed_precondition_in_the_preview_is_refused(harness) -> None:
    surface = await harness.command("demo move c1 Z")
    assert "port Z has no capacity" in surface.text
    assert harness.poster.posts() == []


async def test_a_reader_cannot_request(harness) -> None:
    surface = await harness.command("demo move c1 B", user="UNOBODY")
    assert "needs the requester role" in surface.text
    assert harness.poster.posts() == []


async def test_a_precondition_failure_at_execution_fails_with_the_provider_text(harness) -> None:
    request_id = await harness.request()
    harness.provider.tamper("c1")  # someone changed the circuit after the preview

    await harness.click("approve", request_id, "UAPP1")

    row = await harness.row(request_id)
    assert row.status == "failed"
    assert row.error == "412 Precondition Failed: the circuit changed since approval, request again"
    assert harness.provider.writes == 1
    assert harness.provider.circuits["c1"]["port"] == "A"
    message = message_text(harness.approval_message(row))
    assert "Failed" in message and "changed since approval, request again" in message
    thread = harness.poster.thread(row.approvals_ts)
    assert any("failed: 412 Precondition Failed" in r.text for r in thread)
    # A failed request is final: the sweep does not try again.
    assert await harness.engine.run_approved() == []
    assert harness.provider.writes == 1


async def test_slack_trouble_does_not_undo_a_decision(harness, caplog) -> None:
    request_id = await harness.request()

    async def broken(*args, **kwargs) -> None:
        raise RuntimeError("Slack said: token xoxb-1234 is invalid")

    working_post, working_update = harness.poster.post, harness.poster.update
    harness.poster.post = harness.poster.update = broken
    clicked = await harness.click("approve", request_id, "UAPP1")

    assert "You approved" in clicked.text
    assert (await harness.row(request_id)).status == "succeeded"
    assert harness.provider.writes == 1
    assert f"could not update request {request_id} in CAPPROVALS: RuntimeError" in caplog.text
    assert "xoxb" not in caplog.text
    # What Slack refused is owed, not lost: once it works again the card ends in its last state,
    # and the note queued behind the edit follows it.
    harness.poster.post, harness.poster.update = working_post, working_update
    sender = harness.engine.notify.sender
    await harness.runtime.clock.advance(10)
    while await sender.run_once():
        await harness.runtime.clock.advance(10)
    row = await harness.row(request_id)
    assert "succeeded" in harness.approval_message(row).text
    assert [r.text for r in harness.poster.updates(row.approvals_ts)][-1].endswith("succeeded")
    assert any("succeeded" in r.text for r in harness.poster.thread(row.approvals_ts))


async def test_success_starts_a_watch_in_the_approval_thread(harness) -> None:
    watches = harness.runtime.watches = FakeWatches()
    request_id = await harness.request()

    await harness.click("approve", request_id, "UAPP1")

    row = await harness.row(request_id)
    [(target, kwargs)] = watches.calls
    assert (target.provider, target.resource_id) == ("demo", "c1")
    assert kwargs == {
        "channel": "CAPPROVALS",
        "thread_ts": row.approvals_ts,
        "created_by": "UREQ",
        "request_id": request_id,
    }


async def test_a_failing_watch_engine_does_not_fail_the_request(harness) -> None:
    harness.runtime.watches = FakeWatches(fail=True)
    request_id = await harness.request()
    await harness.click("approve", request_id, "UAPP1")
    assert (await harness.row(request_id)).status == "succeeded"


async def test_without_an_approvals_channel_the_request_is_posted_where_it_was_asked(
    make_harness, database, settings
) -> None:
    harness = make_harness(database, settings.model_copy(update={"approvals_channel": None}))
    request_id = await harness.request(channel="COPS")
    row = await harness.row(request_id)
    assert [p.channel for p in harness.poster.posts()] == ["COPS"]
    assert (row.approvals_channel, row.requester_ts) == ("COPS", None)
    await harness.click("approve", request_id, "UAPP1", channel="COPS")
    assert "Succeeded" in message_text(harness.poster.latest(row.approvals_ts))


async def test_approvals_lists_pending_requests_with_their_buttons_and_pages(harness) -> None:
    ids = [await harness.request(f"demo move c1 P{n}") for n in range(12)]
    await harness.click("approve", ids[0], "UAPP1")  # no longer pending

    first = await harness.command("approvals", user="UNOBODY")
    text = first.text
    assert "11 pending requests" in text
    assert ids[0] not in text
    assert sum(1 for i in ids[1:] if i in text) == 10
    assert "page 1 of 2" in text
    [page_reply] = [r for r in first.replies if r.blocks]
    assert (
        sum(
            1
            for b in page_reply.blocks
            if b["type"] == "actions" and b.get("block_id", "").startswith("approval_")
        )
        == 10
    )

    succeeded = await harness.command("approvals succeeded")
    assert ids[0] in succeeded.text


async def test_audit_shows_every_step_by_request_and_by_target(harness) -> None:
    request_id = await harness.request()
    await harness.click("approve", request_id, "UREQ")  # refused: their own
    await harness.click("approve", request_id, "UAPP1")

    by_id = (await harness.command(f"audit {request_id}")).text
    for action in (
        "request.created",
        "vote.approve",
        "status.approved",
        "status.executing",
        "status.succeeded",
    ):
        assert action in by_id
    assert "refused" in by_id

    by_target = (await harness.command("audit demo:c1")).text
    assert "status.succeeded" in by_target

    nothing = (await harness.command("audit demo:nowhere")).text
    assert "No audit history for demo:nowhere" in nothing


async def test_audit_pages_long_histories(harness) -> None:
    for n in range(10):
        await harness.request(f"demo move c1 P{n}")
        await harness.click("approve", "RAAAAAA", "UAPP1")  # unknown id: not audited
    first = await harness.command("audit demo:c1")
    assert "10 events" in first.text
    for n in range(10):
        request_id = await harness.request(f"demo move c2 Q{n}")
        await harness.click("approve", request_id, "UREQ")
    listing = await harness.command("audit")
    assert "page 1 of 2" in listing.text
    assert any(
        b["type"] == "actions" and b["elements"][0]["action_id"].startswith("circuit_page")
        for r in listing.replies
        for b in r.blocks
    )


async def test_audit_counts_and_pages_a_history_of_any_length(harness) -> None:
    clock = harness.runtime.clock
    async with harness.runtime.db.session() as session:
        for n in range(1030):
            audit(session, at=clock.now(), actor="UREQ", action=f"test.{n}", result="ok", target="demo:c9")

    first = await harness.command("audit demo:c9")
    last = await harness.command("audit demo:c9 page=42")

    assert "1030 events" in first.text
    assert "page 1 of 42" in first.text
    assert "test.1029" in first.text, "newest first"
    assert "page 42 of 42" in last.text
    assert {int(n) for n in re.findall(r"test\.(\d+)", last.text)} == {4, 3, 2, 1, 0}, "the oldest"


async def test_audit_takes_a_target_literally(harness) -> None:
    await harness.request()

    assert "demo:c1" in (await harness.command("audit c1")).text, "a part of the target is enough"
    for pattern in ("demo:c_", "demo:%", "%"):
        assert "No audit history" in (await harness.command(f"audit {pattern}")).text, pattern


async def test_build_runtime_attaches_the_engine_and_its_commands(settings, clock, tmp_path) -> None:
    runtime = await build_runtime(settings.model_copy(update={"data_dir": tmp_path}), clock=clock)
    try:
        assert isinstance(runtime.approvals, ApprovalEngine)
        for verb in ("approvals", "audit", "cancel"):
            assert runtime.registry.get(None, verb) is not None
        assert runtime.registry.action_handler("approval:approve") is not None
        assert runtime.registry.view_handler("approval_reject") is not None
    finally:
        await runtime.close()
