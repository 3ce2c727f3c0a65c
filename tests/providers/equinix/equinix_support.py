"""What the Equinix tests share: the demo world's Equinix legs by what the tests use them for,
and a client on the in-process simulator for either API generation."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from circuitbot.clock import FakeClock
from circuitbot.providers.equinix.client import EquinixClient
from circuitbot.providers.http import RetryPolicy
from circuitbot.sandbox.equinix import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

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
    transport: httpx.AsyncBaseTransport,
    clock: FakeClock,
    generation: str,
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    retry: RetryPolicy | None = None,
) -> EquinixClient:
    return EquinixClient(
        client_id=SecretStr(client_id),
        client_secret=SecretStr(client_secret),
        api_version=generation,  # type: ignore[arg-type]
        clock=clock,
        transport=transport,
        retry=retry or RetryPolicy(max_attempts=3, jitter=False, base_delay=0.1),
    )
