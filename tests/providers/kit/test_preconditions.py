"""Preconditions recorded by a preview and checked on a fresh read before the write."""

from __future__ import annotations

from typing import Any

import pytest

from circuitbot.actions.registry import Caller, OpContext, OperationError, Params, Refused, Verified
from circuitbot.chat.reply import Reply
from circuitbot.providers.kit import preconditions as pc


def context(precondition: dict[str, Any] | None) -> OpContext:
    return OpContext(runtime=None, caller=Caller("U1"), precondition=precondition)  # type: ignore[arg-type]


def test_the_approved_etag_is_required() -> None:
    assert pc.approved_etag(context({"etag": 'W/"7"'})) == 'W/"7"'
    for missing in (None, {}, {"etag": ""}):
        with pytest.raises(OperationError, match="carries no etag from its preview"):
            pc.approved_etag(context(missing))


def test_a_create_records_absence_and_only_then_expects_it() -> None:
    assert pc.expects_absent(pc.absent())
    assert not pc.expects_absent({"etag": "x", "absent": True})  # a version wins: it is an update
    assert not pc.expects_absent({})
    assert not pc.expects_absent(None)


def test_a_recorded_state_or_version_that_changed_refuses_the_write() -> None:
    pc.require_unchanged("c1", {"state": "PROVISIONED", "version": 3}, {"state": "PROVISIONED", "version": 3})
    with pytest.raises(OperationError) as caught:
        pc.require_unchanged("c1", {"version": 3}, {"version": 4, "state": "PROVISIONED"})
    assert str(caught.value) == (
        "c1 changed since the request was reviewed for approval (its version was 3, now 4), so nothing "
        "was written; request it again to review the current state"
    )
    with pytest.raises(OperationError, match="its state was UP, now None"):
        pc.require_unchanged("c1", {"state": "UP"}, {})


def test_a_busy_resource_is_refused_in_any_case() -> None:
    pc.refuse_while_busy("c1", "Succeeded", ("updating", "deleting"))
    pc.refuse_while_busy("c1", None, ("updating",))
    with pytest.raises(Refused, match="c1 is Updating: another change is still running"):
        pc.refuse_while_busy("c1", "Updating", ("updating", "deleting"))
    with pytest.raises(Refused, match="is DELETING"):
        pc.refuse_while_busy("c1", "DELETING", ("Deleting",))


def test_a_change_landed_when_every_field_has_its_value_and_it_did_not_fail() -> None:
    assert pc.landed({"asn": 65010, "vlan": 210}, {"asn": 65010}) is Verified.LANDED
    assert pc.landed({"asn": 65011}, {"asn": 65010}) is Verified.NOT_LANDED
    assert pc.landed({}, {"asn": 65010}) is Verified.NOT_LANDED
    assert pc.landed({"asn": 65010}, {"asn": 65010}, state="Succeeded") is Verified.LANDED
    assert pc.landed({"asn": 65010}, {"asn": 65010}, state="Failed") is Verified.NOT_LANDED


def test_a_change_on_a_busy_resource_is_in_flight_whatever_its_fields_say() -> None:
    busy = ("Updating", "Deleting")
    assert pc.landed({"asn": 65010}, {"asn": 65010}, state="updating", busy=busy) is Verified.IN_FLIGHT
    assert pc.landed({"asn": 1}, {"asn": 65010}, state="Deleting", busy=busy) is Verified.IN_FLIGHT
    assert pc.landed({"asn": 65010}, {"asn": 65010}, state="Succeeded", busy=busy) is Verified.LANDED


def test_a_change_renders_through_the_providers_hook() -> None:
    def describe(title: str, before: int, after: int) -> Reply:
        return Reply.plain(f"{title}: {before} → {after}")

    render = pc.changed_render(describe)
    reply = render(pc.Changed("bandwidth", 50, 100), Params(), context(None))
    assert reply.text == "bandwidth: 50 → 100"
