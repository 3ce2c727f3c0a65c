"""Authorization: every mutating verb asked for without the requester role, every approval by
someone who is not an approver, and every self-approval is refused, changes nothing at the
provider, and leaves an audit row that says "refused"."""

from __future__ import annotations

import re

import pytest
from reliability_support import Driver, audit_rows

from circuitbot.bootstrap import build_registry
from circuitbot.providers import catalog
from circuitbot.sandbox.world import World

MUTATING = [op for op in build_registry() if op.mutating]
READER = "UREADER"  # in no role list: a reader only
# The operation the form and decision tests request (az notes), whatever sorts first.
AZURE_NOTES = next(op for op in MUTATING if op.name == "azure.notes")


def words_of(op) -> str:
    return f"{op.provider} {op.verb}" if op.provider else op.verb


def sample_key(op) -> str:
    return catalog.spec_of(op.provider).sample_ids(World.demo()).present[0]


async def refusals(driver: Driver, actor: str) -> list:
    return [row for row in await audit_rows(driver.runtime) if row.actor == actor and row.result == "refused"]


def test_the_registry_has_mutating_verbs_to_check() -> None:
    assert len(MUTATING) >= 6


@pytest.mark.parametrize("op", MUTATING, ids=lambda op: op.name)
async def test_a_mutating_verb_without_the_requester_role_is_refused_and_audited(driver: Driver, op) -> None:
    asked = [f"{words_of(op)}", f"{words_of(op)} {sample_key(op)}"]
    for line in asked:
        shown = await driver.command(line, user=READER)
        assert "needs the requester role" in shown.text, shown.text
        # A form opens before the roles are known (Slack's trigger lives 3 s); it then says no.
        assert all("needs the requester role" in str(view) for view in shown.modals)

    rows = await refusals(driver, READER)
    assert len(rows) == len(asked)
    assert {row.detail.get("operation") for row in rows} == {op.name}
    assert driver.poster.sent == [], "nothing reaches the approvals channel"
    assert driver.provider_writes() == []


async def test_a_modal_submitted_by_someone_without_the_role_is_refused_and_audited(driver: Driver) -> None:
    key = sample_key(AZURE_NOTES)
    form = (await driver.command("az notes", user="UREQ")).modals[0]
    submitted = dict(
        form,
        state={
            "values": {
                "key": {"value": {"type": "plain_text_input", "value": key}},
                "text": {"value": {"type": "plain_text_input", "value": "forged"}},
            }
        },
    )

    shown, acked = await driver.submit(submitted, user=READER)

    assert acked == [None]
    assert "needs the requester role" in shown.text
    [row] = await refusals(driver, READER)
    assert row.detail["operation"] == "azure.notes"
    assert row.target == f"azure:{key}"
    assert driver.poster.sent == []


async def request(driver: Driver, user: str) -> str:
    key = sample_key(AZURE_NOTES)
    shown = await driver.command(f"az notes {key} 'reviewed by {user}'", user=user)
    match = re.search(r"`(R[A-Z2-7]{6})`", shown.text)
    assert match, shown.text
    return match.group(1)


@pytest.mark.parametrize(
    ("requester", "clicker", "action", "reason"),
    [
        ("UREQ", READER, "approve", "only approvers"),
        ("UREQ", READER, "reject", "only approvers"),
        ("UREQ", "UREQ2", "approve", "only approvers"),
        ("UREQ", "UREQ", "approve", "only approvers"),
        ("UAPP1", "UAPP1", "approve", "cannot approve your own request"),
        ("UAPP1", "UAPP1", "reject", "your own request"),
        ("UREQ", "UREQ2", "cancel", "only the requester"),
    ],
)
async def test_a_decision_by_someone_who_may_not_make_it_is_refused_and_audited(
    driver: Driver, requester: str, clicker: str, action: str, reason: str
) -> None:
    request_id = await request(driver, requester)

    shown = await driver.click(f"approval:{action}", request_id, clicker)

    assert reason in shown.text, shown.text
    rows = [row for row in await refusals(driver, clicker) if row.request_id == request_id]
    assert len(rows) == 1 and reason in rows[0].detail["reason"]
    status = (await driver.runtime.approvals.load(request_id))[0].status
    assert status == "pending"
    assert driver.provider_writes() == []
