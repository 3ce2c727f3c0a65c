"""What the Equinix tests share: the demo world's Equinix legs by what the tests use them for,
and a client on the in-process simulator for either API generation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from pydantic import SecretStr

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import Clock, FakeClock
from circuitbot.providers.equinix.client import EquinixClient
from circuitbot.providers.equinix.settings import EquinixSettings
from circuitbot.providers.http import RetryPolicy
from circuitbot.sandbox.equinix import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EquinixSimulator
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings
from support.poster import RecordingPoster
from support.router_harness import REQUEST, RouterHarness

# The demo world's circuits (sandbox/world.py) and the Equinix connections carrying them.
FABRIKAM_KEY = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"  # SiliconValley, 1000 Mbps, PROVISIONED
FABRIKAM_PRIMARY = "006d08e2-788e-4c83-82d3-07b1787644a5"
NORTHWIND_KEY = "99973578-36f9-47f8-b12f-afa3faf02d06"  # Seattle, PROVISIONING
EUAP_NEW_KEY = "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f"  # no carrier yet: a key to order with
AZURE_PROFILE = "a1390b22-bbe0-4e93-ad37-85beef9d254d"
DEMO_PROFILE = "97d1850f-4df0-468c-9281-fa7b0dfa2096"
SEED_PORT = "c791f8cb-5a9f-a9f0-8ce0-306a5c00a4ee"  # MX, QinQ
ABSENT = "00000000-0000-4000-8000-000000000000"


def make_client(
    transport: httpx.AsyncBaseTransport | None,
    clock: Clock,
    generation: str,
    *,
    base_url: str = "https://api.equinix.com",
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    retry: RetryPolicy | None = None,
) -> EquinixClient:
    return EquinixClient(
        client_id=SecretStr(client_id),
        client_secret=SecretStr(client_secret),
        api_version=generation,  # type: ignore[arg-type]
        base_url=base_url,
        clock=clock,
        transport=transport,
        retry=retry or RetryPolicy(max_attempts=3, jitter=False, base_delay=0.1),
    )


# --- the bot on the sandbox, driven through the Router ----------------------------------------


class Bot(RouterHarness):
    """One runtime on the sandbox (Equinix on ``generation``), driven through the Router."""

    @property
    def sim(self) -> EquinixSimulator:
        return self.runtime.sandbox["equinix"]  # type: ignore[return-value]

    @property
    def client(self) -> EquinixClient:
        return self.runtime.providers["equinix"]  # type: ignore[return-value]


def request_id_in(text: str) -> str:
    match = REQUEST.search(text)
    assert match, f"no request created: {text}"
    return match.group(1)


async def make_bot(settings: Settings, clock: FakeClock, generation: str, world: World | None = None) -> Bot:
    settings = settings.model_copy(update={"equinix": EquinixSettings(api_version=generation)})  # type: ignore[arg-type]
    runtime = await build_runtime(settings, sandbox=True, clock=clock, world=world)
    poster = RecordingPoster()
    runtime.poster = poster
    return Bot(runtime, poster, clock)


MakeBot = Callable[..., Awaitable[Bot]]
