"""Out-of-process providers: each provider's simulator as its own ``circuitbot sandbox serve``
process on loopback, and the ordinary settings (base URL and credentials) that point a
``circuitbot serve`` at them, as a deployment's settings point it at the real APIs.

The simulators build the demo world (plus ``--circuits`` generated ones) with its default seed,
so the bot's commands and the benchmark's planned ids name the same circuits.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import common

PROVIDERS = ("azure", "equinix", "consoleconnect", "alibaba")
AZURE_TOKEN = "bench-static-token"
ALIBABA_REGIONS = "ap-southeast-1,cn-beijing,cn-hangzhou,cn-shanghai"
_LISTENING = re.compile(r"listening on (http://\S+)")


def provider_settings(urls: dict[str, str], subscription_id: str) -> dict[str, str]:
    """The environment that points circuitbot at the served simulators (the sandboxes' own
    documented credentials; see the README's Configuration)."""
    settings: dict[str, str] = {}
    if "azure" in urls:
        settings |= {
            "CIRCUITBOT_AZURE__BASE_URL": urls["azure"],
            "CIRCUITBOT_AZURE__SUBSCRIPTION_IDS": subscription_id,
            "CIRCUITBOT_AZURE__STATIC_TOKEN": AZURE_TOKEN,
        }
    if "equinix" in urls:
        settings |= {
            "CIRCUITBOT_EQUINIX__BASE_URL": urls["equinix"],
            "CIRCUITBOT_EQUINIX__CLIENT_ID": "circuitbot-sandbox",
            "CIRCUITBOT_EQUINIX__CLIENT_SECRET": "circuitbot-sandbox-secret",
        }
    if "consoleconnect" in urls:
        settings |= {
            "CIRCUITBOT_CONSOLECONNECT__BASE_URL": urls["consoleconnect"],
            "CIRCUITBOT_CONSOLECONNECT__API_KEY": "cc-sandbox-api-key",
            "CIRCUITBOT_CONSOLECONNECT__COMPANY": "Acme",
        }
    if "alibaba" in urls:
        settings |= {
            "CIRCUITBOT_ALIBABA__ENDPOINT": urls["alibaba"],
            "CIRCUITBOT_ALIBABA__ACCESS_KEY_ID": "LTAIsandboxDefaultKey",
            "CIRCUITBOT_ALIBABA__ACCESS_KEY_SECRET": "sandbox-default-secret",
            "CIRCUITBOT_ALIBABA__REGIONS": ALIBABA_REGIONS,
        }
    return settings


async def _serve_one(
    stack: contextlib.AsyncExitStack, provider: str, work: Path, flags: Sequence[str], niceness: int
) -> str:
    command = [common.python(), "-m", "circuitbot.cli", "sandbox", "serve", "--provider", provider]
    command += ["--port", "0", *flags]
    log = work / f"sandbox-{provider}.log"
    process = await stack.enter_async_context(
        common.child_process(
            command, env=common.child_env(), log=log, stdout=asyncio.subprocess.PIPE, niceness=niceness
        )
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    match = _LISTENING.search(line)
    if match is None:
        raise RuntimeError(f"the {provider} simulator did not start: {line!r}{common._tail(log)}")
    return match.group(1)


@contextlib.asynccontextmanager
async def served_providers(
    work: Path,
    providers: Sequence[str] = PROVIDERS,
    *,
    flags: dict[str, Sequence[str]] | None = None,
    niceness: int = 0,
) -> AsyncIterator[dict[str, str]]:
    """Each provider's simulator served in its own process; yields circuitbot's settings for them.
    ``flags`` adds a simulator's own ``sandbox serve`` flags (``{"azure": ["--arm-throttling", "off"]}``);
    ``niceness`` lowers the simulators' priority (``common.REMOTE_NICENESS``)."""
    from circuitbot.sandbox.world import World

    async with contextlib.AsyncExitStack() as stack:
        started = await asyncio.gather(
            *(_serve_one(stack, name, work, (flags or {}).get(name, ()), niceness) for name in providers)
        )
        urls = dict(zip(providers, started, strict=True))
        yield provider_settings(urls, World.demo().partner_subscription_id)
