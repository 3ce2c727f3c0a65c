"""ARM's subscription read throttling at the simulator, seen through the real partner client: the
bucket of 250 reads per subscription and principal, refilled at 25 a second on the clock, a 429
with Retry-After once it is empty, and the client waiting that long before it reads again."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from circuitbot.clock import FakeClock
from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.providers.azure.credentials import StaticTokenCredential
from circuitbot.providers.http import ProviderHTTPError, RetryPolicy
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.world import World

SUB = "11111111-2222-3333-4444-555555555555"
KEY = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
REMAINING = "x-ms-ratelimit-remaining-subscription-reads"


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the simulator and keeps each answer (status, headers, body) to read."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.responses: list[Answer] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.responses.append(Answer(response.status_code, response.headers, body))
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> AzureSimulator:
    return AzureSimulator(World.demo(seed=1), clock)


def client(
    recorder: Recorder, clock: FakeClock, token: str = "t0ken", attempts: int = 4
) -> AzurePartnerClient:
    return AzurePartnerClient(
        subscription_ids=[SUB],
        credential=StaticTokenCredential(token),
        transport=recorder,
        clock=clock,
        retry=RetryPolicy(jitter=False, max_attempts=attempts),
    )


async def read_until_throttled(azure: AzurePartnerClient, reads: int) -> None:
    for _ in range(reads):
        await azure.get_cross_connection(KEY)


async def test_every_read_says_what_is_left_of_the_bucket(sim: AzureSimulator, clock: FakeClock) -> None:
    recorder = Recorder(sim.transport())
    async with client(recorder, clock) as azure:
        await azure.get_cross_connection(KEY)  # a lookup by name, then the read
        await azure.get_cross_connection(KEY)
    remaining = [int(r.headers[REMAINING]) for r in recorder.responses]
    assert remaining == [249, 248, 247]


async def test_an_empty_bucket_answers_429_and_the_client_waits_retry_after(
    sim: AzureSimulator, clock: FakeClock
) -> None:
    recorder = Recorder(sim.transport())
    async with client(recorder, clock) as azure:
        await read_until_throttled(azure, 249)  # the lookup and 249 reads: 250 tokens
        assert recorder.responses[-1].headers[REMAINING] == "0"
        began = clock.monotonic()
        fetched = await clock.run_until(azure.get_cross_connection(KEY))
    assert fetched.model.name == KEY
    throttled = recorder.responses[-2]
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert throttled.headers["Retry-After"] == "1"  # one token is 40 ms away; ARM speaks whole seconds
    assert recorder.responses[-1].status_code == 200
    assert clock.monotonic() - began == pytest.approx(1.0)
    assert sim.throttle.throttled == 1


async def test_the_bucket_refills_at_25_a_second(sim: AzureSimulator, clock: FakeClock) -> None:
    recorder = Recorder(sim.transport())
    async with client(recorder, clock) as azure:
        await read_until_throttled(azure, 249)
        await clock.advance(2.0)  # 50 tokens back
        await read_until_throttled(azure, 50)
        assert recorder.responses[-1].headers[REMAINING] == "0"
        assert sim.throttle.throttled == 0


async def test_each_principal_has_its_own_bucket(sim: AzureSimulator, clock: FakeClock) -> None:
    first, second = Recorder(sim.transport()), Recorder(sim.transport())
    async with client(first, clock) as azure, client(second, clock, token="another-principal") as other:
        await read_until_throttled(azure, 249)
        await other.get_cross_connection(KEY)
    assert [int(r.headers[REMAINING]) for r in second.responses] == [249, 248]


async def test_still_throttled_after_the_retries_is_an_error(sim: AzureSimulator, clock: FakeClock) -> None:
    recorder = Recorder(sim.transport())
    async with client(recorder, clock, attempts=1) as azure:
        await read_until_throttled(azure, 249)
        with pytest.raises(ProviderHTTPError) as raised:
            await clock.run_until(azure.get_cross_connection(KEY))
    assert raised.value.status == 429


async def test_throttling_can_be_turned_off(sim: AzureSimulator, clock: FakeClock) -> None:
    sim.throttle.limits = None
    recorder = Recorder(sim.transport())
    async with client(recorder, clock) as azure:
        await asyncio.gather(*(azure.get_cross_connection(KEY) for _ in range(300)))
    assert all(r.status_code == 200 and REMAINING not in r.headers for r in recorder.responses)
