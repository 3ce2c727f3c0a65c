"""``circuitbot sandbox serve`` takes each simulator's own credential flags: the credentials given
are accepted by the real client over loopback, others are still refused, and a flag another
provider's simulator owns is a usage error."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr

from circuitbot.clock import SystemClock
from circuitbot.providers import catalog


@asynccontextmanager
async def served(provider: str, *flags: str) -> AsyncIterator[str]:
    """``circuitbot sandbox serve --provider PROVIDER --port 0 FLAGS…``; yields its base URL."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "circuitbot.cli", "sandbox", "serve", "--provider", provider, "--port", "0"),
        *flags,
        env={k: v for k, v in os.environ.items() if not k.startswith(("CIRCUITBOT_", "SLACK_"))},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(60):
            line = (await process.stdout.readline()).decode()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"no listening line: {line!r}"
        yield match.group(1)
    finally:
        process.terminate()
        await process.wait()


async def probe(provider: str, **settings: Any) -> str:
    """The real client of ``provider`` with ``settings``: its ``check`` read."""
    spec = catalog.spec_of(provider)
    values = {k: SecretStr(v) if k in SECRET_FIELDS else v for k, v in settings.items()}
    client = spec.client(spec.settings_model(**values), SystemClock())
    try:
        return await spec.probe(client)
    finally:
        await client.aclose()


SECRET_FIELDS = {"client_id", "client_secret", "api_key", "access_key_secret"}

CASES = [
    pytest.param(
        "equinix",
        ["--client-credentials", "ops-app:s3cret:with-colon"],
        lambda url, ok: {
            "base_url": url,
            "client_id": "ops-app",
            "client_secret": "s3cret:with-colon" if ok else "x",
        },
        id="equinix",
    ),
    pytest.param(
        "consoleconnect",
        ["--api-key", "key-one", "--api-key", "key-two", "--company", "Globex"],
        lambda url, ok: {"base_url": url, "api_key": "key-two" if ok else "key-three", "company": "Globex"},
        id="consoleconnect",
    ),
    pytest.param(
        "alibaba",
        ["--access-key", "LTAIopsKey:ops-secret"],
        lambda url, ok: {
            "endpoint": url,
            "access_key_id": "LTAIopsKey",
            "access_key_secret": "ops-secret" if ok else "guess",
        },
        id="alibaba",
    ),
]


@pytest.mark.parametrize(("provider", "flags", "settings"), CASES)
async def test_the_credentials_given_are_accepted_and_others_refused(
    provider: str, flags: Sequence[str], settings: Any
) -> None:
    async with served(provider, *flags) as url:
        seen = await probe(provider, **settings(url, True))
        with pytest.raises(Exception) as refused:
            await probe(provider, **settings(url, False))

    assert seen
    assert re.search(r"401|403|refused|Signature|credentials|Unauthorized|key", str(refused.value), re.I)


def test_a_flag_of_another_simulator_is_a_usage_error() -> None:
    serve = [sys.executable, "-m", "circuitbot.cli", "sandbox", "serve", "--provider", "azure", "--port", "0"]
    done = subprocess.run(
        [*serve, "--access-key", "A:B"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "circuitbot: --access-key is not an option of the azure simulator"


@pytest.mark.parametrize(("flags", "throttled"), [([], True), (["--arm-throttling", "off"], False)])
async def test_the_azure_simulator_throttles_reads_unless_told_not_to(
    flags: Sequence[str], throttled: bool
) -> None:
    """Served, Azure counts a principal's reads down from ARM's bucket of 250 (``off``: no limit)."""
    import httpx

    from circuitbot.sandbox.world import World

    subscription = World.demo().partner_subscription_id
    path = f"/subscriptions/{subscription}/providers/Microsoft.Network/expressRouteCrossConnections"
    async with served("azure", *flags) as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.get(
            path, params={"api-version": "2025-07-01"}, headers={"Authorization": "Bearer t"}
        )
    assert answer.status_code == 200
    remaining = answer.headers.get("x-ms-ratelimit-remaining-subscription-reads")
    assert remaining == ("249" if throttled else None)


def test_arm_throttling_is_on_or_off() -> None:
    serve = [sys.executable, "-m", "circuitbot.cli", "sandbox", "serve", "--provider", "azure", "--port", "0"]
    done = subprocess.run([*serve, "--arm-throttling", "maybe"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--arm-throttling is on or off" in done.stderr
