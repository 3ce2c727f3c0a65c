"""The Azure partner client against the ARM simulator, in-process, for every operation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from circuitbot.clock import FakeClock
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure.client import AzurePartnerClient, Fetched
from circuitbot.providers.azure.credentials import StaticTokenCredential
from circuitbot.providers.azure.errors import (
    AzureCloudError,
    AzureOperationFailed,
    AzureOperationTimeout,
    AzureWriteUnconfirmed,
    NotFound,
    PreconditionFailed,
)
from circuitbot.providers.http import ProviderHTTPError, RetryPolicy
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.world import World
from support.http import Recorder

SUB = "11111111-2222-3333-4444-555555555555"
NOT_PROVISIONED_KEY = "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f"
PROVISIONED_KEY = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
FABRIKAM_KEY = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"

OPERATION_STATUS_ROUTE = (
    "GET /subscriptions/{subscriptionId}/providers/Microsoft.Network"
    "/locations/{location}/operations/{operationId}"
)

PEERING_ROUTE = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network"
    "/expressRouteCrossConnections/{crossConnectionName}/peerings/{peeringName}"
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> AzureSimulator:
    return AzureSimulator(World.demo(extra_circuits=5, seed=1), clock, operation_seconds=30, page_size=3)


@pytest.fixture
def recorder(sim: AzureSimulator) -> Recorder:
    return Recorder(sim.transport())


@pytest.fixture
def credential() -> StaticTokenCredential:
    return StaticTokenCredential("t0ken")


def make(
    transport: httpx.AsyncBaseTransport, clock: FakeClock, credential: StaticTokenCredential, **kwargs: Any
) -> AzurePartnerClient:
    kwargs.setdefault("subscription_ids", [SUB])
    return AzurePartnerClient(
        credential=credential,
        transport=transport,
        clock=clock,
        retry=RetryPolicy(jitter=False),
        **kwargs,
    )


@pytest.fixture
async def client(
    recorder: Recorder, clock: FakeClock, credential: StaticTokenCredential
) -> AsyncIterator[AzurePartnerClient]:
    async with make(recorder, clock, credential) as azure:
        yield azure


# --- listing and finding ------------------------------------------------------------------------


async def test_list_follows_next_link_across_pages(client: AzurePartnerClient, recorder: Recorder) -> None:
    cross_connections = await client.list_cross_connections()
    assert len({c.name for c in cross_connections}) == len(cross_connections) == 11
    assert len(recorder.sent("GET", "/expressRouteCrossConnections")) == 4  # 3 + 3 + 3 + 2
    assert all(c.subscription_id == SUB for c in cross_connections)
    streamed = [c.name async for c in client.iter_cross_connections()]
    assert streamed == [c.name for c in cross_connections]


async def test_list_covers_every_partner_subscription(
    recorder: Recorder, clock: FakeClock, credential: StaticTokenCredential
) -> None:
    async with make(recorder, clock, credential, subscription_ids=[SUB, "sub-two"]) as azure:
        everything = await azure.list_cross_connections()
        only_two = await azure.list_cross_connections(subscription="sub-two")
    assert {c.subscription_id for c in everything} == {SUB, "sub-two"}
    assert len(everything) == 22
    assert {c.subscription_id for c in only_two} == {"sub-two"}


async def test_find_by_service_key_asks_with_a_name_filter_and_caches_the_id(
    client: AzurePartnerClient, recorder: Recorder
) -> None:
    found = await client.find_by_service_key(NOT_PROVISIONED_KEY)
    assert found is not None
    assert found.resource_group == "CrossConnection-EUAPTest"
    assert recorder.requests[0].url.params["$filter"] == f"name eq '{NOT_PROVISIONED_KEY}'"
    recorder.requests.clear()
    snapshot = await client.get_cross_connection(NOT_PROVISIONED_KEY.upper())
    assert snapshot.id == found.id
    assert [r.url.path for r in recorder.requests] == [found.id]  # no second lookup


async def test_find_falls_back_to_listing_when_the_filter_is_refused(
    sim: AzureSimulator, clock: FakeClock, credential: StaticTokenCredential
) -> None:
    inner = sim.transport()

    async def refuse_filters(request: httpx.Request) -> httpx.Response:
        if "$filter" in request.url.params:
            return httpx.Response(
                400, json={"error": {"code": "InvalidFilter", "message": "no filters here"}}
            )
        return await inner.handle_async_request(request)

    transport = Recorder(httpx.MockTransport(refuse_filters))
    async with make(transport, clock, credential) as azure:
        found = await azure.find_by_service_key(FABRIKAM_KEY)
        assert found is not None and found.name == FABRIKAM_KEY
        await azure.find_by_service_key(PROVISIONED_KEY)
    filtered = [r for r in transport.requests if "$filter" in r.url.params]
    assert len(filtered) == 1  # refused once, not asked again


async def test_unknown_service_key(client: AzurePartnerClient) -> None:
    assert await client.find_by_service_key("00000000-0000-0000-0000-000000000000") is None
    with pytest.raises(NotFound) as raised:
        await client.get_cross_connection("00000000-0000-0000-0000-000000000000")
    assert raised.value.code == "CrossConnectionNotFound"
    assert "CrossConnectionNotFound" in str(raised.value)


async def test_get_returns_model_raw_json_and_etag(client: AzurePartnerClient) -> None:
    snapshot = await client.get_cross_connection(NOT_PROVISIONED_KEY)
    assert isinstance(snapshot.model, m.ExpressRouteCrossConnection)
    assert snapshot.etag == snapshot.raw["etag"]
    assert snapshot.model.model_dump(mode="json", by_alias=True, exclude_unset=True) == snapshot.raw
    assert snapshot.model.properties is not None
    assert snapshot.model.properties.peering_location == "EUAP Test"


# --- whole-resource PUTs and long-running operations --------------------------------------------


async def test_set_provisioning_state_puts_the_whole_resource_and_follows_it_to_succeeded(
    client: AzurePartnerClient, recorder: Recorder, clock: FakeClock, sim: AzureSimulator
) -> None:
    before = await client.get_cross_connection(NOT_PROVISIONED_KEY)
    task = asyncio.ensure_future(client.set_provisioning_state(NOT_PROVISIONED_KEY, "Provisioned"))
    await clock.run_until(asyncio.sleep(0))
    await clock.advance(20)
    assert not task.done()  # the operation takes 30 s on the simulator's clock
    after = await clock.run_until(task)

    assert after.model.properties is not None
    assert after.model.properties.provisioning_state == m.ProvisioningState.SUCCEEDED
    assert after.model.properties.service_provider_provisioning_state == "Provisioned"
    assert after.etag != before.etag
    put = recorder.sent("PUT")[0]
    body = json.loads(put.content)
    expected = json.loads(json.dumps(before.raw))
    expected["properties"]["serviceProviderProvisioningState"] = "Provisioned"
    assert body == expected  # only the intended field changed; read-only fields echoed
    # Retry-After 10 over a 30 s operation: three status polls, then the resource read back
    assert sim.calls[OPERATION_STATUS_ROUTE] == 3


async def test_put_keeps_fields_the_models_do_not_know(
    client: AzurePartnerClient, recorder: Recorder, clock: FakeClock
) -> None:
    snapshot = await client.get_cross_connection(NOT_PROVISIONED_KEY)
    raw = json.loads(json.dumps(snapshot.raw))
    raw["properties"]["futureProperty"] = {"kept": True}
    future = Fetched(model=snapshot.model, raw=raw, etag=snapshot.etag)
    await clock.run_until(client.put_cross_connection(future, properties={"serviceProviderNotes": "hello"}))
    body = json.loads(recorder.sent("PUT")[0].content)
    assert body["properties"]["futureProperty"] == {"kept": True}
    assert body["properties"]["serviceProviderNotes"] == "hello"


async def test_fixed_poll_interval_overrides_retry_after(
    recorder: Recorder, clock: FakeClock, credential: StaticTokenCredential, sim: AzureSimulator
) -> None:
    async with make(recorder, clock, credential, poll_interval=5) as azure:
        await clock.run_until(azure.set_notes(NOT_PROVISIONED_KEY, "five"))
    assert len(recorder.sent("GET", "/operations/")) == 6


async def test_without_wait_the_first_answer_is_returned(
    client: AzurePartnerClient, recorder: Recorder
) -> None:
    snapshot = await client.set_notes(NOT_PROVISIONED_KEY, "quick", wait=False)
    assert snapshot.model.properties is not None
    assert snapshot.model.properties.provisioning_state == "Updating"
    assert snapshot.model.properties.service_provider_notes == "quick"
    assert recorder.sent("GET", "/operations/") == []


async def test_if_match_with_a_stale_etag_raises_precondition_failed(
    client: AzurePartnerClient, clock: FakeClock
) -> None:
    stale = await client.get_cross_connection(NOT_PROVISIONED_KEY)
    await clock.run_until(client.set_notes(NOT_PROVISIONED_KEY, "someone else"))
    with pytest.raises(PreconditionFailed) as raised:
        await clock.run_until(
            client.put_cross_connection(
                stale, properties={"serviceProviderNotes": "mine"}, if_match=stale.etag
            ),
        )
    error = raised.value
    assert isinstance(error, ProviderHTTPError)
    assert error.status == 412
    assert error.code == "PreconditionFailed"
    assert "read it again" in str(error)
    fresh = await client.get_cross_connection(NOT_PROVISIONED_KEY)
    assert fresh.model.properties is not None
    assert fresh.model.properties.service_provider_notes == "someone else"
    done = await clock.run_until(client.set_notes(NOT_PROVISIONED_KEY, "mine", if_match=fresh.etag))
    assert done.model.properties is not None
    assert done.model.properties.service_provider_notes == "mine"


async def test_conditions_are_checked_against_a_fresh_read_before_anything_is_sent(
    client: AzurePartnerClient, recorder: Recorder, sim: AzureSimulator
) -> None:
    sim.conditional_headers = False  # as ARM may: the spec declares neither header
    with pytest.raises(PreconditionFailed):
        await client.set_notes(NOT_PROVISIONED_KEY, "mine", if_match='W/"from-an-old-read"')
    with pytest.raises(PreconditionFailed):
        await client.put_peering(PROVISIONED_KEY, "AzurePrivatePeering", {"vlanId": 201}, if_none_match="*")
    with pytest.raises(PreconditionFailed):
        await client.delete_peering(PROVISIONED_KEY, "AzurePrivatePeering", if_match='W/"old"')
    assert recorder.sent("PUT") == recorder.sent("DELETE") == []


class AnswerLost(httpx.AsyncBaseTransport):
    """The next write reaches the simulator, and the client gets ``lost`` instead of its answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport, lost: httpx.Response | Exception) -> None:
        self.inner = inner
        self.lost: httpx.Response | Exception | None = lost
        self.writes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method in ("PUT", "DELETE"):
            self.writes += 1
            lost, self.lost = self.lost, None
            if isinstance(lost, Exception):
                raise lost
            if lost is not None:
                return lost
        return response


