"""Equinix under hostile answers and with canary credentials.

Hostile: an endpoint in place of the simulator signs in properly and then answers huge bodies,
HTML, invalid JSON, JSON of the wrong shape or a body that stalls. Each command ends in a
clear error reply, never a traceback, on both API generations.

Canaries: the Equinix client id and secret, and the bearer tokens the simulator issues, each
hold a canary; after a session of reads, a refused sign-in and a delete through approval, no
canary is in any reply, log line (DEBUG and up) or database row.
"""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from pydantic import SecretStr
from reliability_support import Driver, every_row
from test_hostile_providers import GUARD_SECONDS, HOSTILE, Answer

from circuitbot.providers.equinix.client import EquinixClient
from circuitbot.providers.equinix.spec import SPEC
from circuitbot.providers.http import RetryPolicy
from circuitbot.sandbox.equinix import EquinixSimulator

CONNECTION = "006d08e2-788e-4c83-82d3-07b1787644a5"
PORT = "c791f8cb-5a9f-a9f0-8ce0-306a5c00a4ee"
CANARY = "CANARY"
CLIENT_ID = "CANARY-equinix-client-id"
CLIENT_SECRET = "CANARY-equinix-client-secret"


def signs_in_then(answer: Answer) -> Answer:
    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v1/token":
            return httpx.Response(
                200, json={"access_token": "t", "token_timeout": "3600", "token_type": "Bearer"}
            )
        return answer(request)

    return respond


@pytest.mark.parametrize("generation", ["v4", "v3"])
@pytest.mark.parametrize("answer", HOSTILE.values(), ids=HOSTILE.keys())
async def test_a_hostile_equinix_answer_ends_in_a_clear_error_reply(
    driver: Driver, caplog, answer: Answer, generation: str
) -> None:
    caplog.set_level(logging.WARNING)
    client = EquinixClient(
        client_id=SecretStr("id"),
        client_secret=SecretStr("secret"),
        api_version=generation,  # type: ignore[arg-type]
        transport=httpx.MockTransport(signs_in_then(answer)),
        clock=driver.clock,
        retry=RetryPolicy(max_attempts=1),
    )
    driver.runtime.providers["equinix"] = client
    try:
        async with asyncio.timeout(GUARD_SECONDS):
            said = [
                await driver.command(f"eqx show {CONNECTION}"),
                await driver.command("eqx connections"),
                await driver.command("eqx ports"),
                await driver.command(f"eqx stats {PORT} 24h"),
            ]
    finally:
        await client.aclose()
    for shown in said:
        assert ":warning:" in shown.text, shown.text
        assert "Traceback" not in shown.text and "error id" not in shown.text, "a known failure, told plainly"
    assert [r for r in caplog.records if r.exc_info] == []


async def test_no_equinix_canary_leaves_the_bot(driver: Driver, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sim: EquinixSimulator = driver.runtime.sandbox["equinix"]  # type: ignore[assignment]
    sim.issuer.add(CLIENT_ID, CLIENT_SECRET)
    issued = iter(range(1000))
    sim.issuer.new_token = lambda: f"CANARY-equinix-token-{next(issued)}"  # type: ignore[method-assign]
    client = EquinixClient(
        client_id=SecretStr(CLIENT_ID),
        client_secret=SecretStr(CLIENT_SECRET),
        transport=sim.transport(),
        clock=driver.clock,
    )
    wrong = EquinixClient(
        client_id=SecretStr(CLIENT_ID),
        client_secret=SecretStr("CANARY-wrong"),
        transport=sim.transport(),
        clock=driver.clock,
    )
    await driver.runtime.providers["equinix"].aclose()
    driver.runtime.providers["equinix"] = client
    driver.runtime.pollers["equinix"] = SPEC.poller(client, driver.clock)
    try:
        texts = [
            (await driver.command("eqx ports")).text,
            (await driver.command(f"eqx show {CONNECTION}")).text,
        ]
        shown = await driver.command(f"eqx delete {CONNECTION}")
        request_id = json.dumps(shown.text).split("Request `")[1][:7]
        texts.append((await driver.click("approval:approve", request_id, "UAPP1")).text)
        sim.issuer.expire_all()  # a refused token is refreshed: a new canary token
        texts.append((await driver.command(f"eqx show {CONNECTION}")).text)
        driver.runtime.providers["equinix"] = wrong
        texts.append((await driver.command("eqx ports")).text)
    finally:
        await client.aclose()
        await wrong.aclose()
    assert "Login Failure" in texts[-1]
    assert (await driver.runtime.approvals.load(request_id))[0].status == "succeeded"
    assert client.api.sign_ins == 2
    everything = "\n".join(texts) + driver.poster.everything()
    assert CANARY not in everything
    assert CANARY not in caplog.text
    assert CANARY not in await every_row(driver.runtime)
