"""Simulators served over real loopback HTTP by uvicorn."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httpx
import pytest
from starlette.routing import BaseRoute

from circuitbot.clock import FakeClock
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.base import Simulator
from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.server import SimulatorServer, is_loopback, serve_simulator
from circuitbot.sandbox.world import World

BOUND = 10  # seconds any one loopback test may take before it is called hung


class EmptySimulator(Simulator):
    """A provider with nothing to serve: every path is unknown, in its own error shape."""

    provider: ClassVar[str] = "empty"

    def routes(self) -> list[BaseRoute]:
        return []

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        return [{"errorCode": f"IC-{code}", "errorMessage": message}], {}


@pytest.fixture
def sim() -> EmptySimulator:
    return EmptySimulator(World.demo(), FakeClock())


async def test_serves_a_request_over_loopback_and_shuts_down(sim: EmptySimulator) -> None:
    async with asyncio.timeout(BOUND):
        server = SimulatorServer(sim, port=0)
        async with server:
            assert server.port != 0
            async with httpx.AsyncClient(base_url=server.url) as client:
                health = await client.get("/_sandbox/health")
                missing = await client.get("/ecx/v3/l2/connections/nope")
        # once stopped, nothing listens there any more
        async with httpx.AsyncClient(base_url=server.url) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/_sandbox/health")

    assert health.json() == {"provider": "empty", "status": "ok"}
    assert missing.status_code == 404
    assert missing.json()[0]["errorMessage"] == "No resource matches GET /ecx/v3/l2/connections/nope."
    assert sim.calls["GET /ecx/v3/l2/connections/nope"] == 1


async def test_a_dropped_connection_is_a_client_side_error_and_the_server_lives_on(
    sim: EmptySimulator,
) -> None:
    async with asyncio.timeout(BOUND), SimulatorServer(sim) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            await client.put("/_sandbox/faults", json={"fail_next": [{"kind": "drop"}]})
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                await client.get("/ecx/v3/port/userport")
            after = await client.get("/ecx/v3/port/userport")

    assert after.status_code == 404  # the simulator has no ports, but it answered
    assert sim.calls["GET /ecx/v3/port/userport"] == 1


async def test_process_then_drop_over_loopback_applies_the_write_and_closes_the_connection() -> None:
    azure = AzureSimulator(World.demo(), FakeClock())
    key = "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f"
    cross_connection = azure.cross_connection(key)
    url = (
        f"/subscriptions/s/resourceGroups/{cross_connection.resource_group}/providers/Microsoft.Network"
        f"/expressRouteCrossConnections/{key}"
    )
    params = {"api-version": "2025-07-01"}
    async with asyncio.timeout(BOUND), SimulatorServer(azure) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": "Bearer x"}) as client:
            body = (await client.get(url, params=params)).json()
            body["properties"]["serviceProviderNotes"] = "written, answer lost"
            azure.faults = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", method="PUT")])
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                await client.put(url, params=params, json=body)
            after = await client.get(url, params=params)

    assert after.json()["properties"]["serviceProviderNotes"] == "written, answer lost"


async def test_injected_throttling_over_loopback_carries_retry_after(sim: EmptySimulator) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(status=429, retry_after=4)])
    async with asyncio.timeout(BOUND), SimulatorServer(sim) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.get("/ecx/v3/l2/buyer/connections")
            calls = await client.get("/_sandbox/calls")

    assert response.status_code == 429
    assert response.headers["retry-after"] == "4"
    assert response.json()[0]["errorCode"] == "IC-TooManyRequests"
    assert calls.json() == {}


async def test_serve_simulator_runs_until_cancelled() -> None:
    listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    async with asyncio.timeout(BOUND):
        task = asyncio.create_task(
            serve_simulator("az", port=0, log_level="warning", on_listening=listening.set_result)
        )
        url = await listening
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer any"}) as client:
            response = await client.get(f"/subscriptions/{World.demo().partner_subscription_id}/nowhere")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert response.status_code == 404
    assert response.json()["error"]["code"]


def test_refuses_non_loopback_hosts_unless_allowed(sim: EmptySimulator) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimulatorServer(sim, host="0.0.0.0")
    assert SimulatorServer(sim, host="0.0.0.0", allow_non_loopback=True).host == "0.0.0.0"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
