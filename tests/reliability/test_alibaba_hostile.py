"""Hostile answers in place of Alibaba's VPC API, under the real Alibaba client: each ends in a
clear error reply, never a traceback, within the bounds on the FakeClock. The answers are the
ones ``test_hostile_providers`` sends Azure's client, plus Alibaba-shaped ones that are wrong."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from reliability_support import Driver
from test_hostile_providers import GUARD_SECONDS, HOSTILE, Answer

from circuitbot.providers.alibaba.client import AlibabaClient

PC_ID = "pc-119mfjzm7"
ALIBABA_HOSTILE: dict[str, Answer] = {
    **HOSTILE,
    "a listing without its set": lambda r: httpx.Response(
        200, json={"RequestId": "X", "PhysicalConnectionSet": 7}
    ),
    "an item without its id": lambda r: httpx.Response(
        200, json={"PhysicalConnectionSet": {"PhysicalConnectionType": [{"Status": "Enabled"}]}}
    ),
    "an error without a code": lambda r: httpx.Response(400, json={"Message": 3}),
    "throttled for ever": lambda r: httpx.Response(
        400, json={"Code": "Throttling.User", "Message": "slow down"}, headers={"x-acs-retry-after": "5000"}
    ),
}


@pytest.mark.parametrize("answer", ALIBABA_HOSTILE.values(), ids=ALIBABA_HOSTILE.keys())
async def test_a_hostile_alibaba_answer_ends_in_a_clear_error_reply(
    driver: Driver, caplog, answer: Answer
) -> None:
    caplog.set_level(logging.WARNING)
    client = AlibabaClient(
        access_key_id="LTAIhostile",
        access_key_secret="hostile-secret",
        regions=["cn-shanghai"],
        transport=httpx.MockTransport(answer),
        clock=driver.clock,
    )
    driver.runtime.providers["alibaba"] = client
    try:
        async with asyncio.timeout(GUARD_SECONDS):
            shown = await driver.command(f"ali show {PC_ID}")
            listed = await driver.command("ali list")
    finally:
        await client.aclose()

    for said in (shown, listed):
        assert ":warning:" in said.text, said.text
        assert "Traceback" not in said.text and "error id" not in said.text, "a known failure, told plainly"
    assert [r for r in caplog.records if r.exc_info] == []