@pytest.mark.parametrize(
    "lost",
    [httpx.Response(504), httpx.ReadTimeout("no answer")],
    ids=["gateway-timeout", "read-timeout"],
)
async def test_a_write_whose_answer_is_lost_is_read_back_and_followed_not_sent_again(
    sim: AzureSimulator, clock: FakeClock, credential: StaticTokenCredential, lost: Any
) -> None:
    transport = AnswerLost(sim.transport(), lost)
    async with make(transport, clock, credential) as azure:
        before = await azure.get_cross_connection(NOT_PROVISIONED_KEY)
        done = await clock.run_until(azure.set_notes(before, "landed", if_match=before.etag))
    assert transport.writes == 1
    assert done.model.properties is not None
    assert done.model.properties.service_provider_notes == "landed"
    assert done.model.properties.provisioning_state == "Succeeded"  # followed to the end
    assert clock.monotonic() >= 30


async def test_peering_writes_whose_answers_are_lost_are_confirmed_by_reading(
    client: AzurePartnerClient, sim: AzureSimulator, clock: FakeClock
) -> None:
    lose = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", method="PUT")])
    sim.faults = lose
    created = await clock.run_until(
        client.put_peering(PROVISIONED_KEY, "MicrosoftPeering", MICROSOFT, if_none_match="*")
    )
    assert created.model.properties is not None
    assert (created.model.properties.provisioning_state, created.model.properties.vlan_id) == (
        "Succeeded",
        300,
    )
    sim.faults = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", method="DELETE")])
    await clock.run_until(client.delete_peering(PROVISIONED_KEY, "MicrosoftPeering", if_match=created.etag))
    assert "microsoftpeering" not in sim.cross_connection(PROVISIONED_KEY).peerings
    assert sim.calls["PUT " + PEERING_ROUTE] == sim.calls["DELETE " + PEERING_ROUTE] == 1


