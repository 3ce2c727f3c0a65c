"""The Console Connect client against the simulator, for every operation: what it sends, what it
reads back, the lifecycles it follows, and what it does when answers are lost or refused."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from cc_support import CONTOSO, NEW_KEY, PORT_A, PORT_B, TAILSPIN, UNKNOWN_KEY, USED_KEY, WOODGROVE

from circuitbot.clock import FakeClock
from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
from circuitbot.providers.consoleconnect.errors import (
    ConsoleConnectError,
    NotFound,
    Unauthorized,
    WriteUnconfirmed,
)
from circuitbot.providers.http import RetryPolicy
from circuitbot.sandbox.consoleconnect import DEFAULT_API_KEY, ConsoleConnectSimulator
from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.world import World
from support.http import Recorder

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "data" / "consoleconnect"
CREATE_PATH = "PUT /api/company/{username}/connections/directConnectPartner/AZURE/layer2/create"
LIST_PATH = "GET /api/company/{username}/connections"


def order(key: str = NEW_KEY, speed: int = 200) -> m.AzureLayer2CreateRequest:
    return m.AzureLayer2CreateRequest(
        azure_service_key=key,
        name="Contoso-DC",
        src_port=[m.PortRef(port_id=PORT_A), m.PortRef(port_id=PORT_B)],
        speed=speed,
        payment_type="payg",
    )


def private(vlan: int = 300) -> m.PeeringConfigRequest:
    return m.PeeringConfigRequest(
        peer_asn=65010,
        vlan_id=vlan,
        primary_peer_address_prefix="10.20.0.0/30",
        secondary_peer_address_prefix="10.20.0.4/30",
        shared_key="s3cret-bgp",
    )


# --- reads ------------------------------------------------------------------------------------


async def test_it_sends_the_api_key_as_a_bearer_token_and_names_the_company_in_the_path(
    client: ConsoleConnectClient, recorder: Recorder
) -> None:
    connections = await client.list_connections()

    assert {c.id for c in connections} == {CONTOSO, WOODGROVE, TAILSPIN}
    [sent] = recorder.requests
    assert sent.headers["authorization"] == f"Bearer {DEFAULT_API_KEY}"
    assert sent.url.path == "/api/company/Acme/connections"
    contoso = next(c for c in connections if c.id == CONTOSO)
    assert (contoso.type, contoso.status, contoso.partner_status) == ("GROUP_LAYER2", "ACTIVE", "PROVISIONED")
    assert [s.type for s in contoso.subconnections] == ["LAYER2", "LAYER2"]
    assert contoso.service_key == USED_KEY and contoso.speed_mbps == 200


async def test_the_listing_reads_every_page(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient, recorder: Recorder
) -> None:
    sim.page_size = 1
    client.page_size = 1

    assert len(await client.list_connections()) == 3
    offsets = [r.url.params["offset"] for r in recorder.sent("GET")]
    assert offsets == ["0", "1", "2"]


async def test_ports_show_and_the_company_they_belong_to(client: ConsoleConnectClient) -> None:
    ports = await client.list_ports()
    assert PORT_A in {p.id for p in ports} and all(p.speed_mbps == 10_000 for p in ports)
    assert next(p for p in ports if p.id == PORT_A).facility == "Equinix DC2"
    assert (await client.get_connection(WOODGROVE)).name == "Woodgrove SV backup"
    with pytest.raises(NotFound):
        await client.get_connection("000000000000000000000000")


async def test_a_service_key_verifies_to_its_bandwidth_and_location_and_an_unknown_one_is_refused(
    client: ConsoleConnectClient, recorder: Recorder
) -> None:
    info = await client.verify_service_key(NEW_KEY)
    assert (info.mbps, info.peering_location) == (200, "EUAP Test")
    assert json.loads(recorder.requests[-1].content) == {"serviceKey": NEW_KEY}

    with pytest.raises(ConsoleConnectError) as refused:
        await client.verify_service_key(UNKNOWN_KEY)
    assert refused.value.status == 400 and refused.value.code == "InvalidServiceKey"
    assert "is not valid" in refused.value.message


async def test_peering_configs_read_with_their_sync_status_and_none_when_absent(
    client: ConsoleConnectClient,
) -> None:
    config = await client.get_peering(CONTOSO, "private")
    assert config is not None and config.sync_status == "SYNCED"
    assert (config.peer_asn, config.vlan_id, config.primary_peer_address_prefix) == (500, 200, "10.0.0.0/30")
    assert await client.get_peering(CONTOSO, "MICROSOFT") is None
    microsoft = await client.get_peering(WOODGROVE, "MICROSOFT")
    assert microsoft is not None and microsoft.routing_registry_name == "ARIN"
    with pytest.raises(NotFound):
        await client.get_peering("000000000000000000000000", "PRIVATE")
    with pytest.raises(ValueError, match="PUBLIC, PRIVATE or MICROSOFT"):
        await client.get_peering(CONTOSO, "AzurePrivatePeering")


# --- the lifecycle of an order ------------------------------------------------------------------


async def test_create_is_a_put_of_a_group_of_two_legs_creating_then_active(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient, recorder: Recorder, clock: FakeClock
) -> None:
    created = await client.create_azure_connection(order())

    [put] = recorder.sent("PUT")
    assert put.url.path == "/api/company/Acme/connections/directConnectPartner/AZURE/layer2/create"
    assert json.loads(put.content) == {
        "azureServiceKey": NEW_KEY,
        "name": "Contoso-DC",
        "srcPort": [{"portId": PORT_A}, {"portId": PORT_B}],
        "speed": 200.0,
        "paymentType": "payg",
    }
    assert (created.type, created.status, created.partner_status) == (
        "GROUP_LAYER2",
        "CREATING",
        "NOT PROVISIONED",
    )
    assert [s.src_port_id for s in created.subconnections] == [PORT_A, PORT_B]
    await clock.advance(30)
    assert (await client.get_connection(created.id)).partner_status == "PROVISIONING"
    await clock.advance(30)
    now = await client.get_connection(created.id)
    assert (now.status, now.partner_status) == ("ACTIVE", "PROVISIONED")
    assert (await client.find_by_service_key(NEW_KEY)).id == created.id


async def test_a_key_in_use_or_a_speed_over_the_circuit_is_refused(client: ConsoleConnectClient) -> None:
    with pytest.raises(ConsoleConnectError) as in_use:
        await client.create_azure_connection(order(USED_KEY))
    assert in_use.value.code == "ServiceKeyInUse"
    with pytest.raises(ConsoleConnectError) as too_fast:
        await client.create_azure_connection(order(speed=500))
    assert "exceeds the circuit's 200 Mbps" in too_fast.value.message


async def test_a_create_whose_answer_is_lost_is_found_by_its_key_and_never_sent_twice(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", method="PUT")])

    created = await client.create_azure_connection(order())

    assert sim.calls[CREATE_PATH] == 1, "the create was not repeated"
    assert created.service_key == NEW_KEY
    assert [c.id for c in await client.list_connections() if c.service_key == NEW_KEY] == [created.id]


async def test_a_create_lost_before_it_landed_is_unconfirmed_not_repeated(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(status=502, method="PUT")])

    with pytest.raises(WriteUnconfirmed):
        await client.create_azure_connection(order())
    assert sim.calls[CREATE_PATH] == 0
    assert await client.find_by_service_key(NEW_KEY) is None


async def test_a_throttled_read_is_retried_after_retry_after(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient, clock: FakeClock
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(status=429, retry_after=3, method="GET")])
    started = clock.monotonic()
    assert len(await clock.run_until(client.list_connections())) == 3
    assert clock.monotonic() - started == pytest.approx(3)


# --- peering configs ----------------------------------------------------------------------------


async def test_a_peering_is_refused_before_the_connection_is_active(
    client: ConsoleConnectClient, clock: FakeClock
) -> None:
    created = await client.create_azure_connection(order())
    with pytest.raises(ConsoleConnectError) as refused:
        await client.update_peering(created.id, "PRIVATE", private())
    assert refused.value.code == "ConnectionNotActive"
    assert "before the connection status is ACTIVE" in refused.value.message

    await clock.advance(60)
    assert await client.update_peering(created.id, "PRIVATE", private()) is not None


async def test_a_peering_syncs_pending_syncing_synced_and_its_key_is_sent_never_read_back(
    client: ConsoleConnectClient, recorder: Recorder, clock: FakeClock
) -> None:
    written = await client.update_peering(CONTOSO, "PRIVATE", private())

    [post] = recorder.sent("POST")
    assert post.url.path.endswith(f"/AZURE/layer2/{CONTOSO}/peering/PRIVATE")
    sent = json.loads(post.content)
    assert sent["sharedKey"] == "s3cret-bgp" and sent["peerASN"] == 65010 and sent["vlanId"] == 300
    assert written is not None and written.sync_status == "PENDING" and written.shared_key is None
    await clock.advance(20)
    assert (await client.get_peering(CONTOSO, "PRIVATE")).sync_status == "SYNCING"
    await clock.advance(40)
    assert (await client.get_peering(CONTOSO, "PRIVATE")).sync_status == "SYNCED"


async def test_microsoft_peering_takes_prefixes_and_registry_and_the_others_refuse_them(
    client: ConsoleConnectClient,
) -> None:
    microsoft = private().model_copy(
        update={"advertised_public_prefixes": ["198.51.100.0/24"], "routing_registry_name": "ARIN"}
    )
    written = await client.update_peering(WOODGROVE, "MICROSOFT", microsoft)
    assert (
        written.advertised_public_prefixes == ["198.51.100.0/24"] and written.routing_registry_name == "ARIN"
    )
    with pytest.raises(ConsoleConnectError, match="for MICROSOFT only"):
        await client.update_peering(WOODGROVE, "PUBLIC", microsoft)
    with pytest.raises(ConsoleConnectError, match="needs advertisedPublicPrefixes"):
        await client.update_peering(WOODGROVE, "MICROSOFT", private())


async def test_a_peering_post_whose_answer_is_lost_is_confirmed_by_reading_it_back(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", method="POST")])
    written = await client.update_peering(CONTOSO, "PRIVATE", private(vlan=333))
    assert written is not None and written.vlan_id == 333


async def test_peering_delete_and_connection_delete(
    client: ConsoleConnectClient, recorder: Recorder, clock: FakeClock
) -> None:
    await client.delete_peering(CONTOSO, "private")
    assert await client.get_peering(CONTOSO, "PRIVATE") is None
    with pytest.raises(NotFound):
        await client.delete_peering(CONTOSO, "PRIVATE")

    deleting = await client.delete_connection(CONTOSO)
    assert recorder.sent("DELETE")[-1].url.path == f"/api/v2/company/Acme/connections/{CONTOSO}"
    assert deleting is not None and (deleting.status, deleting.partner_status) == (
        "DELETING",
        "DEPROVISIONING",
    )
    await clock.advance(60)
    assert (await client.get_connection(CONTOSO)).status == "DELETED"
    with pytest.raises(ConsoleConnectError, match="already DELETED"):
        await client.delete_connection(CONTOSO)


# --- auth and spelling --------------------------------------------------------------------------


async def _client(sim: ConsoleConnectSimulator, clock: FakeClock, **kwargs) -> ConsoleConnectClient:
    options = {"api_key": DEFAULT_API_KEY, "company": "Acme", "base_url": "http://cc.test"} | kwargs
    return ConsoleConnectClient(
        transport=sim.transport(), clock=clock, retry=RetryPolicy(max_attempts=1), **options
    )


async def test_a_wrong_key_or_another_company_is_refused_plainly(
    sim: ConsoleConnectSimulator, clock: FakeClock
) -> None:
    async with await _client(sim, clock, api_key="wrong-key") as wrong:
        with pytest.raises(Unauthorized) as refused:
            await wrong.list_connections()
    assert refused.value.status == 401 and "CIRCUITBOT_CONSOLECONNECT__API_KEY" in refused.value.message
    assert "wrong-key" not in str(refused.value)
    async with await _client(sim, clock, company="Globex") as other:
        with pytest.raises(Unauthorized) as forbidden:
            await other.list_connections()
    assert forbidden.value.status == 403


async def test_extra_keys_and_the_portal_token_header_are_accepted(
    clock: FakeClock,
) -> None:
    sim = ConsoleConnectSimulator(World.demo(), clock, api_keys=["team-key"], company="Initech")
    sim.add_api_keys(["later-key"])
    for key, header in (("team-key", "bearer"), ("later-key", "portal-token")):
        async with await _client(sim, clock, api_key=key, company="initech", auth_header=header) as client:
            assert len(await client.list_ports()) == 6


async def test_the_key_goes_only_to_the_apis_own_host(sim: ConsoleConnectSimulator, clock: FakeClock) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        item = {"id": CONTOSO, "status": "ACTIVE"}
        return httpx.Response(200, json={"results": [item], "next": "https://elsewhere.example/steal"})

    async with ConsoleConnectClient(
        api_key="k", company="Acme", base_url="https://api.consoleconnect.com",
        transport=httpx.MockTransport(answer), clock=clock,
    ) as client:  # fmt: skip
        assert [c.id for c in await client.list_connections()] == [CONTOSO]
    assert [r.url.host for r in sent] == ["api.consoleconnect.com"]


async def test_statuses_spelled_with_underscores_compare_the_same(clock: FakeClock) -> None:
    sim = ConsoleConnectSimulator(World.demo(), clock, spelling="underscore")
    async with await _client(sim, clock) as client:
        created = await client.create_azure_connection(order())
    assert created.partner_status == "NOT_PROVISIONED"
    assert m.same_status(created.partner_status, m.PartnerPeeringStatus.NOT_PROVISIONED)


def paged_api(items: list[dict], *, size: int, total: bool, link: bool) -> tuple[list[httpx.Request], object]:
    """An API paging ``items`` by ``size``, saying its total and/or linking the next page."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        offset = int(request.url.params.get("offset", request.url.params.get("from", "0")))
        body: dict = {"results": items[offset : offset + size]}
        if total:
            body["total"] = len(items)
        if link and offset + size < len(items):
            body["next"] = f"https://api.consoleconnect.com/api/company/Acme/connections?from={offset + size}"
        return httpx.Response(200, json=body)

    return sent, answer


