"""``circuitbot sandbox serve --provider consoleconnect``: the simulator built through the catalog,
served over loopback HTTP, reached by the bot's client as configured from settings."""

from __future__ import annotations

import asyncio

from cc_support import CONTOSO

from circuitbot.clock import FakeClock
from circuitbot.providers.consoleconnect.settings import ConsoleConnectSettings
from circuitbot.providers.consoleconnect.spec import SPEC
from circuitbot.sandbox import build_simulator
from circuitbot.sandbox.consoleconnect import DEFAULT_API_KEY, ConsoleConnectSimulator
from circuitbot.sandbox.server import SimulatorServer

BOUND = 10  # seconds any one loopback test may take before it is called hung


async def test_the_served_simulator_answers_the_configured_client_with_either_header() -> None:
    sim = build_simulator("cc", clock=FakeClock())
    assert isinstance(sim, ConsoleConnectSimulator)
    sim.add_api_keys(["ops-team-key"])
    async with asyncio.timeout(BOUND), SimulatorServer(sim) as server:
        for key, header in ((DEFAULT_API_KEY, "bearer"), ("ops-team-key", "portal-token")):
            settings = ConsoleConnectSettings(
                base_url=server.url, api_key=key, company="Acme", auth_header=header
            )
            assert SPEC.configured(settings)
            async with SPEC.client(settings, FakeClock()) as client:
                connection = await client.get_connection(CONTOSO)
            assert connection.status == "ACTIVE"