async def test_a_lost_write_that_is_not_visible_is_reported_not_sent_again(
    client: AzurePartnerClient, sim: AzureSimulator, clock: FakeClock, recorder: Recorder
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(kind="drop", method="PUT")])
    with pytest.raises(AzureWriteUnconfirmed) as raised:
        await clock.run_until(client.set_provisioning_state(NOT_PROVISIONED_KEY, "Provisioned"))
    assert "not sent again" in str(raised.value)
    assert len(recorder.sent("PUT")) == 1
    assert sim.cross_connection(NOT_PROVISIONED_KEY).provider_state == "NotProvisioned"


async def test_cloud_errors_carry_the_code_in_the_message(
    client: AzurePartnerClient, clock: FakeClock
) -> None:
    snapshot = await client.get_cross_connection(NOT_PROVISIONED_KEY)
    raw = json.loads(json.dumps(snapshot.raw))
    del raw["location"]
    with pytest.raises(AzureCloudError) as raised:
        await clock.run_until(client.put_cross_connection(Fetched(snapshot.model, raw, snapshot.etag)))
    assert raised.value.status == 400
    assert raised.value.code == "LocationRequired"
    assert str(raised.value).startswith("azure: 400 LocationRequired: ")
    assert raised.value.request_id


async def test_failed_operation_raises_with_its_code(
    client: AzurePartnerClient, clock: FakeClock, sim: AzureSimulator
) -> None:
    sim.fail_next_operations(code="InternalServerError", message="device unreachable")
    with pytest.raises(AzureOperationFailed) as raised:
        await clock.run_until(client.set_provisioning_state(NOT_PROVISIONED_KEY, "Provisioned"))
    assert raised.value.code == "InternalServerError"
    assert "device unreachable" in str(raised.value)


