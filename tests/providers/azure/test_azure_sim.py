"""The Azure ARM simulator's own rules, spoken to over plain HTTP (no provider client)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from circuitbot.clock import FakeClock
from circuitbot.providers.catalog import spec_of
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.world import World

SUB = "11111111-2222-3333-4444-555555555555"
API = {"api-version": "2025-07-01"}
PORTS_API = {"api-version": "2025-05-01"}
NET = f"/subscriptions/{SUB}/providers/Microsoft.Network"
EUAP_GROUP = f"/subscriptions/{SUB}/resourceGroups/CrossConnection-EUAPTest/providers/Microsoft.Network"
SV_GROUP = f"/subscriptions/{SUB}/resourceGroups/CrossConnection-SiliconValley/providers/Microsoft.Network"

NOT_PROVISIONED_KEY = "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f"  # seed 001, EUAP Test, no peerings
PROVISIONED_KEY = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"  # EUAP Test, private peering
FABRIKAM_KEY = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"  # SiliconValley, 1000 Mbps on bvtazureixpportpair1

NOT_PROVISIONED = f"{EUAP_GROUP}/expressRouteCrossConnections/{NOT_PROVISIONED_KEY}"
PROVISIONED = f"{EUAP_GROUP}/expressRouteCrossConnections/{PROVISIONED_KEY}"
FABRIKAM = f"{SV_GROUP}/expressRouteCrossConnections/{FABRIKAM_KEY}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world() -> World:
    return World.demo()


@pytest.fixture
def sim(world: World, clock: FakeClock) -> AzureSimulator:
    return AzureSimulator(world, clock, operation_seconds=30, table_seconds=5, page_size=4)


@pytest.fixture
async def arm(sim: AzureSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=sim.transport(),
        base_url="https://management.azure.com",
        headers={"Authorization": "Bearer anything-goes"},
    ) as client:
        yield client


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


async def get_json(arm: httpx.AsyncClient, url: str, params: dict[str, str] | None = None) -> Any:
    response = await arm.get(url, params=API if params is None else params)
    assert response.status_code == 200, response.text
    return response.json()


def test_registry_finds_the_azure_simulator() -> None:
    assert spec_of("azure").simulator_class is AzureSimulator


# --- ARM basics ---------------------------------------------------------------------------------


async def test_requests_without_a_bearer_token_get_authentication_failed(sim: AzureSimulator) -> None:
    async with httpx.AsyncClient(transport=sim.transport(), base_url="https://management.azure.com") as bare:
        missing = await bare.get(f"{NET}/expressRouteCrossConnections", params=API)
        malformed = await bare.get(
            f"{NET}/expressRouteCrossConnections", params=API, headers={"Authorization": "Basic abc"}
        )
    assert missing.status_code == 401
    assert error_code(missing) == "AuthenticationFailed"
    assert "missing" in missing.json()["error"]["message"]
    assert malformed.status_code == 401
    assert error_code(malformed) == "AuthenticationFailed"


async def test_any_subscription_id_is_served_under_its_own_ids(arm: httpx.AsyncClient) -> None:
    other = "99999999-0000-0000-0000-000000000000"
    body = await get_json(
        arm, f"/subscriptions/{other}/providers/Microsoft.Network/expressRouteCrossConnections"
    )
    assert body["value"]
    assert all(item["id"].startswith(f"/subscriptions/{other}/resourceGroups/") for item in body["value"])


async def test_api_version_is_required(arm: httpx.AsyncClient) -> None:
    response = await arm.get(f"{NET}/expressRouteCrossConnections")
    assert response.status_code == 400
    assert error_code(response) == "MissingApiVersionParameter"


# --- cross-connections: listing and reading -----------------------------------------------------


async def test_list_pages_with_next_link_until_every_cross_connection_is_seen(
    clock: FakeClock,
) -> None:
    world = World.demo(extra_circuits=7, seed=3)
    sim = AzureSimulator(world, clock, page_size=4)
    async with httpx.AsyncClient(
        transport=sim.transport(),
        base_url="https://management.azure.com",
        headers={"Authorization": "Bearer t"},
    ) as arm:
        page = await get_json(arm, f"{NET}/expressRouteCrossConnections")
        names = [item["name"] for item in page["value"]]
        pages = 1
        while "nextLink" in page:
            assert page["nextLink"].startswith("https://management.azure.com/")
            response = await arm.get(page["nextLink"])
            page = response.json()
            names += [item["name"] for item in page["value"]]
            pages += 1
    assert len(names) == len(set(names)) == len(world.circuits) == 13
    assert pages == 4


def test_lists_page_a_hundred_items_unless_told_otherwise(world: World, clock: FakeClock) -> None:
    assert AzureSimulator(world, clock).page_size == 100
    with pytest.raises(ValueError):
        AzureSimulator(world, clock, page_size=0)


async def test_a_page_renders_only_its_own_items(clock: FakeClock, monkeypatch) -> None:
    world = World.demo(extra_circuits=7, seed=3)
    sim = AzureSimulator(world, clock, page_size=4)
    rendered: list[str] = []
    render = sim._render

    def counting(cross_connection, subscription_id: str) -> dict[str, Any]:
        rendered.append(cross_connection.name)
        return render(cross_connection, subscription_id)

    monkeypatch.setattr(sim, "_render", counting)
    async with httpx.AsyncClient(
        transport=sim.transport(),
        base_url="https://management.azure.com",
        headers={"Authorization": "Bearer t"},
    ) as arm:
        first = await get_json(arm, f"{NET}/expressRouteCrossConnections")
        assert rendered == [item["name"] for item in first["value"]] and len(rendered) == 4
        rendered.clear()
        second = (await arm.get(first["nextLink"])).json()
    assert rendered == [item["name"] for item in second["value"]] and len(rendered) == 4


async def test_a_skip_token_stays_valid_while_circuits_change_state(clock: FakeClock) -> None:
    world = World.demo(extra_circuits=7, seed=3)
    sim = AzureSimulator(world, clock, page_size=4)
    async with httpx.AsyncClient(
        transport=sim.transport(),
        base_url="https://management.azure.com",
        headers={"Authorization": "Bearer t"},
    ) as arm:
        page = await get_json(arm, f"{NET}/expressRouteCrossConnections")
        seen = [item["name"] for item in page["value"]]
        later = sorted(set(c.service_key for c in world.circuits) - set(seen))
        # circuits on either side of the token change between pages, as they do during a sweep
        sim.cross_connection(seen[0]).provider_state = "Deprovisioning"
        sim.cross_connection(later[0]).provider_state = "Deprovisioning"
        states: dict[str, str] = {}
        while "nextLink" in page:
            page = (await arm.get(page["nextLink"])).json()
            seen += [item["name"] for item in page["value"]]
            for item in page["value"]:
                states[item["name"]] = item["properties"]["serviceProviderProvisioningState"]
    assert sorted(seen) == sorted(c.service_key for c in world.circuits)  # each once, none missed
    assert states[later[0]] == "Deprovisioning"


async def test_list_filters_by_name(arm: httpx.AsyncClient) -> None:
    body = await get_json(
        arm,
        f"{NET}/expressRouteCrossConnections",
        {**API, "$filter": f"name eq '{NOT_PROVISIONED_KEY.upper()}'"},
    )
    assert [item["name"] for item in body["value"]] == [NOT_PROVISIONED_KEY]
    bad = await arm.get(
        f"{NET}/expressRouteCrossConnections", params={**API, "$filter": "startswith(name,'a')"}
    )
    assert bad.status_code == 400
    assert error_code(bad) == "InvalidFilterInQueryString"


async def test_cross_connections_live_in_crossconnection_location_groups(arm: httpx.AsyncClient) -> None:
    body = await get_json(arm, f"{EUAP_GROUP}/expressRouteCrossConnections")
    assert {item["name"] for item in body["value"]} == {NOT_PROVISIONED_KEY, PROVISIONED_KEY}
    assert all(item["properties"]["peeringLocation"] == "EUAP Test" for item in body["value"])
    missing_group = await arm.get(
        f"/subscriptions/{SUB}/resourceGroups/CrossConnection-Nowhere/providers/Microsoft.Network/"
        "expressRouteCrossConnections",
        params=API,
    )
    assert missing_group.status_code == 404
    assert error_code(missing_group) == "ResourceGroupNotFound"


async def test_get_shows_the_seed_document_cross_connection(arm: httpx.AsyncClient) -> None:
    body = await get_json(arm, NOT_PROVISIONED)
    assert body["type"] == "Microsoft.Network/expressRouteCrossConnections"
    assert body["location"] == "eastus2euap"
    assert body["etag"].startswith('W/"')
    properties = body["properties"]
    assert properties["serviceProviderProvisioningState"] == "NotProvisioned"
    assert properties["primaryAzurePort"] == "EUAP-ARMTEST-06GMR-CIS-1-PRI-A"
    assert properties["secondaryAzurePort"] == "EUAP-ARMTEST-06GMR-CIS-2-SEC-A"
    assert properties["sTag"] == 3
    assert properties["bandwidthInMbps"] == 200
    assert properties["expressRouteCircuit"]["id"].endswith("/expressRouteCircuits/TestCircuitXYZ")
    unknown = await arm.get(f"{EUAP_GROUP}/expressRouteCrossConnections/00000000-dead", params=API)
    assert unknown.status_code == 404
    assert error_code(unknown) == "ResourceNotFound"


# --- cross-connection PUT -----------------------------------------------------------------------


async def test_put_answers_updating_with_async_operation_then_completes_on_the_clock(
    arm: httpx.AsyncClient, clock: FakeClock
) -> None:
    body = await get_json(arm, NOT_PROVISIONED)
    first_etag = body["etag"]
    body["properties"]["serviceProviderProvisioningState"] = "Provisioned"
    response = await arm.put(NOT_PROVISIONED, params=API, json=body)
    assert response.status_code == 200
    assert response.headers["Retry-After"] == "10"
    operation_url = response.headers["Azure-AsyncOperation"]
    assert "/providers/Microsoft.Network/locations/eastus2euap/operations/" in operation_url
    updating = response.json()
    assert updating["properties"]["provisioningState"] == "Updating"
    assert updating["properties"]["serviceProviderProvisioningState"] == "Provisioned"
    assert updating["etag"] != first_etag

    await clock.advance(29)
    assert (await arm.get(operation_url)).json() == {"status": "InProgress"}
    assert (await get_json(arm, NOT_PROVISIONED))["properties"]["provisioningState"] == "Updating"
    await clock.advance(1)
    assert (await arm.get(operation_url)).json() == {"status": "Succeeded"}
    done = await get_json(arm, NOT_PROVISIONED)
    assert done["properties"]["provisioningState"] == "Succeeded"
    assert done["etag"] not in (first_etag, updating["etag"])


async def test_put_accepts_the_seed_documents_body_with_a_display_location(arm: httpx.AsyncClient) -> None:
    # seed 001's PUT: only the writable fields plus the ones the service insists on
    body = {
        "properties": {
            "serviceProviderProvisioningState": "Provisioned",
            "peeringLocation": "EUAP Test",
            "expressRouteCircuit": {
                "id": (await get_json(arm, NOT_PROVISIONED))["properties"]["expressRouteCircuit"]["id"]
            },
            "bandwidthInMbps": 200,
        },
        "location": "East US 2 EUAP",
    }
    response = await arm.put(NOT_PROVISIONED, params=API, json=body)
    assert response.status_code == 200, response.text
    # the ports were left out: no move
    assert response.json()["properties"]["primaryAzurePort"] == "EUAP-ARMTEST-06GMR-CIS-1-PRI-A"


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target = changed
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return changed


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (("location",), "LocationRequired"),
        (
            ("properties", "expressRouteCircuit"),
            "ExpressRouteCircuitReferenceInCrossConnectionCannotBeModified",
        ),
        (("properties", "peeringLocation"), "PeeringLocationInCrossConnectionCannotBeModified"),
        (("properties", "bandwidthInMbps"), "BandwidthInCrossConnectionCannotBeModified"),
    ],
)
async def test_put_without_a_field_the_service_insists_on_is_refused(
    arm: httpx.AsyncClient, path: tuple[str, ...], code: str
) -> None:
    body = await get_json(arm, NOT_PROVISIONED)
    body["properties"]["serviceProviderProvisioningState"] = "Provisioned"
    response = await arm.put(NOT_PROVISIONED, params=API, json=_without(body, *path))
    assert response.status_code == 400
    assert error_code(response) == code
    assert (await get_json(arm, NOT_PROVISIONED))["properties"][
        "serviceProviderProvisioningState"
    ] == "NotProvisioned"


async def test_put_with_only_the_changed_property_fails_like_the_real_service(arm: httpx.AsyncClient) -> None:
    # azure-rest-api-specs#27436: the spec's own example body
    response = await arm.put(
        NOT_PROVISIONED, params=API, json={"properties": {"serviceProviderProvisioningState": "Provisioned"}}
    )
    assert error_code(response) == "LocationRequired"
    with_location = await arm.put(
        NOT_PROVISIONED,
        params=API,
        json={"properties": {"serviceProviderProvisioningState": "Provisioned"}, "location": "eastus2euap"},
    )
    assert error_code(with_location) == "ExpressRouteCircuitReferenceInCrossConnectionCannotBeModified"
    assert "to null" in with_location.json()["error"]["message"]


async def test_put_rejects_bad_values(arm: httpx.AsyncClient) -> None:
    body = await get_json(arm, NOT_PROVISIONED)
    body["properties"]["serviceProviderProvisioningState"] = "Done"
    assert (
        error_code(await arm.put(NOT_PROVISIONED, params=API, json=body))
        == "InvalidServiceProviderProvisioningState"
    )
    body = await get_json(arm, NOT_PROVISIONED)
    body["location"] = "westeurope"
    assert error_code(await arm.put(NOT_PROVISIONED, params=API, json=body)) == "InvalidResourceLocation"
    not_json = await arm.put(
        NOT_PROVISIONED, params=API, content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert error_code(not_json) == "InvalidRequestContent"


async def test_if_match_must_name_the_current_etag(arm: httpx.AsyncClient) -> None:
    body = await get_json(arm, NOT_PROVISIONED)
    body["properties"]["serviceProviderNotes"] = "first"
    stale = await arm.put(NOT_PROVISIONED, params=API, json=body, headers={"If-Match": 'W/"stale"'})
    assert stale.status_code == 412
    assert error_code(stale) == "PreconditionFailed"
    current = await arm.put(NOT_PROVISIONED, params=API, json=body, headers={"If-Match": body["etag"]})
    assert current.status_code == 200
    # the etag from before this write no longer matches
    patch = await arm.patch(
        NOT_PROVISIONED, params=API, json={"tags": {"a": "b"}}, headers={"If-Match": body["etag"]}
    )
    assert patch.status_code == 412
    star = await arm.patch(NOT_PROVISIONED, params=API, json={"tags": {"a": "b"}}, headers={"If-Match": "*"})
    assert star.status_code == 200


async def test_a_second_put_while_updating_is_refused(arm: httpx.AsyncClient, clock: FakeClock) -> None:
    body = await get_json(arm, NOT_PROVISIONED)
    assert (await arm.put(NOT_PROVISIONED, params=API, json=body)).status_code == 200
    again = await arm.put(NOT_PROVISIONED, params=API, json=body)
    assert again.status_code == 409
    assert error_code(again) == "AnotherOperationInProgress"
    await clock.advance(30)
    assert (await arm.put(NOT_PROVISIONED, params=API, json=body)).status_code == 200


async def test_patch_sets_tags_and_changes_the_etag(arm: httpx.AsyncClient) -> None:
    before = await get_json(arm, NOT_PROVISIONED)
    response = await arm.patch(NOT_PROVISIONED, params=API, json={"tags": {"tag1": "value1"}})
    assert response.status_code == 200
    assert response.json()["tags"] == {"tag1": "value1"}
    assert response.json()["etag"] != before["etag"]
    bad = await arm.patch(NOT_PROVISIONED, params=API, json={"tags": {"n": 1}})
    assert error_code(bad) == "InvalidRequestFormat"


async def test_failed_operations_leave_provisioning_state_failed(
    arm: httpx.AsyncClient, sim: AzureSimulator, clock: FakeClock
) -> None:
    sim.fail_next_operations(code="InternalServerError", message="device unreachable")
    body = await get_json(arm, NOT_PROVISIONED)
    response = await arm.put(NOT_PROVISIONED, params=API, json=body)
    await clock.advance(30)
    status = (await arm.get(response.headers["Azure-AsyncOperation"])).json()
    assert status == {
        "status": "Failed",
        "error": {"code": "InternalServerError", "message": "device unreachable"},
    }
    assert (await get_json(arm, NOT_PROVISIONED))["properties"]["provisioningState"] == "Failed"


# --- port pairs and moves -----------------------------------------------------------------------


async def port(arm: httpx.AsyncClient, descriptor: str) -> dict[str, Any]:
    return (await get_json(arm, f"{NET}/expressRouteProviderPorts/{descriptor}", PORTS_API))["properties"]


async def test_provider_ports_list_in_both_documented_query_forms(arm: httpx.AsyncClient) -> None:
    everything = await get_json(arm, f"{NET}/expressRouteProviderPorts", PORTS_API)
    assert len(everything["value"]) == 4
    by_filter = await get_json(
        arm, f"{NET}/expressRouteProviderPorts", {**PORTS_API, "$filter": "location eq 'SiliconValley'"}
    )
    by_query = await get_json(
        arm, f"{NET}/expressRouteProviderPorts", {**PORTS_API, "location": "SiliconValley"}
    )
    assert by_filter == by_query
    assert {p["properties"]["portPairDescriptor"] for p in by_filter["value"]} == {
        "bvtazureixpportpair1",
        "bvtazureixpportpair3",
    }
    # the docs spell it "seattle"
    seattle = await get_json(arm, f"{NET}/expressRouteProviderPorts", {**PORTS_API, "location": "seattle"})
    assert [p["name"] for p in seattle["value"]] == ["bvtazureixpportpair2"]
    unknown = await arm.get(f"{NET}/expressRouteProviderPorts", params={**PORTS_API, "location": "Atlantis"})
    assert unknown.status_code == 400


async def test_provider_port_get_answers_an_object_or_204(arm: httpx.AsyncClient) -> None:
    pair1 = await get_json(arm, f"{NET}/expressRouteProviderPorts/bvtazureixpportpair1", PORTS_API)
    assert pair1["type"] == "Microsoft.Network/expressRouteProviderPort"
    assert pair1["properties"] == {
        "portPairDescriptor": "bvtazureixpportpair1",
        "primaryAzurePort": "bvtazureixp01a",
        "secondaryAzurePort": "bvtazureixp01b",
        "peeringLocation": "SiliconValley",
        "overprovisionFactor": 4,
        "portBandwidthInMbps": 4000,
        "usedBandwidthInMbps": 1000,
        "remainingBandwidthInMbps": 3000,
    }
    missing = await arm.get(f"{NET}/expressRouteProviderPorts/nosuchpair", params=PORTS_API)
    assert missing.status_code == 204
    assert missing.content == b""


async def move_body(arm: httpx.AsyncClient, url: str, primary: str, secondary: str) -> dict[str, Any]:
    body = await get_json(arm, url)
    body["properties"]["primaryAzurePort"] = primary
    body["properties"]["secondaryAzurePort"] = secondary
    return body


async def test_a_move_shifts_bandwidth_between_port_pairs(arm: httpx.AsyncClient) -> None:
    before_old, before_new = await port(arm, "bvtazureixpportpair1"), await port(arm, "bvtazureixpportpair3")
    response = await arm.put(
        FABRIKAM, params=API, json=await move_body(arm, FABRIKAM, "bvtazureixp03a", "bvtazureixp03b")
    )
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["primaryAzurePort"] == "bvtazureixp03a"
    after_old, after_new = await port(arm, "bvtazureixpportpair1"), await port(arm, "bvtazureixpportpair3")
    assert after_old["usedBandwidthInMbps"] == before_old["usedBandwidthInMbps"] - 1000
    assert after_old["remainingBandwidthInMbps"] == before_old["remainingBandwidthInMbps"] + 1000
    assert after_new["usedBandwidthInMbps"] == before_new["usedBandwidthInMbps"] + 1000
    assert after_new["remainingBandwidthInMbps"] == before_new["remainingBandwidthInMbps"] - 1000


async def test_a_move_to_another_location_or_an_unknown_pair_is_refused(arm: httpx.AsyncClient) -> None:
    seattle = await arm.put(
        FABRIKAM, params=API, json=await move_body(arm, FABRIKAM, "bvtazureixp02a", "bvtazureixp02b")
    )
    assert seattle.status_code == 400
    assert error_code(seattle) == "PortPairPeeringLocationMismatch"
    mixed = await arm.put(
        FABRIKAM, params=API, json=await move_body(arm, FABRIKAM, "bvtazureixp03a", "bvtazureixp01b")
    )
    assert error_code(mixed) == "InvalidPortPair"
    assert (await port(arm, "bvtazureixpportpair1"))["usedBandwidthInMbps"] == 1000


async def test_a_move_to_a_pair_without_room_is_refused(clock: FakeClock) -> None:
    world = World.demo()
    big = dataclasses.replace(
        world.circuit(FABRIKAM_KEY),
        service_key="eeee5e5e-0000-4000-8000-000000000001",
        bandwidth_mbps=2500,
        port_pair="bvtazureixpportpair3",
        legs=(),
        peerings=(),
    )
    world.circuits.append(big)  # pair3: Woodgrove 1000 + 2500 = 3500 used, 500 left
    sim = AzureSimulator(world, clock)
    async with httpx.AsyncClient(
        transport=sim.transport(),
        base_url="https://management.azure.com",
        headers={"Authorization": "Bearer t"},
    ) as arm:
        assert (await port(arm, "bvtazureixpportpair3"))["remainingBandwidthInMbps"] == 500
        response = await arm.put(
            FABRIKAM, params=API, json=await move_body(arm, FABRIKAM, "bvtazureixp03a", "bvtazureixp03b")
        )
    assert response.status_code == 400
    assert error_code(response) == "InsufficientPortPairBandwidth"


# --- peerings -----------------------------------------------------------------------------------

MICROSOFT_PEERING = {
    "properties": {
        "peeringType": "MicrosoftPeering",
        "peerASN": 900,
        "primaryPeerAddressPrefix": "203.0.113.0/30",
        "secondaryPeerAddressPrefix": "203.0.113.4/30",
        "vlanId": 300,
        "microsoftPeeringConfig": {
            "advertisedPublicPrefixes": ["203.0.113.128/25"],
            "customerASN": 45,
            "routingRegistryName": "ARIN",
        },
    },
    "name": "MicrosoftPeering",
}


async def test_peering_create_goes_from_disabled_to_enabled(arm: httpx.AsyncClient, clock: FakeClock) -> None:
    parent_etag = (await get_json(arm, PROVISIONED))["etag"]
    url = f"{PROVISIONED}/peerings/MicrosoftPeering"
    response = await arm.put(url, params=API, json=MICROSOFT_PEERING)
    assert response.status_code == 201
    assert "Azure-AsyncOperation" in response.headers
    created = response.json()["properties"]
    assert created["provisioningState"] == "Updating"
    assert created["state"] == "Disabled"
    assert created["azureASN"] == 0
    assert created["lastModifiedBy"] == ""
    assert created["microsoftPeeringConfig"]["advertisedPublicPrefixesState"] == "NotConfigured"

    await clock.advance(30)
    assert (await arm.get(response.headers["Azure-AsyncOperation"])).json()["status"] == "Succeeded"
    done = (await get_json(arm, url))["properties"]
    assert done["provisioningState"] == "Succeeded"
    assert done["state"] == "Enabled"
    assert done["azureASN"] == 12076
    assert done["lastModifiedBy"] == "ServiceProvider"
    assert done["microsoftPeeringConfig"]["advertisedPublicPrefixesState"] == "Configured"
    parent = await get_json(arm, PROVISIONED)
    assert parent["etag"] != parent_etag
    assert {p["name"] for p in parent["properties"]["peerings"]} == {
        "AzurePrivatePeering",
        "MicrosoftPeering",
    }
    listed = await get_json(arm, f"{PROVISIONED}/peerings")
    assert {p["name"] for p in listed["value"]} == {"AzurePrivatePeering", "MicrosoftPeering"}


async def test_if_none_match_star_creates_a_peering_only_when_there_is_none(
    arm: httpx.AsyncClient, clock: FakeClock
) -> None:
    url = f"{PROVISIONED}/peerings/MicrosoftPeering"
    create_only = {"If-None-Match": "*"}
    created = await arm.put(url, params=API, json=MICROSOFT_PEERING, headers=create_only)
    assert created.status_code == 201
    await clock.advance(30)
    again = await arm.put(url, params=API, json=MICROSOFT_PEERING, headers=create_only)
    assert again.status_code == 412
    assert error_code(again) == "PreconditionFailed"
    existing = f"{PROVISIONED}/peerings/AzurePrivatePeering"
    body = await get_json(arm, existing)
    refused = await arm.put(existing, params=API, json=body, headers=create_only)
    assert refused.status_code == 412


async def test_conditional_headers_can_be_ignored_as_arm_may(world: World, clock: FakeClock) -> None:
    lax = AzureSimulator(world, clock, conditional_headers=False)
    async with httpx.AsyncClient(
        transport=lax.transport(),
        base_url="https://management.azure.com",
        headers={"Authorization": "Bearer x"},
    ) as arm:
        body = await get_json(arm, NOT_PROVISIONED)
        body["properties"]["serviceProviderNotes"] = "written over"
        stale = await arm.put(NOT_PROVISIONED, params=API, json=body, headers={"If-Match": 'W/"stale"'})
        existing = f"{PROVISIONED}/peerings/AzurePrivatePeering"
        peering = await get_json(arm, existing)
        peering["properties"]["peerASN"] = 502
        recreated = await arm.put(existing, params=API, json=peering, headers={"If-None-Match": "*"})
    assert stale.status_code == 200
    assert recreated.status_code == 200
    assert lax.cross_connection(NOT_PROVISIONED_KEY).notes == "written over"


async def test_peering_update_answers_200_and_keeps_the_session_up(arm: httpx.AsyncClient) -> None:
    url = f"{PROVISIONED}/peerings/AzurePrivatePeering"
    current = await get_json(arm, url)
    current["properties"]["peerASN"] = 501
    response = await arm.put(url, params=API, json=current, headers={"If-Match": current["etag"]})
    assert response.status_code == 200
    assert response.json()["properties"]["state"] == "Enabled"
    assert response.json()["properties"]["azureASN"] == 12076
    assert response.json()["properties"]["peerASN"] == 501


async def test_a_peering_reads_updating_while_its_put_runs_then_succeeded(
    arm: httpx.AsyncClient, clock: FakeClock
) -> None:
    """What recovery reads after a crash: the write's fields at once, its end only later."""
    url = f"{PROVISIONED}/peerings/AzurePrivatePeering"
    current = await get_json(arm, url)
    current["properties"]["vlanId"] = 211
    assert (await arm.put(url, params=API, json=current)).status_code == 200

    await clock.advance(29)
    during = (await get_json(arm, url))["properties"]
    assert (during["provisioningState"], during["vlanId"]) == ("Updating", 211)
    await clock.advance(1)
    assert (await get_json(arm, url))["properties"]["provisioningState"] == "Succeeded"


