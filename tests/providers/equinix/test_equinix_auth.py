"""Signing in to Equinix: OAuth2 client credentials, a token shared and renewed before it
expires, one refresh and one retry on a 401, and refusals in both error casings, on both
generations against the simulator's token endpoint."""

from __future__ import annotations

import json

import httpx
import pytest
from equinix_support import make_client

from circuitbot.clock import FakeClock
from circuitbot.providers.equinix.errors import AuthenticationFailed, token_error
from circuitbot.sandbox.equinix import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EquinixSimulator
from circuitbot.sandbox.world import World
from support.http import Recorder

GENERATIONS = ("v4", "v3")


@pytest.fixture
def sim(clock: FakeClock) -> EquinixSimulator:
    return EquinixSimulator(
        World.demo(), clock, client_credentials=[("ops-app", "ops-secret")], token_seconds=3600
    )


@pytest.fixture
def recorder(sim: EquinixSimulator) -> Recorder:
    return Recorder(sim.transport())


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_one_sign_in_serves_every_request_with_a_json_body(
    generation: str, recorder: Recorder, clock: FakeClock
) -> None:
    async with make_client(recorder, clock, generation) as client:
        await client.ports()
        await client.metros()
    [sign_in] = recorder.sent("POST", "/oauth2/v1/token")
    assert json.loads(sign_in.content) == {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    assert "authorization" not in sign_in.headers
    reads = [r for r in recorder.requests if "oauth2" not in r.url.path]
    assert len(reads) == 2 and all(r.headers["authorization"].startswith("Bearer ") for r in reads)


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_credentials_added_to_the_simulator_sign_in_too(
    generation: str, recorder: Recorder, clock: FakeClock
) -> None:
    async with make_client(
        recorder, clock, generation, client_id="ops-app", client_secret="ops-secret"
    ) as client:
        assert await client.ports()


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_the_token_is_renewed_before_it_expires(
    generation: str, recorder: Recorder, clock: FakeClock
) -> None:
    async with make_client(recorder, clock, generation) as client:
        await client.ports()
        await clock.advance(3600 - 200)  # inside the renewal margin, still valid at Equinix
        await client.ports()
        assert client.api.sign_ins == 2
    assert not [r for r in recorder.requests if r.headers.get("authorization") and "oauth2" in r.url.path]


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_a_refused_token_gets_one_refresh_and_one_retry(
    generation: str, sim: EquinixSimulator, recorder: Recorder, clock: FakeClock
) -> None:
    async with make_client(recorder, clock, generation) as client:
        await client.ports()
        sim.issuer.expire_all()  # revoked at Equinix before its time
        ports = await client.ports()
        assert ports and client.api.sign_ins == 2
    paths = [r.url.path for r in recorder.requests]
    assert paths.count("/oauth2/v1/token") == 2


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_a_second_refusal_is_the_answer(
    generation: str, sim: EquinixSimulator, recorder: Recorder, clock: FakeClock
) -> None:
    def revoke(request: httpx.Request) -> None:
        if "oauth2" not in request.url.path:
            sim.issuer.expire_all()

    async with make_client(recorder, clock, generation) as client:
        recorder.before = revoke
        with pytest.raises(AuthenticationFailed) as refused:
            await client.ports()
    assert refused.value.status == 401
    assert [r.url.path for r in recorder.requests].count("/oauth2/v1/token") == 2


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_wrong_credentials_are_refused_without_echoing_the_secret(
    generation: str, recorder: Recorder, clock: FakeClock
) -> None:
    async with make_client(recorder, clock, generation, client_secret="canary-secret-123") as client:
        with pytest.raises(AuthenticationFailed) as refused:
            await client.ports()
    assert refused.value.code == "S1006" and "Login Failure" in str(refused.value)
    assert "canary-secret-123" not in str(refused.value)


def test_token_errors_in_both_casings() -> None:
    request = httpx.Request("POST", "https://api.equinix.com/oauth2/v1/token")
    camel = httpx.Response(
        500, json={"errorCode": "S1006", "errorMessage": "Login Failure, please try again."}, request=request
    )
    snake = httpx.Response(
        400, json={"error_code": "S1007", "error_message": "Invalid client"}, request=request
    )
    assert (token_error(camel).code, token_error(camel).message) == (
        "S1006",
        "sign-in refused: Login Failure, please try again.",
    )
    assert (token_error(snake).code, token_error(snake).message) == (
        "S1007",
        "sign-in refused: Invalid client",
    )