async def test_operation_timeout(
    recorder: Recorder, clock: FakeClock, credential: StaticTokenCredential
) -> None:
    async with make(recorder, clock, credential, operation_timeout=15) as azure:
        with pytest.raises(AzureOperationTimeout):
            await clock.run_until(azure.set_notes(NOT_PROVISIONED_KEY, "slow"))


async def test_update_tags_patches_only_the_tags(client: AzurePartnerClient, recorder: Recorder) -> None:
    snapshot = await client.update_tags(NOT_PROVISIONED_KEY, {"owner": "netops"})
    assert snapshot.model.tags == {"owner": "netops"}
    assert json.loads(recorder.sent("PATCH")[0].content) == {"tags": {"owner": "netops"}}


# --- port pairs ---------------------------------------------------------------------------------


async def test_provider_ports_in_both_query_forms(client: AzurePartnerClient, recorder: Recorder) -> None:
    by_filter = await client.list_provider_ports("SiliconValley")
    by_query = await client.list_provider_ports("SiliconValley", form="query")
    assert [p.descriptor for p in by_filter] == [p.descriptor for p in by_query]
    assert {p.descriptor for p in by_filter} == {"bvtazureixpportpair1", "bvtazureixpportpair3"}
    first, second = recorder.sent("GET", "/expressRouteProviderPorts")
    assert first.url.params["$filter"] == "location eq 'SiliconValley'"
    assert "location" not in first.url.params
    assert second.url.params["location"] == "SiliconValley"
    assert first.url.params["api-version"] == "2025-05-01"
    assert len(await client.list_provider_ports()) == 4


async def test_get_provider_port_object_or_none_on_204(client: AzurePartnerClient) -> None:
    port = await client.get_provider_port("bvtazureixpportpair2")
    assert port is not None
    assert port.properties is not None
    assert port.properties.peering_location == "Seattle"
    assert await client.get_provider_port("nosuchpair") is None


