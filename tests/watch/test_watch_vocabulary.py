"""The state vocabulary every provider's snapshot is read with, and snapshot comparison."""

from __future__ import annotations

import pytest
from watch_support import FakePoller

from circuitbot.providers.base import Poller, is_terminal, is_transitional, snapshot_of, terminal_state
from circuitbot.watch.snapshots import diff, summary


@pytest.mark.parametrize(
    "state",
    ["Updating", "Provisioning", "PROVISIONING", "CREATING", "Allocating", "SYNCING", "DEPROVISIONING",
     "PENDING_APPROVAL", "PENDING ACCEPTANCE", "Terminating", "deleting", "Configuring",
     "ValidationNeeded"],
)  # fmt: skip
def test_states_in_flight_are_transitional(state: str) -> None:
    assert is_transitional({"status": state})
    assert not is_terminal({"status": state})


@pytest.mark.parametrize(
    "state", ["Succeeded", "Provisioned", "NotProvisioned", "ACTIVE", "Enabled", "Allocated", "PROVISIONED"]
)
def test_stable_states_are_neither(state: str) -> None:
    assert not is_transitional({"status": state})
    assert not is_terminal({"status": state})


@pytest.mark.parametrize("state", ["Deprovisioned", "DELETED", "Terminated", "Canceled", "CANCELLED"])
def test_end_states_are_terminal(state: str) -> None:
    assert terminal_state({"provisioningState": "Succeeded", "status": state}) == state


def test_only_the_resource_itself_ends_a_watch_and_not_while_it_is_still_moving() -> None:
    assert not is_terminal({"status": "ACTIVE", "peering[AzurePrivatePeering].state": "Deleted"})
    assert is_transitional({"status": "ACTIVE", "peering[x].syncStatus": "SYNCING"})
    # Equinix v4: the provider side is done, Equinix's own side is not yet.
    assert not is_terminal({"equinixStatus": "DEPROVISIONING", "providerStatus": "DEPROVISIONED"})
    assert is_terminal({"equinixStatus": "DEPROVISIONED", "providerStatus": "DEPROVISIONED"})


def test_snapshots_are_flat_strings() -> None:
    assert snapshot_of({"Status": "Enabled", "Bandwidth": 1000, "Gone": None, "Empty": ""}) == {
        "Status": "Enabled",
        "Bandwidth": "1000",
    }


def test_a_diff_lists_the_resource_first_then_its_parts() -> None:
    old = {"status": "PROVISIONING", "peering[b].state": "Enabled", "peering[a].state": "Enabled"}
    new = {"status": "PROVISIONED", "peering[a].state": "Disabled", "peering[c].state": "Enabled"}
    changes = diff(old, new)
    assert [c.field for c in changes] == [
        "status",
        "peering[a].state",
        "peering[b].state",
        "peering[c].state",
    ]
    assert summary(changes) == (
        "status: PROVISIONING → PROVISIONED; peering[a].state: Enabled → Disabled; "
        "peering[b].state: Enabled → —; peering[c].state: — → Enabled"
    )
    assert diff(new, dict(new)) == []


def test_the_fake_provider_is_a_poller() -> None:
    assert isinstance(FakePoller(), Poller)
