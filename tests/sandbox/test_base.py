"""Simulator scaffolding: call counting, fault injection, admin routes, placeholders, the demo world."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any, ClassVar

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from circuitbot.clock import FakeClock
from circuitbot.providers.catalog import spec_of
from circuitbot.providers.http import RetryPolicy, make_client
from circuitbot.sandbox import build_simulator
from circuitbot.sandbox.base import Simulator
from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.world import CircuitStage, World


class ThingsSimulator(Simulator):
    """A tiny provider: things by id, and items under a versioned mount."""

    provider: ClassVar[str] = "things"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.created: list[Any] = []

    def routes(self) -> list[BaseRoute]:
        async def get_thing(request: Request) -> Response:
            return JSONResponse({"id": request.path_params["thing_id"]})

        async def create_thing(request: Request) -> Response:
            thing = await request.json()
            self.created.append(thing)
            return JSONResponse(thing, status_code=201)

        async def get_item(request: Request) -> Response:
            return JSONResponse({"item": request.path_params["item_id"]})

        return [
            Route("/things/{thing_id}", get_thing, methods=["GET"]),
            Route("/things", create_thing, methods=["POST"]),
            Mount("/api/{version}", routes=[Route("/items/{item_id}", get_item, methods=["GET"])]),
        ]

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        return {"fault": {"code": code, "message": message}}, {"x-things-error": code}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> ThingsSimulator:
    return ThingsSimulator(World.demo(), clock)


def client(sim: Simulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=sim.transport(), base_url="http://things.test")


async def statuses(sim: Simulator, count: int, path: str = "/things/1") -> list[int | str]:
    """Status of each of ``count`` GETs; 'drop' where the connection was dropped."""
    seen: list[int | str] = []
    async with client(sim) as c:
        for _ in range(count):
            try:
                seen.append((await c.get(path)).status_code)
            except httpx.RemoteProtocolError:
                seen.append("drop")
    return seen


# -- routing and counting ------------------------------------------------------------------


async def test_calls_are_counted_by_route_template(sim: ThingsSimulator) -> None:
    async with client(sim) as c:
        assert (await c.get("/things/a")).json() == {"id": "a"}
        await c.get("/things/b")
        assert (await c.post("/things", json={"name": "n"})).status_code == 201
        assert (await c.get("/api/v2/items/i9")).json() == {"item": "i9"}

    assert sim.calls == Counter(
        {"GET /things/{thing_id}": 2, "POST /things": 1, "GET /api/{version}/items/{item_id}": 1}
    )
    sim.reset_calls()
    assert sim.calls == Counter()


async def test_unknown_paths_and_methods_answer_in_the_providers_error_shape(sim: ThingsSimulator) -> None:
    async with client(sim) as c:
        missing = await c.get("/nothing/here")
        wrong_method = await c.delete("/things/a")

    assert missing.status_code == 404
    assert missing.json()["fault"]["code"] == "NotFound"
    assert "/nothing/here" in missing.json()["fault"]["message"]
    assert missing.headers["x-things-error"] == "NotFound"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["fault"]["code"] == "MethodNotAllowed"
    assert sim.calls == Counter({"GET /nothing/here": 1, "DELETE /things/{thing_id}": 1})


# -- each kind of fault --------------------------------------------------------------------


async def test_error_rate_answers_500_in_the_provider_shape_without_reaching_the_model(
    sim: ThingsSimulator,
) -> None:
    sim.faults = FaultConfig(error_rate=1.0)
    async with client(sim) as c:
        response = await c.get("/things/a")

    assert response.status_code == 500
    assert response.json()["fault"]["code"] == "InternalServerError"
    assert sim.calls == Counter()


async def test_throttle_rate_answers_429_with_retry_after(sim: ThingsSimulator) -> None:
    sim.faults = FaultConfig(throttle_rate=1.0, throttle_retry_after=5)
    async with client(sim) as c:
        response = await c.get("/things/a")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "5"
    assert response.json()["fault"]["code"] == "TooManyRequests"


async def test_unavailable_rate_answers_503_with_retry_after(sim: ThingsSimulator) -> None:
    sim.faults = FaultConfig(unavailable_rate=1.0, throttle_retry_after=2)
    async with client(sim) as c:
        response = await c.get("/things/a")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json()["fault"]["code"] == "ServiceUnavailable"


async def test_drop_rate_drops_the_connection_in_process(sim: ThingsSimulator) -> None:
    sim.faults = FaultConfig(drop_rate=1.0)
    async with client(sim) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get("/things/a")

    assert sim.calls == Counter()


async def test_process_then_drop_applies_the_request_and_loses_the_answer(sim: ThingsSimulator) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", method="POST")])
    async with client(sim) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/things", json={"id": "t1"})
        again = await c.post("/things", json={"id": "t2"})

    assert sim.created == [{"id": "t1"}, {"id": "t2"}]  # the first write happened all the same
    assert again.status_code == 201
    assert sim.calls == Counter({"POST /things": 2})


async def test_a_plain_drop_never_reaches_the_model(sim: ThingsSimulator) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(kind="drop", method="POST")])
    async with client(sim) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/things", json={"id": "t1"})

    assert sim.created == []


async def test_process_then_drop_rate(sim: ThingsSimulator) -> None:
    sim.faults = FaultConfig(process_then_drop_rate=1.0)
    async with client(sim) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/things", json={"id": "t1"})

    assert sim.created == [{"id": "t1"}]


async def test_malformed_rate_answers_200_with_json_that_does_not_parse(sim: ThingsSimulator) -> None:
    sim.faults = FaultConfig(malformed_rate=1.0)
    async with client(sim) as c:
        response = await c.get("/things/a")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_latency_is_spent_on_the_simulators_clock(sim: ThingsSimulator, clock: FakeClock) -> None:
    sim.faults = FaultConfig(latency_ms=1500)
    async with client(sim) as c:
        task = asyncio.ensure_future(c.get("/things/a"))
        for _ in range(100):
            if clock.sleepers:
                break
            await asyncio.sleep(0)
        assert clock.sleepers == 1
        await clock.advance(1.4)
        assert not task.done()
        await clock.advance(0.1)
        response = await asyncio.wait_for(task, timeout=5)

    assert response.status_code == 200


async def test_random_faults_repeat_for_a_seed_and_differ_across_seeds(clock: FakeClock) -> None:
    config = FaultConfig(error_rate=0.2, throttle_rate=0.2, drop_rate=0.2, seed=42)

    def fresh(seed: int) -> ThingsSimulator:
        return ThingsSimulator(World.demo(), clock, config.model_copy(update={"seed": seed}))

    first = await statuses(fresh(42), 40)
    assert await statuses(fresh(42), 40) == first
    assert await statuses(fresh(43), 40) != first
    assert {200, 500, 429, "drop"} <= set(first)


async def test_replacing_the_config_restarts_its_random_sequence(sim: ThingsSimulator) -> None:
    config = FaultConfig(error_rate=0.5, seed=9)
    sim.faults = config
    first = await statuses(sim, 20)
    sim.faults = config
    assert await statuses(sim, 20) == first


async def test_queued_faults_fail_exactly_the_next_requests(sim: ThingsSimulator) -> None:
    sim.faults = FaultConfig(
        fail_next=[
            QueuedFault(status=503, count=2, retry_after=9),
            QueuedFault(kind="drop"),
            QueuedFault(status=409),
        ]
    )
    async with client(sim) as c:
        first = await c.get("/things/a")
        assert sim.faults.fail_next[0].count == 1  # what is left shows in the live config
        second = await c.get("/things/a")
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get("/things/a")
        fourth = await c.get("/things/a")
        fifth = await c.get("/things/a")

    assert [first.status_code, second.status_code, fourth.status_code, fifth.status_code] == [
        503,
        503,
        409,
        200,
    ]
    assert first.headers["Retry-After"] == "9"
    assert fourth.json()["fault"]["code"] == "Conflict"
    assert sim.faults.fail_next == []
    assert sim.calls == Counter({"GET /things/{thing_id}": 1})


async def test_queued_fault_can_target_a_method_and_path(sim: ThingsSimulator) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(status=500, method="post", path="^/things$")])
    async with client(sim) as c:
        assert (await c.get("/things/a")).status_code == 200
        assert (await c.post("/things", json={})).status_code == 500
        assert (await c.post("/things", json={})).status_code == 201


async def test_only_paths_limits_faults_and_latency(sim: ThingsSimulator, clock: FakeClock) -> None:
    sim.faults = FaultConfig(error_rate=1.0, latency_ms=10_000, only_paths=r"^/api/")
    async with client(sim) as c:
        outside = await c.get("/things/a")  # would hang on the fake clock if latency applied
        inside_task = asyncio.ensure_future(c.get("/api/v1/items/x"))
        for _ in range(100):
            if clock.sleepers:
                break
            await asyncio.sleep(0)
        await clock.advance(10)
        inside = await asyncio.wait_for(inside_task, timeout=5)

    assert outside.status_code == 200
    assert inside.status_code == 500


def test_fault_config_rejects_impossible_values() -> None:
    with pytest.raises(ValueError, match="add up"):
        FaultConfig(error_rate=0.6, throttle_rate=0.6)
    with pytest.raises(ValueError):
        FaultConfig(only_paths="([unclosed")
    with pytest.raises(ValueError):
        FaultConfig(surprise=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        QueuedFault(status=200)


# -- admin routes --------------------------------------------------------------------------


async def test_admin_routes_read_and_change_faults_and_are_never_faulted_or_counted(
    sim: ThingsSimulator,
) -> None:
    async with client(sim) as c:
        put = await c.put("/_sandbox/faults", json={"error_rate": 1.0, "seed": 3})
        assert put.status_code == 200
        assert put.json()["error_rate"] == 1.0

        assert (await c.get("/things/a")).status_code == 500
        got = await c.get("/_sandbox/faults")
        assert got.status_code == 200
        assert got.json()["seed"] == 3
        assert (await c.get("/_sandbox/health")).json() == {"provider": "things", "status": "ok"}

        await c.put("/_sandbox/faults", json={})
        await c.get("/things/a")
        calls = await c.get("/_sandbox/calls")
        assert calls.json() == {"GET /things/{thing_id}": 1}

        assert (await c.post("/_sandbox/reset-calls")).status_code == 204
        assert (await c.get("/_sandbox/calls")).json() == {}
    assert sim.calls == Counter()


async def test_admin_put_rejects_a_bad_config_and_keeps_the_old_one(sim: ThingsSimulator) -> None:
    sim.faults = FaultConfig(throttle_rate=0.5)
    async with client(sim) as c:
        response = await c.put("/_sandbox/faults", json={"error_rate": 7})

    assert response.status_code == 422
    assert response.json()["details"][0]["loc"] == ["error_rate"]
    assert sim.faults.throttle_rate == 0.5


async def test_admin_put_can_queue_faults(sim: ThingsSimulator) -> None:
    async with client(sim) as c:
        await c.put("/_sandbox/faults", json={"fail_next": [{"status": 429, "count": 1}]})
        throttled = await c.get("/things/a")
        ok = await c.get("/things/a")

    assert (throttled.status_code, throttled.headers["Retry-After"], ok.status_code) == (429, "1", 200)


# -- through the shared provider client ----------------------------------------------------


async def test_provider_client_rides_out_injected_throttling(sim: ThingsSimulator, clock: FakeClock) -> None:
    sim.faults = FaultConfig(fail_next=[QueuedFault(status=429, count=2, retry_after=3)])
    async with make_client(
        provider="things",
        base_url="http://things.test",
        transport=sim.transport(),
        clock=clock,
        retry=RetryPolicy(),
    ) as c:
        task = asyncio.ensure_future(c.get("/things/z"))
        for _ in range(1000):
            if task.done():
                break
            if clock.sleepers:
                await clock.advance(3)
            else:
                await asyncio.sleep(0)
        response = await asyncio.wait_for(task, timeout=5)

    assert response.json() == {"id": "z"}
    assert clock.monotonic() == 6.0  # two Retry-After waits of 3 s
    assert sim.calls == Counter({"GET /things/{thing_id}": 1})


# -- simulators by provider ---------------------------------------------------------------


def test_sandbox_serve_builds_the_simulator_as_the_in_process_sandbox_does() -> None:
    spec = spec_of("azure")
    served = build_simulator("az", clock=FakeClock())  # what `circuitbot sandbox serve` runs
    in_process = spec.simulator(World.demo(), FakeClock())  # what bootstrap attaches

    assert type(served) is type(in_process) is spec.simulator_class
    assert served.operation_seconds == in_process.operation_seconds == spec.sandbox_timings.operation_seconds
    assert len(served.world.circuits) == len(World.demo().circuits)


def test_a_provider_outside_the_catalog_has_no_simulator() -> None:
    with pytest.raises(LookupError, match="known: azure"):
        build_simulator("nowhere")


# -- the demo world ------------------------------------------------------------------------


def test_demo_world_holds_the_documents_circuits_consistently() -> None:
    world = World.demo()

    awaiting = world.circuit("bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f")
    assert (awaiting.peering_location, awaiting.bandwidth_mbps) == ("EUAP Test", 200)
    assert awaiting.stage is CircuitStage.AWAITING_PROVIDER
    assert awaiting.service_provider_provisioning_state == "NotProvisioned"
    assert awaiting.carriers == ()
    assert world.location(awaiting.peering_location).resource_group == "CrossConnection-EUAPTest"

    sv = world.circuit("24E6EA2B-6940-4BEC-B0B3-3A9E5471E512")
    assert sv.carriers == ("equinix",)
    assert sv.service_provider_provisioning_state == "Provisioned"
    assert world.port_pair(sv.port_pair).primary_azure_port == "bvtazureixp01a"
    assert sv.azure.id.endswith("/resourceGroups/ertest/providers/Microsoft.Network/expressRouteCircuits/er1")

    assert world.location("seattle").equinix_metro == "SE"
    assert {c.service_key for c in world.carried_by("consoleconnect")} >= {
        "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
    }
    with pytest.raises(KeyError):
        world.circuit("00000000-0000-0000-0000-000000000000")


def test_generated_circuits_are_deterministic_per_seed() -> None:
    first = World.demo(extra_circuits=50, seed=1)
    again = World.demo(extra_circuits=50, seed=1)
    other = World.demo(extra_circuits=50, seed=2)

    assert first.circuits == again.circuits
    assert [c.service_key for c in first.circuits[6:]] != [c.service_key for c in other.circuits[6:]]
    assert first.circuits[:6] == other.circuits[:6]  # the documents' circuits do not depend on the seed


def test_a_bench_sized_world_is_consistent() -> None:
    world = World.demo(extra_circuits=10_000, seed=0)

    assert len(world.circuits) == 10_006
    assert len({c.service_key for c in world.circuits}) == len(world.circuits)
    s_tags = [(c.port_pair, c.s_tag) for c in world.circuits]
    assert len(set(s_tags)) == len(s_tags)  # an S-tag is unique on its port pair
    location_names = {loc.name for loc in world.locations}
    for circuit in world.circuits:
        assert circuit.peering_location in location_names
        assert world.port_pair(circuit.port_pair).peering_location == circuit.peering_location
        assert (circuit.stage is CircuitStage.AWAITING_PROVIDER) == (circuit.legs == ())
    stages = Counter(c.stage for c in world.circuits)
    assert set(stages) == set(CircuitStage)
    both = [c for c in world.circuits if set(c.carriers) == {"equinix", "consoleconnect"}]
    assert both
    leg_ids = [leg.connection_id for c in world.circuits for leg in c.legs]
    assert len(set(leg_ids)) == len(leg_ids)