async def test_get_provider_port_reads_the_docs_value_wrapper(
    clock: FakeClock, credential: StaticTokenCredential
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        item = {
            "portPairDescriptor": "pair9",
            "id": "/subscriptions/s/providers/Microsoft.Network/ExpressRouteProviderPort/pair9",
            "properties": {
                "portPairDescriptor": "pair9",
                "primaryAzurePort": "p9a",
                "secondaryAzurePort": "p9b",
            },
        }
        return httpx.Response(200, json={"value": [item]})

    async with make(httpx.MockTransport(answer), clock, credential) as azure:
        port = await azure.get_provider_port("pair9")
    assert port is not None and port.descriptor == "pair9"


async def test_get_provider_port_ignores_a_value_wrapper_without_the_descriptor(
    clock: FakeClock, credential: StaticTokenCredential
) -> None:
    other = {"name": "pair7", "properties": {"portPairDescriptor": "pair7", "primaryAzurePort": "p7a"}}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"value": [other]}))
    async with make(transport, clock, credential) as azure:
        assert await azure.get_provider_port("pair9") is None  # not pair7 in its place


async def test_a_descriptor_stays_one_path_segment(client: AzurePartnerClient, recorder: Recorder) -> None:
    assert await client.get_provider_port("../../resourceGroups/x?y=1#z") is None
    [request] = recorder.requests
    assert request.url.raw_path.decode().startswith(
        f"/subscriptions/{SUB}/providers/Microsoft.Network/expressRouteProviderPorts/"
        "..%2F..%2FresourceGroups%2Fx%3Fy%3D1%23z?"
    )


@pytest.mark.parametrize(
    "resource_id",
    [
        # another subscription than the partner's
        "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/CrossConnection-EUAPTest"
        f"/providers/Microsoft.Network/expressRouteCrossConnections/{NOT_PROVISIONED_KEY}",
        # more path than a cross-connection id
        f"/subscriptions/{SUB}/resourceGroups/CrossConnection-EUAPTest/providers/Microsoft.Network"
        f"/expressRouteCrossConnections/{NOT_PROVISIONED_KEY}/peerings/AzurePrivatePeering",
        f"/subscriptions/{SUB}/resourceGroups/../providers/Microsoft.Network/expressRouteCrossConnections/k",
        f"/subscriptions/{SUB}/providers/Microsoft.Network/expressRouteProviderPorts/bvtazureixpportpair1",
    ],
)
async def test_only_cross_connection_ids_of_the_partner_subscriptions_are_followed(
    client: AzurePartnerClient, recorder: Recorder, resource_id: str
) -> None:
    with pytest.raises(NotFound) as raised:
        await client.get_cross_connection(resource_id)
    assert raised.value.code == "CrossConnectionNotFound"
    with pytest.raises(NotFound):
        await client.get_peering(resource_id, "AzurePrivatePeering")
    assert recorder.requests == []


async def test_a_cross_connection_id_of_the_partner_is_read_directly(
    client: AzurePartnerClient, recorder: Recorder
) -> None:
    resource_id = (
        f"/subscriptions/{SUB}/resourceGroups/CrossConnection-EUAPTest/providers/Microsoft.Network"
        f"/expressRouteCrossConnections/{NOT_PROVISIONED_KEY}"
    )
    snapshot = await client.get_cross_connection(resource_id)
    assert snapshot.model.name == NOT_PROVISIONED_KEY
    assert [r.url.path for r in recorder.requests] == [resource_id]


async def used_mbps(client: AzurePartnerClient) -> dict[str | None, int | None]:
    return {
        p.descriptor: p.properties.used_bandwidth_in_mbps if p.properties else None
        for p in await client.list_provider_ports("SiliconValley")
    }


async def test_move_to_port_pair_changes_ports_and_usage(
    client: AzurePartnerClient, clock: FakeClock
) -> None:
    before = await used_mbps(client)
    moved = await clock.run_until(client.move_to_port_pair(FABRIKAM_KEY, "bvtazureixpportpair3"))
    assert moved.model.properties is not None
    assert (moved.model.properties.primary_azure_port, moved.model.properties.secondary_azure_port) == (
        "bvtazureixp03a",
        "bvtazureixp03b",
    )
    after = await used_mbps(client)
    assert after["bvtazureixpportpair1"] == before["bvtazureixpportpair1"] - 1000  # type: ignore[operator]
    assert after["bvtazureixpportpair3"] == before["bvtazureixpportpair3"] + 1000  # type: ignore[operator]


async def test_move_refusals_surface_as_cloud_errors(client: AzurePartnerClient, clock: FakeClock) -> None:
    seattle = await client.get_provider_port("bvtazureixpportpair2")
    assert seattle is not None
    with pytest.raises(AzureCloudError) as raised:
        await clock.run_until(client.move_to_port_pair(FABRIKAM_KEY, seattle))
    assert raised.value.code == "PortPairPeeringLocationMismatch"
    with pytest.raises(NotFound):
        await clock.run_until(client.move_to_port_pair(FABRIKAM_KEY, "nosuchpair"))


