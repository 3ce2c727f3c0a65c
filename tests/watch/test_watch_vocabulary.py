"""Each provider's state vocabulary, the generic one pollers without a spec are read with, and
snapshot comparison."""

from __future__ import annotations

from datetime import timedelta

import pytest
from watch_support import FakePoller, poll_when_due

from circuitbot.actions.registry import WatchTarget
from circuitbot.clock import FakeClock
from circuitbot.providers.base import (
    GENERIC_VOCABULARY,
    NormalizingPoller,
    Poller,
    StateVocabulary,
    SweepingPoller,
    snapshot_of,
)
from circuitbot.runtime import Runtime
from circuitbot.watch.engine import WatchEngine
from circuitbot.watch.snapshots import diff, summary

vocabulary = GENERIC_VOCABULARY


def is_terminal(snapshot: dict[str, str]) -> bool:
    return vocabulary.terminal_state(snapshot) is not None


@pytest.mark.parametrize(
    "state",
    ["Updating", "Provisioning", "PROVISIONING", "CREATING", "Allocating", "SYNCING", "DEPROVISIONING",
     "PENDING_APPROVAL", "PENDING ACCEPTANCE", "Terminating", "deleting", "Configuring",
     "ValidationNeeded"],
)  # fmt: skip
def test_states_in_flight_are_transitional(state: str) -> None:
    assert vocabulary.is_transitional({"status": state})
    assert not is_terminal({"status": state})


@pytest.mark.parametrize(
    "state", ["Succeeded", "Provisioned", "NotProvisioned", "ACTIVE", "Enabled", "Allocated", "PROVISIONED"]
)
def test_stable_states_are_neither(state: str) -> None:
    assert not vocabulary.is_transitional({"status": state})
    assert not is_terminal({"status": state})


@pytest.mark.parametrize("state", ["Deprovisioned", "DELETED", "Terminated", "Canceled", "CANCELLED"])
def test_end_states_are_terminal(state: str) -> None:
    assert vocabulary.terminal_state({"provisioningState": "Succeeded", "status": state}) == state


def test_only_the_resource_itself_ends_a_watch_and_not_while_it_is_still_moving() -> None:
    assert not is_terminal({"status": "ACTIVE", "peering[AzurePrivatePeering].state": "Deleted"})
    assert vocabulary.is_transitional({"status": "ACTIVE", "peering[x].syncStatus": "SYNCING"})
    # Equinix v4: the provider side is done, Equinix's own side is not yet.
    assert not is_terminal({"equinixStatus": "DEPROVISIONING", "providerStatus": "DEPROVISIONED"})
    assert is_terminal({"equinixStatus": "DEPROVISIONED", "providerStatus": "DEPROVISIONED"})


def test_a_vocabulary_reads_only_its_own_states() -> None:
    equinix = StateVocabulary(
        in_flight=frozenset({"provisioning"}),
        terminal=frozenset({"deprovisioned"}),
        in_flight_prefixes=("pending",),
    )
    assert equinix.is_transitional({"equinixStatus": "PENDING_INTERFACE_CONFIGURATION"})
    assert not equinix.is_transitional({"equinixStatus": "UPDATING"})  # generic, not Equinix's
    assert equinix.terminal_state({"equinixStatus": "DELETED"}) is None
    assert equinix == StateVocabulary(
        in_flight=frozenset({"provisioning"}),
        terminal=frozenset({"deprovisioned"}),
        in_flight_prefixes=("pending",),
    )


async def test_each_provider_is_polled_by_its_own_vocabulary(
    runtime: Runtime, engine: WatchEngine, poller: FakePoller, clock: FakeClock
) -> None:
    """ "Allocating" is in flight for one provider, stable for the other: fast and slow polls."""
    equinix = FakePoller("equinix")
    runtime.pollers["equinix"] = equinix
    runtime.vocabularies = {
        "azure": StateVocabulary(in_flight=frozenset({"allocating"}), terminal=frozenset({"deleted"})),
        "equinix": StateVocabulary(
            in_flight=frozenset({"provisioning"}), terminal=frozenset({"deprovisioned"})
        ),
    }
    poller.set("xc1", status="Allocating")
    equinix.set("eq1", status="Allocating")
    azure_watch = await engine.watch(WatchTarget("azure", "xc1"), "COPS", created_by="UREQ")
    equinix_watch = await engine.watch(WatchTarget("equinix", "eq1"), "COPS", created_by="UREQ")
    settings = runtime.settings.watch
    assert azure_watch.next_poll_at == clock.now() + timedelta(seconds=settings.fast_interval_seconds)
    assert equinix_watch.next_poll_at == clock.now() + timedelta(seconds=settings.slow_interval_seconds)

    assert (await poll_when_due(engine, clock, settings.fast_interval_seconds)).claimed == 1
    assert (poller.read["xc1"], equinix.read["eq1"]) == (2, 1)  # read when watched, then polled


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


def test_the_fake_provider_is_a_poller_without_the_optional_members() -> None:
    assert isinstance(FakePoller(), Poller)
    assert not isinstance(FakePoller(), SweepingPoller)
    assert not isinstance(FakePoller(), NormalizingPoller)
