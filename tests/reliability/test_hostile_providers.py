"""Hostile providers: an endpoint in place of the simulator (an ``httpx.MockTransport`` under the
real ``providers/http.py`` client and the real Azure client) that answers huge bodies, the wrong
content type, invalid JSON or a body that stalls half-way. Each ends in a clear error, an
OperationError reply and never a traceback, within the configured bounds on the FakeClock; an
``asyncio.timeout`` in the test guards against a hang."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from reliability_support import Driver

from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.providers.azure.credentials import StaticTokenCredential
from circuitbot.providers.http import AnswerBounds, AnswerTooLarge, make_client

KEY = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"
GUARD_SECONDS = 20  # real seconds: far past anything the bounds allow on the fake clock
MIB = 1024 * 1024


class Endless(httpx.AsyncByteStream):
    """A body that never ends: a MiB at a time, for ever."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"[" + b"0," * (MIB // 2)
        while True:
            yield chunk


class Stalls(httpx.AsyncByteStream):
    """A body that starts and then never sends another byte."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"value": [{"id": '
        await asyncio.Event().wait()
        yield b"never"


Answer = Callable[[httpx.Request], httpx.Response]
HOSTILE: dict[str, Answer] = {
    "endless body": lambda r: httpx.Response(
        200, stream=Endless(), headers={"content-type": "application/json"}
    ),
    "huge declared body": lambda r: httpx.Response(
        200, content=b"{}", headers={"content-type": "application/json", "content-length": str(10**12)}
    ),
    "html": lambda r: httpx.Response(
        200, text="<html><body>Service Unavailable</body></html>", headers={"content-type": "text/html"}
    ),
    "invalid json": lambda r: httpx.Response(
        200, content=b'{"value": [', headers={"content-type": "application/json"}
    ),
    "not utf-8": lambda r: httpx.Response(
        200, content=b"\xff\xfe\x00{", headers={"content-type": "application/json"}
    ),
    "json that is not an object": lambda r: httpx.Response(200, json=[1, 2, 3]),
    "error with garbage": lambda r: httpx.Response(
        500, content=b"\x00<oops>", headers={"content-type": "text/plain"}
    ),
    "stalls mid-body": lambda r: httpx.Response(
        200, stream=Stalls(), headers={"content-type": "application/json"}
    ),
}


def hostile_client(answer: Answer, clock) -> AzurePartnerClient:
    return AzurePartnerClient(
        subscription_ids=["00000000-0000-0000-0000-000000000001"],
        credential=StaticTokenCredential(),
        transport=httpx.MockTransport(answer),
        clock=clock,
        timeout=30.0,
    )


@pytest.mark.parametrize("answer", HOSTILE.values(), ids=HOSTILE.keys())
async def test_a_hostile_answer_ends_in_a_clear_error_reply(driver: Driver, caplog, answer: Answer) -> None:
    caplog.set_level(logging.WARNING)
    client = hostile_client(answer, driver.clock)
    driver.runtime.providers["azure"] = client
    try:
        async with asyncio.timeout(GUARD_SECONDS):
            shown = await driver.command(f"az show {KEY}")
            listed = await driver.command("az list")
    finally:
        await client.aclose()

    for said in (shown, listed):
        assert ":warning:" in said.text, said.text
        assert "Traceback" not in said.text and "error id" not in said.text, "a known failure, told plainly"
    assert [r for r in caplog.records if r.exc_info] == []


async def test_an_endless_body_is_cut_off_at_its_bound() -> None:
    client = make_client(
        provider="hostile",
        base_url="https://provider.invalid",
        transport=httpx.MockTransport(HOSTILE["endless body"]),
        bounds=AnswerBounds(max_bytes=4 * MIB),
    )
    async with client, asyncio.timeout(GUARD_SECONDS):
        with pytest.raises(AnswerTooLarge, match="larger than 4194304 bytes"):
            await client.get("/things")


async def test_a_stalled_body_times_out_on_the_clock(driver: Driver) -> None:
    client = make_client(
        provider="hostile",
        base_url="https://provider.invalid",
        transport=httpx.MockTransport(HOSTILE["stalls mid-body"]),
        clock=driver.clock,
        timeout=7.0,
    )
    async with client, asyncio.timeout(GUARD_SECONDS):
        with pytest.raises(httpx.ReadTimeout, match="within 7 s"):
            await driver.clock.run_until(client.get("/things"))
    assert 7.0 <= driver.clock.monotonic() < 9.0


async def test_an_answer_within_bounds_reads_as_before(driver: Driver) -> None:
    body = b'{"ok": true}' + b" " * MIB
    client = make_client(
        provider="fine",
        base_url="https://provider.invalid",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)),
        clock=driver.clock,
        bounds=AnswerBounds(max_bytes=2 * MIB, seconds=5),
    )
    async with client:
        response = await driver.clock.run_until(client.get("/things"))
    assert response.json() == {"ok": True}


# --- Console Connect ------------------------------------------------------------------------------

CC_CONNECTION = "507f1f77bcf86cd799439011"


@pytest.mark.parametrize("answer", HOSTILE.values(), ids=HOSTILE.keys())
async def test_a_hostile_console_connect_answer_ends_in_a_clear_error_reply(
    driver: Driver, caplog, answer: Answer
) -> None:
    from circuitbot.providers.consoleconnect.client import ConsoleConnectClient

    caplog.set_level(logging.WARNING)
    client = ConsoleConnectClient(
        api_key="k", company="Acme", transport=httpx.MockTransport(answer), clock=driver.clock, timeout=30.0
    )
    driver.runtime.providers["consoleconnect"] = client
    try:
        async with asyncio.timeout(GUARD_SECONDS):
            said = [
                await driver.command(f"cc show {CC_CONNECTION}"),
                await driver.command("cc list"),
                await driver.command(f"cc peering-show {CC_CONNECTION} PRIVATE"),
            ]
    finally:
        await client.aclose()

    for shown in said:
        assert ":warning:" in shown.text, shown.text
        assert "Traceback" not in shown.text and "error id" not in shown.text, "a known failure, told plainly"
    assert [r for r in caplog.records if r.exc_info] == []