# --- peerings and tables ------------------------------------------------------------------------

MICROSOFT = {
    "peerASN": 900,
    "primaryPeerAddressPrefix": "203.0.113.0/30",
    "secondaryPeerAddressPrefix": "203.0.113.4/30",
    "vlanId": 300,
    "sharedKey": "s3cret",
    "microsoftPeeringConfig": {
        "advertisedPublicPrefixes": ["203.0.113.128/25"],
        "customerASN": 45,
        "routingRegistryName": "ARIN",
    },
}


async def test_peering_create_update_list_delete(
    client: AzurePartnerClient, clock: FakeClock, recorder: Recorder
) -> None:
    created = await clock.run_until(client.put_peering(PROVISIONED_KEY, "MicrosoftPeering", MICROSOFT))
    properties = created.model.properties
    assert properties is not None
    assert (properties.state, properties.azure_asn, properties.provisioning_state) == (
        "Enabled",
        12076,
        "Succeeded",
    )
    assert properties.peering_type == "MicrosoftPeering"
    assert "s3cret" not in repr(created.model)

    updated = await clock.run_until(client.put_peering(PROVISIONED_KEY, "MicrosoftPeering", {"vlanId": 301}))
    assert updated.model.properties is not None
    assert updated.model.properties.vlan_id == 301
    assert updated.model.properties.shared_key == "s3cret"  # merged into what was there
    assert json.loads(recorder.sent("PUT")[-1].content)["properties"]["peerASN"] == 900

    names = {p.name for p in await client.list_peerings(PROVISIONED_KEY)}
    assert names == {"AzurePrivatePeering", "MicrosoftPeering"}
    fetched = await client.get_peering(PROVISIONED_KEY, "MicrosoftPeering")
    assert fetched.etag == updated.etag

    await clock.run_until(client.delete_peering(PROVISIONED_KEY, "MicrosoftPeering"))
    with pytest.raises(NotFound):
        await client.get_peering(PROVISIONED_KEY, "MicrosoftPeering")


async def test_peering_validation_errors_surface(client: AzurePartnerClient, clock: FakeClock) -> None:
    with pytest.raises(AzureCloudError) as raised:
        await clock.run_until(
            client.put_peering(PROVISIONED_KEY, "MicrosoftPeering", {**MICROSOFT, "vlanId": 5000})
        )
    assert raised.value.code == "InvalidVlanId"
    assert raised.value.target == "properties.vlanId"


@pytest.mark.parametrize("answer", ["async-operation", "location", "immediate"])
async def test_troubleshooting_tables_in_every_answer_shape(
    client: AzurePartnerClient, clock: FakeClock, sim: AzureSimulator, answer: str
) -> None:
    sim.table_answers = (answer,)
    arp = await clock.run_until(client.list_arp_table(PROVISIONED_KEY, "AzurePrivatePeering", "primary"))
    assert {(row.interface, row.ip_address) for row in arp} == {
        ("Microsoft", "10.0.0.2"),
        ("On-Prem", "10.0.0.1"),
    }
    routes = await clock.run_until(
        client.list_routes_table(PROVISIONED_KEY, "AzurePrivatePeering", "secondary")
    )
    assert routes and all(route.next_hop == "10.0.0.5" for route in routes)
    summary = await clock.run_until(
        client.list_routes_table_summary(PROVISIONED_KEY, "AzurePrivatePeering", "primary")
    )
    assert [(row.neighbor, row.asn, row.state_or_prefixes_received) for row in summary] == [
        ("10.0.0.1", 500, "2")
    ]
    with pytest.raises(ValueError):
        await client.list_arp_table(PROVISIONED_KEY, "AzurePrivatePeering", "tertiary")


CC_ID = (
    f"/subscriptions/{SUB}/resourceGroups/CrossConnection-SiliconValley/providers/Microsoft.Network"
    f"/expressRouteCrossConnections/{FABRIKAM_KEY}"
)
TABLE_URL = f"{CC_ID}/peerings/AzurePrivatePeering/arpTables/primary"
ROW = {"age": 0, "interface": "Microsoft", "ipAddress": "192.116.14.254", "macAddress": "885a.9269.9110"}


