"""Driving the Console Connect commands as a front end would: through the Router, against the
in-process simulator, with a FakeClock moved forward while connections and peerings change."""

from __future__ import annotations

from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
from circuitbot.sandbox.consoleconnect import ConsoleConnectSimulator
from support.router_harness import RouterHarness

# The demo world's Console Connect legs (sandbox/world.py) and keys, by what the tests use them for.
CONTOSO = "507f1f77bcf86cd799439011"  # ACTIVE, PRIVATE peering SYNCED (with a shared key)
WOODGROVE = "5f1e2d3c4b5a69788796a5b4"  # ACTIVE, MICROSOFT peering SYNCED
TAILSPIN = "60a1b2c3d4e5f60718293a4b"  # DELETING / DEPROVISIONING
NEW_KEY = "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f"  # EUAP Test, 200 Mbps, awaiting a provider
USED_KEY = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"  # Contoso's, carried already
UNKNOWN_KEY = "00000000-0000-4000-8000-000000000000"
PORT_A, PORT_B = "5b456eda852dad001a8cf2cd", "5b456eda852dad001a8cf2ce"  # Acme's DC2 ports
SEEDED_SHARED_KEY = "A1B2C3D4"
CREATE = f"cc create {NEW_KEY} name=Contoso-DC port-a={PORT_A} port-b={PORT_B} speed=200"


class Harness(RouterHarness):
    @property
    def sim(self) -> ConsoleConnectSimulator:
        return self.runtime.sandbox["consoleconnect"]

    @property
    def client(self) -> ConsoleConnectClient:
        return self.runtime.providers["consoleconnect"]