async def test_peerings_need_a_provisioned_cross_connection(arm: httpx.AsyncClient) -> None:
    response = await arm.put(
        f"{NOT_PROVISIONED}/peerings/MicrosoftPeering", params=API, json=MICROSOFT_PEERING
    )
    assert response.status_code == 400
    assert error_code(response) == "ServiceProviderNotProvisioned"


def _peering_with(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(MICROSOFT_PEERING)
    for key, value in changes.items():
        if value is None:
            body["properties"].pop(key, None)
        else:
            body["properties"][key] = value
    return body


@pytest.mark.parametrize(
    ("name", "body", "code"),
    [
        ("MicrosoftPeering", _peering_with(peerASN=0), "InvalidPeerAsn"),
        ("MicrosoftPeering", _peering_with(peerASN=4_294_967_296), "InvalidPeerAsn"),
        ("MicrosoftPeering", _peering_with(vlanId=4095), "InvalidVlanId"),
        ("MicrosoftPeering", _peering_with(vlanId=200), "VlanIdInUse"),  # the private peering's VLAN
        (
            "MicrosoftPeering",
            _peering_with(primaryPeerAddressPrefix="203.0.113.0/29"),
            "InvalidPeeringAddressPrefix",
        ),
        (
            "MicrosoftPeering",
            _peering_with(primaryPeerAddressPrefix="203.0.113.1/30"),
            "InvalidPeeringAddressPrefix",
        ),
        (
            "MicrosoftPeering",
            _peering_with(secondaryPeerAddressPrefix="203.0.113.0/30"),
            "PeeringAddressPrefixesOverlap",
        ),
        ("MicrosoftPeering", _peering_with(sharedKey="k" * 26), "InvalidSharedKey"),
        ("MicrosoftPeering", _peering_with(microsoftPeeringConfig=None), "MicrosoftPeeringConfigRequired"),
        (
            "MicrosoftPeering",
            _peering_with(
                microsoftPeeringConfig={
                    "advertisedPublicPrefixes": ["203.0.113.128/25"],
                    "routingRegistryName": "X",
                }
            ),
            "InvalidRoutingRegistryName",
        ),
        ("AzurePrivatePeering", _peering_with(), "PeeringTypeDoesNotMatchName"),
        (
            "AzurePublicPeering",
            _peering_with(peeringType="AzurePublicPeering"),
            "AzurePublicPeeringNotSupported",
        ),
        ("SomethingElse", _peering_with(), "InvalidPeeringName"),
    ],
)
async def test_bad_peering_input_gets_a_cloud_error(
    arm: httpx.AsyncClient, name: str, body: dict[str, Any], code: str
) -> None:
    response = await arm.put(f"{PROVISIONED}/peerings/{name}", params=API, json=body)
    assert response.status_code == 400
    assert error_code(response) == code
    assert response.json()["error"]["message"]


async def test_peering_delete_answers_202_with_location_until_gone(
    arm: httpx.AsyncClient, clock: FakeClock
) -> None:
    url = f"{PROVISIONED}/peerings/AzurePrivatePeering"
    response = await arm.delete(url, params=API)
    assert response.status_code == 202
    location = response.headers["Location"]
    assert "/operationResults/" in location
    assert (await get_json(arm, url))["properties"]["provisioningState"] == "Deleting"
    assert (await arm.get(location)).status_code == 202
    await clock.advance(30)
    assert (await arm.get(location)).status_code == 204
    gone = await arm.get(url, params=API)
    assert gone.status_code == 404
    assert error_code(gone) == "NotFound"
    assert (await arm.delete(url, params=API)).status_code == 204


# --- troubleshooting tables ---------------------------------------------------------------------


async def table(
    arm: httpx.AsyncClient, clock: FakeClock, name: str, device_path: str = "primary"
) -> list[Any]:
    """A table, read in whichever shape the simulator answers (it takes turns)."""
    response = await arm.post(f"{PROVISIONED}/peerings/AzurePrivatePeering/{name}/{device_path}", params=API)
    if response.status_code == 200:
        return response.json()["value"]
    assert response.status_code == 202
    assert response.content == b""
    monitor = response.headers.get("Azure-AsyncOperation") or response.headers["Location"]
    await clock.advance(5)
    result = await arm.get(monitor)
    assert result.status_code == 200
    return result.json()["value"]


async def test_table_posts_take_turns_through_the_answer_shapes_of_the_spec(
    sim: AzureSimulator, arm: httpx.AsyncClient, clock: FakeClock
) -> None:
    url = f"{PROVISIONED}/peerings/AzurePrivatePeering/arpTables/primary"
    answers = [await arm.post(url, params=API) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 200, 202]

    # the spec examples: 202 with only Azure-AsyncOperation; the table rides on the final status
    by_operation = answers[0]
    assert "Location" not in by_operation.headers
    status_url = by_operation.headers["Azure-AsyncOperation"]
    assert (await arm.get(status_url)).json() == {"status": "InProgress"}
    # final-state-via location: 202 with only Location, 202 there until the table is ready
    by_location = answers[1]
    assert "Azure-AsyncOperation" not in by_location.headers
    assert (await arm.get(by_location.headers["Location"])).status_code == 202
    await clock.advance(5)
    final_status = (await arm.get(status_url)).json()
    assert final_status["status"] == "Succeeded"
    from_location = (await arm.get(by_location.headers["Location"])).json()
    immediate = answers[2].json()
    assert final_status["value"] == from_location["value"] == immediate["value"]
    assert {row["interface"] for row in immediate["value"]} == {"Microsoft", "On-Prem"}
    assert "Azure-AsyncOperation" in answers[3].headers  # and round again


async def test_table_answers_can_be_fixed_to_one_shape(world: World, clock: FakeClock) -> None:
    only = AzureSimulator(world, clock, table_answers=["location"])
    async with httpx.AsyncClient(
        transport=only.transport(),
        base_url="https://management.azure.com",
        headers={"Authorization": "Bearer x"},
    ) as arm:
        url = f"{PROVISIONED}/peerings/AzurePrivatePeering/routeTables/primary"
        answers = [await arm.post(url, params=API) for _ in range(3)]
    assert all(a.status_code == 202 and "Location" in a.headers for a in answers)
    with pytest.raises(ValueError):
        AzureSimulator(world, clock, table_answers=["carrier-pigeon"])


async def test_arp_table_shows_both_routers_of_an_enabled_peering(
    arm: httpx.AsyncClient, clock: FakeClock
) -> None:
    rows = await table(arm, clock, "arpTables")
    assert {(row["interface"], row["ipAddress"]) for row in rows} == {
        ("Microsoft", "10.0.0.2"),
        ("On-Prem", "10.0.0.1"),
    }
    secondary = await table(arm, clock, "arpTables", "secondary")
    assert {row["ipAddress"] for row in secondary} == {"10.0.0.5", "10.0.0.6"}


async def test_route_table_and_summary_follow_the_peering(arm: httpx.AsyncClient, clock: FakeClock) -> None:
    routes = await table(arm, clock, "routeTables")
    assert len(routes) == 2
    assert all(route["nextHop"] == "10.0.0.1" and route["path"] == "500" for route in routes)
    summary = await table(arm, clock, "routeTablesSummary")
    assert summary == [
        {"neighbor": "10.0.0.1", "asn": 500, "upDown": "1d14h", "stateOrPrefixesReceived": "2"}
    ]


async def test_table_requests_are_checked(arm: httpx.AsyncClient) -> None:
    bad_path = await arm.post(f"{PROVISIONED}/peerings/AzurePrivatePeering/arpTables/tertiary", params=API)
    assert error_code(bad_path) == "InvalidDevicePath"
    no_peering = await arm.post(f"{PROVISIONED}/peerings/MicrosoftPeering/arpTables/primary", params=API)
    assert no_peering.status_code == 404


# --- communities and faults ---------------------------------------------------------------------


async def test_bgp_service_communities_list(arm: httpx.AsyncClient) -> None:
    body = await get_json(arm, f"{NET}/bgpServiceCommunities")
    values = {
        community["communityValue"]
        for service in body["value"]
        for community in service["properties"]["bgpCommunities"]
    }
    assert {"12076:5010", "12076:5030"} <= values
    assert all(service["type"] == "Microsoft.Network/bgpServiceCommunities" for service in body["value"])


async def test_injected_throttling_answers_a_cloud_error_with_retry_after(
    arm: httpx.AsyncClient, sim: AzureSimulator
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(status=429, retry_after=7)])
    throttled = await arm.get(NOT_PROVISIONED, params=API)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert error_code(throttled) == "TooManyRequests"
    assert (await arm.get(NOT_PROVISIONED, params=API)).status_code == 200