def arm_mock(answers: dict[str, Any]) -> httpx.MockTransport:
    """Answers by path: a dict is a 200 JSON body, a Response is sent as is."""

    def answer(request: httpx.Request) -> httpx.Response:
        found = answers[request.url.path]
        return found if isinstance(found, httpx.Response) else httpx.Response(200, json=found)

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(
    "final_status",
    [
        {"status": "Succeeded", "properties": {"value": [ROW]}},  # ARM's operation resource shape
        {"status": "Succeeded", "resourceLocation": "https://management.azure.com/result"},
    ],
    ids=["properties", "resourceLocation"],
)
async def test_a_table_result_is_found_where_arm_may_put_it(
    clock: FakeClock, credential: StaticTokenCredential, final_status: dict[str, Any]
) -> None:
    accepted = httpx.Response(
        202, headers={"Azure-AsyncOperation": "https://management.azure.com/op", "Retry-After": "1"}
    )
    transport = arm_mock({TABLE_URL: accepted, "/op": final_status, "/result": {"value": [ROW]}})
    async with make(transport, clock, credential) as azure:
        rows = await clock.run_until(azure.list_arp_table(CC_ID, "AzurePrivatePeering", "primary"))
    assert [row.mac_address for row in rows] == ["885a.9269.9110"]


async def test_a_table_operation_without_a_result_says_so(
    clock: FakeClock, credential: StaticTokenCredential
) -> None:
    accepted = httpx.Response(202, headers={"Azure-AsyncOperation": "https://management.azure.com/op"})
    transport = arm_mock({TABLE_URL: accepted, "/op": {"status": "Succeeded"}})
    async with make(transport, clock, credential) as azure:
        with pytest.raises(AzureOperationFailed) as raised:
            await clock.run_until(azure.list_arp_table(CC_ID, "AzurePrivatePeering", "primary"))
    assert raised.value.code == "NoResult"
    assert raised.value.status is None


async def test_a_malformed_body_is_a_cloud_error(
    client: AzurePartnerClient, sim: AzureSimulator, clock: FakeClock
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(kind="malformed")])
    with pytest.raises(AzureCloudError) as raised:
        await clock.run_until(client.list_cross_connections())
    assert raised.value.code == "MalformedResponse"


async def test_a_next_link_that_repeats_stops_the_paging(
    clock: FakeClock, credential: StaticTokenCredential
) -> None:
    loop = "https://management.azure.com/page2"
    transport = arm_mock(
        {
            f"/subscriptions/{SUB}/providers/Microsoft.Network/expressRouteCrossConnections": {
                "value": [{"name": "a"}],
                "nextLink": loop,
            },
            "/page2": {"value": [{"name": "b"}], "nextLink": loop},
        }
    )
    async with make(transport, clock, credential) as azure:
        with pytest.raises(AzureCloudError) as raised:
            await azure.list_cross_connections()
    assert raised.value.code == "RepeatedNextLink"


async def test_bgp_service_communities(client: AzurePartnerClient) -> None:
    services = await client.list_bgp_service_communities()
    values = {
        c.community_value
        for s in services
        for c in (s.properties.bgp_communities if s.properties else None) or []
    }
    assert "12076:5010" in values


# --- transport: retries and auth ----------------------------------------------------------------


async def test_injected_throttling_is_retried_after_retry_after(
    client: AzurePartnerClient, clock: FakeClock, sim: AzureSimulator, recorder: Recorder
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(status=429, count=2, retry_after=3)])
    port = await clock.run_until(client.get_provider_port("bvtazureixpportpair1"))
    assert port is not None
    assert len(recorder.requests) == 3
    assert clock.monotonic() >= 6  # waited Retry-After twice


async def test_throttling_that_outlasts_the_retries_raises_the_cloud_error(
    client: AzurePartnerClient, clock: FakeClock, sim: AzureSimulator
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(status=429, count=10, retry_after=1)])
    with pytest.raises(AzureCloudError) as raised:
        await clock.run_until(client.list_bgp_service_communities())
    assert (raised.value.status, raised.value.code) == (429, "TooManyRequests")


async def test_token_is_fetched_once_and_sent_as_bearer(
    client: AzurePartnerClient, credential: StaticTokenCredential, recorder: Recorder
) -> None:
    await client.list_provider_ports()
    await client.list_bgp_service_communities()
    assert credential.requests == 1
    assert all(r.headers["Authorization"] == "Bearer t0ken" for r in recorder.requests)


