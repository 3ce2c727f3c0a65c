"""The Console Connect poller: its two strategies agree, a sweep lists every page once for all its
batches, and peering configs are read only where one may be moving."""

from __future__ import annotations

import asyncio

from cc_support import CONTOSO, NEW_KEY, PORT_A, PORT_B, TAILSPIN, WOODGROVE

from circuitbot.clock import FakeClock
from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
from circuitbot.providers.consoleconnect.poller import ConsoleConnectPoller
from circuitbot.sandbox.consoleconnect import ConsoleConnectSimulator
from circuitbot.sandbox.faults import FaultConfig, QueuedFault

LIST = "GET /api/company/{username}/connections"
GET = "GET /api/company/{username}/connections/{connectionId}"
PEERING = (
    "GET /api/company/{username}/connections/directConnectPartner/AZURE/layer2/{connectionId}"
    "/peering/{peeringType}"
)
ABSENT = "000000000000000000000000"


def private(vlan: int) -> m.PeeringConfigRequest:
    return m.PeeringConfigRequest(
        peer_asn=65010, vlan_id=vlan, primary_peer_address_prefix="10.9.0.0/30",
        secondary_peer_address_prefix="10.9.0.4/30",
    )  # fmt: skip


async def sweep(poller: ConsoleConnectPoller, clock: FakeClock, *batches: list[str]) -> dict:
    poller.begin_sweep()
    answers = await clock.run_until(asyncio.gather(*(poller.snapshot_many(b) for b in batches)))
    return {k: v for answer in answers for k, v in answer.items()}


async def test_the_strategies_agree_on_every_connection_and_an_absent_one(
    client: ConsoleConnectClient, clock: FakeClock
) -> None:
    poller = ConsoleConnectPoller(client, clock=clock)
    created = await client.create_azure_connection(
        m.AzureLayer2CreateRequest(
            azure_service_key=NEW_KEY,
            name="new",
            src_port=[m.PortRef(port_id=PORT_A), m.PortRef(port_id=PORT_B)],
            speed=100,
        )
    )  # fmt: skip
    ids = [CONTOSO, WOODGROVE, TAILSPIN, created.id, ABSENT]

    many = await sweep(poller, clock, ids)
    one = {rid: await poller.snapshot_one(rid) for rid in ids}

    assert many == one
    assert one[CONTOSO] == {
        "status": "ACTIVE",
        "partnerPeering": "PROVISIONED",
        "peering[PRIVATE].syncStatus": "SYNCED",
    }
    assert one[WOODGROVE]["peering[MICROSOFT].syncStatus"] == "SYNCED"
    assert one[TAILSPIN] == {"status": "DELETING", "partnerPeering": "DEPROVISIONING"}
    assert one[created.id] == {"status": "CREATING", "partnerPeering": "NOT PROVISIONED"}
    assert one[ABSENT] is None
    assert poller.describe(CONTOSO, one[CONTOSO]) == "Contoso EUAP Test (507f1f77…)"
    assert poller.describe(ABSENT, None) == ABSENT


async def test_one_listing_of_every_page_serves_all_the_batches_of_a_sweep(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient, clock: FakeClock
) -> None:
    sim.page_size = client.page_size = 1
    poller = ConsoleConnectPoller(client, clock=clock)

    answers = await sweep(poller, clock, [CONTOSO], [WOODGROVE], [TAILSPIN])

    assert all(answers.values())
    assert sim.calls[LIST] == 3, "three pages, listed once for three batches"
    assert sim.calls[GET] == 0
    await sweep(poller, clock, [CONTOSO], [WOODGROVE])
    assert sim.calls[LIST] == 6, "the next sweep lists afresh"


async def test_peering_configs_are_read_only_where_a_peering_may_be_moving(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient, clock: FakeClock
) -> None:
    poller = ConsoleConnectPoller(client, clock=clock)
    ids = [CONTOSO, WOODGROVE, TAILSPIN]

    await sweep(poller, clock, ids)
    assert sim.calls[PEERING] == 6, "the three configs of each ACTIVE connection, once"
    await sweep(poller, clock, ids)
    assert sim.calls[PEERING] == 6, "nothing moved: no config read"

    await client.update_peering(CONTOSO, "PRIVATE", private(400))  # touches the connection's updatedAt
    sim.reset_calls()
    seen = []
    for _ in range(5):
        answers = await sweep(poller, clock, ids)
        seen.append(answers[CONTOSO]["peering[PRIVATE].syncStatus"])
        await clock.advance(25)
    assert seen == ["PENDING", "SYNCING", "SYNCING", "SYNCED", "SYNCED"]
    assert sim.calls[PEERING] == 12, (
        "Contoso's configs while moving and once SYNCED; none after, none of Woodgrove"
    )


async def test_a_failed_read_of_one_id_is_that_ids_and_a_failed_listing_fails_the_batch(
    sim: ConsoleConnectSimulator, client: ConsoleConnectClient, clock: FakeClock
) -> None:
    poller = ConsoleConnectPoller(client, clock=clock)
    sim.faults = FaultConfig(fail_next=[QueuedFault(status=400, path=f"/connections/{ABSENT[:-1]}1$")])
    answers = await sweep(poller, clock, [CONTOSO, ABSENT[:-1] + "1"])
    assert answers[CONTOSO]["status"] == "ACTIVE"
    assert isinstance(answers[ABSENT[:-1] + "1"], Exception)

    sim.faults = FaultConfig(fail_next=[QueuedFault(status=400, path="/connections$")])
    poller.begin_sweep()
    try:
        await clock.run_until(poller.snapshot_many([CONTOSO]))
    except Exception as exc:
        assert "400" in str(exc)
    else:
        raise AssertionError("the listing's failure fails the batch")
