"""The Equinix client against the simulator, in-process, for every operation on both generations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from equinix_support import (
    ABSENT,
    AZURE_PROFILE,
    DEMO_PROFILE,
    EUAP_NEW_KEY,
    FABRIKAM_KEY,
    FABRIKAM_PRIMARY,
    SEED_PORT,
    make_client,
)

from circuitbot.clock import FakeClock
from circuitbot.providers.equinix.client import EquinixClient
from circuitbot.providers.equinix.errors import EquinixError, NotFound
from circuitbot.providers.equinix.views import ConnectionFilter, Leg, Order
from circuitbot.sandbox.equinix import EquinixSimulator
from circuitbot.sandbox.world import World
from support.http import Recorder

GENERATIONS = ("v4", "v3")


@pytest.fixture
def sim(clock: FakeClock) -> EquinixSimulator:
    return EquinixSimulator(World.demo(extra_circuits=120, seed=3), clock, operation_seconds=6)


@pytest.fixture
def recorder(sim: EquinixSimulator) -> Recorder:
    return Recorder(sim.transport())


@pytest.fixture(params=GENERATIONS)
async def client(request, recorder: Recorder, clock: FakeClock) -> AsyncIterator[EquinixClient]:
    async with make_client(recorder, clock, request.param) as client:
        yield client


def sv_ports(sim: EquinixSimulator) -> tuple[str, str]:
    primary, secondary = [p.uuid for p in sim.state.ports.values() if p.metro == "DC"]
    return primary, secondary


async def test_ports_say_metro_ibx_bandwidth_encapsulation_priority_and_permission(
    client: EquinixClient,
) -> None:
    ports = {p.uuid: p for p in await client.ports()}
    seed = ports[SEED_PORT]
    assert (seed.metro, seed.ibx, seed.bandwidth_mbps, seed.encapsulation) == ("MX", "MX2", 10000, "QINQ")
    assert seed.priority == "PRIMARY" and seed.can_order is True
    assert {p.metro for p in ports.values()} == {"MX", "SV", "SE", "DC"}


async def test_metros_carry_their_cloud_reach(client: EquinixClient) -> None:
    metros = {m.code: m for m in await client.metros()}
    assert {"AM", "SV", "DC", "TR", "MX"} <= set(metros)
    assert metros["AM"].reach[:3] == ("LD", "FR", "PA") and metros["AM"].region == "EMEA"


async def test_a_remote_price_per_speed_in_the_ports_currency(client: EquinixClient) -> None:
    quote = await client.prices(SEED_PORT, "SV", [50, 1000])
    assert (quote.currency, quote.origin, quote.destination) == ("USD", "MX", "SV")
    assert [(t.speed_mbps, t.remote) for t in quote.tiers] == [(50, 230.0), (1000, 1280.0)]
    local = await client.prices(SEED_PORT, "MX", [50])
    assert [(t.speed_mbps, t.local) for t in local.tiers] == [(50, 0.0)]


async def test_profiles_all_and_by_metro_and_one(client: EquinixClient) -> None:
    everything = {p.uuid: p for p in await client.profiles()}
    azure = everything[AZURE_PROFILE]
    assert azure.redundancy_required and 1000 in azure.speeds_mbps and "SV" in azure.metros
    assert set(everything) == {AZURE_PROFILE, DEMO_PROFILE}
    in_amsterdam = await client.profiles(["AM"])
    assert [p.uuid for p in in_amsterdam] == [AZURE_PROFILE]
    one = await client.profile(DEMO_PROFILE)
    assert one.name == "John-Doe Demo" and one.speeds_mbps == (50, 200, 500, 1000)


async def test_a_service_key_azure_issued_validates(client: EquinixClient) -> None:
    checked = await client.validate(FABRIKAM_KEY, "SV", AZURE_PROFILE, None)
    assert checked.valid and "valid" in checked.message


async def test_an_unknown_key_is_refused_in_the_generations_own_way(client: EquinixClient) -> None:
    unknown = "11111111-2222-4333-8444-555555555555"
    if client.api_version == "v3":
        checked = await client.validate(unknown, "SV", AZURE_PROFILE, "AMER")
        assert not checked.valid and "not valid" in checked.message
        return
    with pytest.raises(EquinixError) as refused:
        await client.validate(unknown, "SV", AZURE_PROFILE, None)
    assert refused.value.status == 400 and refused.value.code == "EQ-2041022"


async def test_connections_come_from_every_page(
    client: EquinixClient, sim: EquinixSimulator, recorder: Recorder
) -> None:
    listed = await client.connections()
    assert len(listed) == len(sim.state.connections) > 100
    pages = recorder.sent("POST", "/connections/search") + recorder.sent("GET", "/buyer/connections")
    assert len(pages) == -(-len(listed) // 100) >= 2  # 100 a page
    if client.api_version == "v3":
        assert [r.url.params["pageNumber"] for r in pages] == [str(n) for n in range(len(pages))]


async def test_connections_filter_by_metro_key_port_and_status(client: EquinixClient) -> None:
    by_key = await client.connections(ConnectionFilter(key=FABRIKAM_KEY))
    assert {c.redundancy for c in by_key} == {"PRIMARY", "SECONDARY"}
    assert all(c.authorization_key == FABRIKAM_KEY for c in by_key)
    in_sv = await client.connections(ConnectionFilter(metro="SV"))
    assert in_sv and {c.metro for c in in_sv} == {"SV"}
    port = by_key[0].port_uuid
    assert all(c.port_uuid == port for c in await client.connections(ConnectionFilter(port=port)))
    provisioning = await client.connections(ConnectionFilter(statuses=("PROVISIONING",)))
    assert provisioning and all(c.status == "PROVISIONING" for c in provisioning)


async def test_show_has_the_generations_own_states(client: EquinixClient) -> None:
    shown = await client.connection(FABRIKAM_PRIMARY.upper())
    assert shown.name == "Fabrikam-SV-ER-PRI" and shown.speed_mbps == 1000 and shown.seller_metro == "SV"
    if client.api_version == "v4":
        assert shown.states == {
            "state": "PROVISIONED",
            "equinixStatus": "PROVISIONED",
            "providerStatus": "AVAILABLE",
        }
    else:
        assert shown.states == {"status": "PROVISIONED", "providerStatus": "AVAILABLE"}
    with pytest.raises(NotFound):
        await client.connection(ABSENT)
    assert await client.find_connection(ABSENT) is None


async def test_port_stats_give_max_mean_and_points(client: EquinixClient) -> None:
    stats = await client.port_stats(SEED_PORT, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")
    assert stats.inbound.max is not None and stats.inbound.mean is not None
    assert stats.inbound.max >= stats.inbound.mean > 0 and len(stats.outbound.points) >= 24
    assert stats.unit == ("Mbps" if client.api_version == "v4" else None)


def order(sim: EquinixSimulator, name: str = "Contoso-DC-ER", vlan: int = 900) -> Order:
    primary, secondary = sv_ports(sim)
    return Order(
        profile_uuid=AZURE_PROFILE,
        metro="DC",
        speed_mbps=200,
        authorization_key=EUAP_NEW_KEY,
        peering="PRIVATE",
        notifications=("noc@contoso.example",),
        primary=Leg(primary, vlan, name),
        secondary=Leg(secondary, vlan, f"{name}-SEC"),
    )


async def test_an_order_provisions_then_a_delete_deprovisions(
    client: EquinixClient, clock: FakeClock, sim: EquinixSimulator
) -> None:
    ordered = await client.create(order(sim))
    assert ordered.secondary
    primary = await client.connection(ordered.primary)
    assert primary.status == "PROVISIONING" and primary.provider_status == "NOT_AVAILABLE"
    secondary = await client.connection(ordered.secondary)
    assert secondary.redundancy == "SECONDARY" and secondary.redundancy_group == primary.redundancy_group

    await clock.advance(6)
    primary = await client.connection(ordered.primary)
    assert (primary.status, primary.provider_status) == ("PROVISIONED", "AVAILABLE")

    await client.delete(ordered.primary)
    assert (await client.connection(ordered.primary)).status == "DEPROVISIONING"
    await clock.advance(3)
    halfway = await client.connection(ordered.primary)
    assert (halfway.status, halfway.provider_status) == ("DEPROVISIONING", "DEPROVISIONED")
    await clock.advance(3)
    assert (await client.connection(ordered.primary)).status == "DEPROVISIONED"


async def test_deleting_a_connection_already_gone(
    client: EquinixClient, clock: FakeClock, sim: EquinixSimulator
) -> None:
    ordered = await client.create(order(sim))
    await clock.advance(6)
    await client.delete(ordered.primary)
    await clock.advance(6)
    if client.api_version == "v4":
        await client.delete(ordered.primary)  # EQ-3142509: already deleted counts as done
        return
    with pytest.raises(EquinixError) as refused:
        await client.delete(ordered.primary)
    assert "already deleted" in refused.value.message


async def test_an_order_with_a_vlan_in_use_is_refused_with_equinixs_words(
    client: EquinixClient, sim: EquinixSimulator
) -> None:
    await client.create(order(sim))
    with pytest.raises(EquinixError) as refused:
        await client.create(order(sim, name="Again"))
    assert refused.value.status == 400
    assert "duplicate buyer-side VLAN ID 900" in refused.value.message
    assert "EQ-3142102" in refused.value.codes


async def test_v3_answers_several_errors_at_once(
    sim: EquinixSimulator, recorder: Recorder, clock: FakeClock
) -> None:
    async with make_client(recorder, clock, "v3") as client:
        bad = Order(AZURE_PROFILE, "DC", 123, "not-a-key", "PRIVATE", ("a@b.example",), Leg(ABSENT, 1, ""))
        with pytest.raises(EquinixError) as refused:
            await client.create(bad)
    error = refused.value
    assert len(error.errors) >= 4 and {"bandwidth", "authenticationKey", "name"} <= {
        e.property for e in error.errors
    }
    assert (
        "Speed 123 Mbps is not offered" in error.message
        and "VLAN tag must be between 2 and 4092" in error.message
    )


async def test_the_v4_search_asks_for_uuids_in_an_in_filter_100_a_page(
    sim: EquinixSimulator, recorder: Recorder, clock: FakeClock
) -> None:
    uuids = sorted(sim.state.connections)[:150]
    async with make_client(recorder, clock, "v4") as client:
        found = await client.v4.connections_by_uuid(uuids)
    assert sorted(item["uuid"] for item in found) == uuids
    searches = recorder.sent("POST", "/connections/search")
    assert len(searches) == 2
    first = json.loads(searches[0].content)
    assert first["filter"]["and"][0] == {"property": "/uuid", "operator": "IN", "values": uuids[:100]}
    assert first["pagination"] == {"offset": 0, "limit": 100}
