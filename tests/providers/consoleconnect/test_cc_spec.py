"""Console Connect's place in the catalog: its words, its settings, and which of its statuses
keep a watch polling fast or end it (spaces and underscores alike)."""

from __future__ import annotations

import pytest

from circuitbot.providers import catalog
from circuitbot.providers.consoleconnect.settings import ConsoleConnectSettings
from circuitbot.providers.consoleconnect.spec import SPEC
from circuitbot.sandbox.world import World


def test_it_is_in_the_catalog_under_its_name_and_alias() -> None:
    assert catalog.spec_of("cc") is SPEC and catalog.spec_of("consoleconnect") is SPEC
    assert catalog.canonical_name("CC") == "consoleconnect"


@pytest.mark.parametrize(
    "value",
    ["CREATING", "DELETING", "PROVISIONING", "DEPROVISIONING", "SYNCING", "PENDING", "PENDING ACCEPTANCE",
     "pending_acceptance"],
)  # fmt: skip
def test_what_is_moving_is_polled_fast(value: str) -> None:
    assert SPEC.vocabulary.is_transitional({"peering[PRIVATE].syncStatus": value})


@pytest.mark.parametrize("value", ["ACTIVE", "PROVISIONED", "NOT PROVISIONED", "NOT_PROVISIONED", "SYNCED"])
def test_what_is_settled_is_polled_slowly(value: str) -> None:
    assert not SPEC.vocabulary.is_transitional({"status": value})


def test_a_deleted_connection_ends_its_watch_once_nothing_moves() -> None:
    vocabulary = SPEC.vocabulary
    assert vocabulary.terminal_state({"status": "DELETED", "partnerPeering": "NOT PROVISIONED"}) == "DELETED"
    assert vocabulary.terminal_state({"status": "DELETING", "partnerPeering": "DEPROVISIONING"}) is None
    assert vocabulary.terminal_state({"status": "ACTIVE", "peering[PRIVATE].syncStatus": "DELETED"}) is None


def test_configured_only_with_a_key_and_a_company() -> None:
    assert not SPEC.configured(ConsoleConnectSettings(company="Acme"))
    assert not SPEC.configured(ConsoleConnectSettings(api_key=""))
    assert SPEC.configured(ConsoleConnectSettings(api_key="k", company="Acme"))


def test_sample_ids_are_the_worlds_console_connect_legs() -> None:
    samples = SPEC.sample_ids(World.demo())
    assert samples.present == (
        "507f1f77bcf86cd799439011",
        "5f1e2d3c4b5a69788796a5b4",
        "60a1b2c3d4e5f60718293a4b",
    )


async def test_the_probe_reads_the_companys_ports(client) -> None:  # type: ignore[no-untyped-def]
    assert await SPEC.probe(client) == "6 port(s) of Acme listed"