@pytest.mark.parametrize(
    ("size", "total", "link", "requests"),
    [
        (100, False, False, 2),  # the limit ignored: everything at once, one more read finds the end
        (2, False, False, 3),  # full pages until a short one
        (2, False, True, 3),  # the next links
        (2, True, False, 3),  # the total: the other pages side by side
    ],
)
async def test_every_paging_style_lists_everything_once(
    clock: FakeClock, size: int, total: bool, link: bool, requests: int
) -> None:
    items = [{"id": f"{n:024x}", "status": "ACTIVE"} for n in range(5)]
    sent, answer = paged_api(items, size=size, total=total, link=link)
    async with ConsoleConnectClient(
        api_key="k", company="Acme", transport=httpx.MockTransport(answer), clock=clock, page_size=2
    ) as client:
        listed = await client.list_connections()
    assert [c.id for c in listed] == [i["id"] for i in items]
    assert len(sent) == requests


async def test_deletes_whose_answers_are_lost_are_settled_by_reading_not_repeated(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", method="DELETE", count=2)])

    await client.delete_peering(CONTOSO, "PRIVATE")
    deleting = await client.delete_connection(CONTOSO)

    assert await client.get_peering(CONTOSO, "PRIVATE") is None
    assert deleting is not None and deleting.status == "DELETING"
    deletes = [key for key in sim.calls if key.startswith("DELETE")]
    assert sum(sim.calls[key] for key in deletes) == 2, "each DELETE sent once"


async def test_a_delete_lost_before_it_landed_is_unconfirmed(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(kind="drop", method="DELETE")])
    with pytest.raises(WriteUnconfirmed, match="RemoteProtocolError"):
        await client.delete_connection(CONTOSO)
    assert (await client.get_connection(CONTOSO)).status == "ACTIVE"


async def test_the_deprecated_sign_in_gives_a_portal_token_the_client_can_send(
    sim: ConsoleConnectSimulator, clock: FakeClock
) -> None:
    sample = json.loads((EXAMPLES / "auth_token_request.example.json").read_text())
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://cc.test") as http:
        answer = await http.put("/api/auth/token", json=sample)
        refused = await http.put("/api/auth/token", json={"email": "x@example.com"})
    signed_in = m.AuthTokenResponse.model_validate(answer.json())
    assert refused.status_code == 400 and signed_in.email == sample["email"]
    token = signed_in.token.get_secret_value()
    async with await _client(sim, clock, api_key=token, auth_header="portal-token") as client:
        assert len(await client.list_connections()) == 3
