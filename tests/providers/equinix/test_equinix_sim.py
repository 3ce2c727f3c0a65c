"""The Equinix simulator on its own: its token endpoint, each generation's shapes, paging,
filters and errors, faults, and both generations served over loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from equinix_support import AZURE_PROFILE, DEMO_PROFILE, FABRIKAM_KEY, FABRIKAM_PRIMARY, make_client

from circuitbot.clock import FakeClock, SystemClock
from circuitbot.sandbox.equinix import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EquinixSimulator
from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.server import SimulatorServer
from circuitbot.sandbox.world import World


@pytest.fixture
def sim(clock: FakeClock) -> EquinixSimulator:
    return EquinixSimulator(World.demo(), clock, operation_seconds=6)


@pytest.fixture
async def http(sim: EquinixSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url="https://api.equinix.com") as client:
        token = await client.post(
            "/oauth2/v1/token",
            json={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        )
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


async def test_the_token_endpoint_issues_expiring_tokens_for_known_credentials(
    sim: EquinixSimulator, clock: FakeClock
) -> None:
    async with httpx.AsyncClient(transport=sim.transport(), base_url="https://api.equinix.com") as client:
        issued = await client.post(
            "/oauth2/v1/token",
            json={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        )
        wrong = await client.post(
            "/oauth2/v1/token",
            json={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        )
        form = await client.post("/oauth2/v1/token", data={"grant_type": "client_credentials"})
        bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        fresh = await client.get("/fabric/v4/ports", headers=bearer)
        await clock.advance(3600)
        expired_v4 = await client.get("/fabric/v4/ports", headers=bearer)
        expired_v3 = await client.get("/ecx/v3/port/userport", headers=bearer)
        anonymous = await client.get("/ecx/v3/port/userport")

    assert (
        issued.status_code == 200
        and issued.json()["token_timeout"] == "3600"
        and issued.json()["token_type"] == "Bearer"
    )
    assert wrong.status_code == 400 and wrong.json()["error_code"] == "S1006"
    assert form.status_code == 400, "the token takes a JSON body, not a form"
    assert fresh.status_code == 200
    assert expired_v4.status_code == 401 and expired_v4.json()[0]["errorCode"].startswith("EQ-")
    assert (
        expired_v3.status_code == 401
        and "errorCode" in expired_v3.json()
        and "correlationId" not in expired_v3.json()
    )
    assert anonymous.status_code == 401


async def test_v3_lists_are_bare_arrays_and_pages_numbered_from_zero(http: httpx.AsyncClient) -> None:
    ports = (await http.get("/ecx/v3/port/userport")).json()
    assert isinstance(ports, list) and {"uuid", "metroCode", "placeVcOrderPermission"} <= set(ports[0])
    first = (await http.get("/ecx/v3/l2/buyer/connections", params={"pageSize": 3})).json()
    assert (first["isFirstPage"], first["isLastPage"], first["pageNumber"], len(first["content"])) == (
        True,
        False,
        0,
        3,
    )
    last_number = (first["totalCount"] - 1) // 3
    last = (
        await http.get("/ecx/v3/l2/buyer/connections", params={"pageSize": 3, "pageNumber": last_number})
    ).json()
    assert last["isLastPage"] and not last["isFirstPage"]
    too_big = await http.get("/ecx/v3/l2/buyer/connections", params={"pageSize": 500})
    assert too_big.status_code == 400 and too_big.json()["property"] == "pageSize"


async def test_v3_filters_status_lists_and_repeated_metros(http: httpx.AsyncClient) -> None:
    answer = await http.get(
        "/ecx/v3/l2/buyer/connections", params=[("status", "PROVISIONING,DEPROVISIONED"), ("pageSize", 100)]
    )
    assert {c["status"] for c in answer.json()["content"]} == {"PROVISIONING"}
    profiles = (
        await http.get(
            "/ecx/v3/l2/serviceprofiles/services", params=[("metroCode", "AM"), ("metroCode", "Sv")]
        )
    ).json()
    assert {p["uuid"] for p in profiles["content"]} == {AZURE_PROFILE, DEMO_PROFILE}
    # one profile answers on the seed's path and on ecx-go's
    for path in (
        f"/ecx/v3/l2/serviceprofiles/services/{DEMO_PROFILE}",
        f"/ecx/v3/l2/serviceprofiles/{DEMO_PROFILE}",
    ):
        assert (await http.get(path)).json()["name"] == "John-Doe Demo"


async def test_v4_pages_with_offset_and_limit_up_to_100(http: httpx.AsyncClient) -> None:
    page = (await http.get("/fabric/v4/ports", params={"offset": 2, "limit": 2})).json()
    assert page["pagination"]["offset"] == 2 and page["pagination"]["limit"] == 2 and len(page["data"]) == 2
    assert page["pagination"]["next"] == "/fabric/v4/ports?offset=4&limit=2"
    refused = await http.get("/fabric/v4/ports", params={"limit": 101})
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "EQ-2041022"


async def test_v4_search_understands_and_or_nesting_and_like(http: httpx.AsyncClient) -> None:
    body = {
        "filter": {
            "and": [
                {
                    "property": "/zSide/accessPoint/authenticationKey",
                    "operator": "=",
                    "values": [FABRIKAM_KEY],
                },
                {
                    "or": [
                        {"property": "/name", "operator": "LIKE", "values": ["%-PRI"]},
                        {"property": "/redundancy/priority", "operator": "=", "values": ["NONE"]},
                    ]
                },
            ]
        },
        "pagination": {"offset": 0, "limit": 10},
    }
    found = (await http.post("/fabric/v4/connections/search", json=body)).json()
    assert [c["uuid"] for c in found["data"]] == [FABRIKAM_PRIMARY]
    bad = await http.post(
        "/fabric/v4/connections/search", json={"filter": {"property": "/uuid", "operator": "~", "values": []}}
    )
    assert bad.status_code == 400


async def test_faults_answer_in_the_errorlist_shape_with_retry_after(
    sim: EquinixSimulator, http: httpx.AsyncClient
) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(status=429, retry_after=3)])
    throttled = await http.get("/fabric/v4/metros")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert throttled.json()[0]["errorCode"] == "EQ-3000429"


async def test_a_delete_runs_its_lifecycle_and_a_second_one_is_already_deleted(
    sim: EquinixSimulator, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    deleted = await http.delete(f"/fabric/v4/connections/{FABRIKAM_PRIMARY}")
    assert deleted.status_code == 200 and deleted.json()["operation"]["equinixStatus"] == "DEPROVISIONING"
    again = await http.delete(f"/fabric/v4/connections/{FABRIKAM_PRIMARY}")
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "EQ-3142510", "transient state"
    await clock.advance(6)
    gone = await http.delete(f"/fabric/v4/connections/{FABRIKAM_PRIMARY}")
    assert gone.status_code == 400 and gone.json()[0]["errorCode"] == "EQ-3142509"
    as_v3 = (await http.get(f"/ecx/v3/l2/connections/{FABRIKAM_PRIMARY}")).json()
    assert (as_v3["status"], as_v3["providerStatus"]) == ("DEPROVISIONED", "DEPROVISIONED")


@pytest.mark.parametrize("generation", ["v4", "v3"])
async def test_both_generations_are_served_over_loopback_http(generation: str) -> None:
    sim = EquinixSimulator(World.demo(), SystemClock(), operation_seconds=6)
    async with asyncio.timeout(20), SimulatorServer(sim, port=0) as server:
        async with make_client(None, SystemClock(), generation, base_url=server.url) as client:
            ports = await client.ports()
            shown = await client.connection(FABRIKAM_PRIMARY)
    assert ports and shown.name == "Fabrikam-SV-ER-PRI"
    assert sim.issuer.issued == 1