class SlowCredential(StaticTokenCredential):
    """Gives up control while it fetches, as a real sign-in does."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        await asyncio.sleep(0)
        return await super().get_token(*scopes, **kwargs)


async def test_concurrent_first_requests_share_one_token_fetch(sim: AzureSimulator, clock: FakeClock) -> None:
    credential = SlowCredential("t0ken")
    async with make(sim.transport(), clock, credential) as azure:
        await asyncio.gather(
            azure.list_provider_ports(), azure.list_bgp_service_communities(), azure.list_cross_connections()
        )
    assert credential.requests == 1


class RenewingCredential(StaticTokenCredential):
    """A new token on every fetch, as a real credential gives once the old one is refused."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        await asyncio.sleep(0)
        access = await super().get_token(*scopes, **kwargs)
        return access._replace(token=f"token-{self.requests}")


async def test_a_token_refused_by_several_requests_is_renewed_once(clock: FakeClock) -> None:
    credential = RenewingCredential()
    refused = {"count": 0}

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        if refused["count"] < 2:
            refused["count"] += 1
            return httpx.Response(401, json={"error": {"code": "ExpiredAuthenticationToken", "message": "x"}})
        return httpx.Response(200, json={"value": []})

    async with make(httpx.MockTransport(answer), clock, credential) as azure:
        await asyncio.gather(azure.list_bgp_service_communities(), azure.list_provider_ports())
    assert credential.requests == 2  # the first token, and one renewal for both refusals


def test_a_snapshot_repr_leaves_out_the_raw_json_with_the_shared_key() -> None:
    raw = {"name": "AzurePrivatePeering", "etag": 'W/"1"', "properties": {"sharedKey": "A1B2C3D4"}}
    peering = Fetched(m.ExpressRouteCrossConnectionPeering.model_validate(raw), raw, raw["etag"])
    assert "A1B2C3D4" not in repr(peering)
    assert 'W/"1"' in repr(peering)


async def test_token_never_goes_to_another_host(clock: FakeClock, credential: StaticTokenCredential) -> None:
    seen: dict[str, str | None] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers.get("Authorization")
        if request.method == "PATCH":
            return httpx.Response(
                200,
                json={"name": "k", "id": "/subscriptions/s/resourceGroups/g/providers/x/y/k"},
                headers={"Azure-AsyncOperation": "https://elsewhere.example/op", "Retry-After": "1"},
            )
        return httpx.Response(200, json={"status": "Succeeded"})

    async with make(httpx.MockTransport(answer), clock, credential) as azure:
        response = await azure.arm.send("PATCH", "/subscriptions/s/resourceGroups/g/providers/x/y/k", "v")
        await clock.run_until(azure.arm.wait_for_operation(response, final_via="azure-async-operation"))
    assert seen == {"management.azure.com": "Bearer t0ken", "elsewhere.example": None}


async def test_a_401_gets_one_retry_with_a_fresh_token(
    clock: FakeClock, credential: StaticTokenCredential
) -> None:
    answers = iter(
        [httpx.Response(401, json={"error": {"code": "ExpiredAuthenticationToken", "message": "x"}})]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json={"value": []}))

    async with make(httpx.MockTransport(answer), clock, credential) as azure:
        assert await azure.list_bgp_service_communities() == []
    assert credential.requests == 2


async def test_default_credential_is_created_on_first_use(
    monkeypatch: pytest.MonkeyPatch, sim: AzureSimulator, clock: FakeClock
) -> None:
    created: list[StaticTokenCredential] = []

    def fake_default_credential() -> StaticTokenCredential:
        credential = StaticTokenCredential("from-environment")
        created.append(credential)
        return credential

    monkeypatch.setattr("azure.identity.aio.DefaultAzureCredential", fake_default_credential)
    azure = AzurePartnerClient(subscription_ids=[SUB], transport=sim.transport(), clock=clock)
    assert created == []
    await azure.list_bgp_service_communities()
    await azure.aclose()
    assert len(created) == 1 and created[0].requests == 1


def test_needs_a_subscription() -> None:
    with pytest.raises(ValueError):
        AzurePartnerClient(subscription_ids=[], credential=StaticTokenCredential())
