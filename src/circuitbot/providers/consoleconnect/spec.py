"""Console Connect as a provider: how it joins the bot.

On the sandbox the simulator runs in-process and the real client talks to it over the same
HTTP path as production, with the simulator's documented API key and the demo company.
Otherwise the client talks to ``base_url`` with the API key and company username of
``ConsoleConnectSettings``.

The settings model is read while the bot's settings load, so the client, poller, operations and
simulator are imported by the factories that use them, not by this module.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel

from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect.settings import ConsoleConnectSettings
from circuitbot.providers.spec import ProviderClient, SampleIds, SandboxTimings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from circuitbot.actions.registry import Registry
    from circuitbot.clock import Clock
    from circuitbot.providers.base import StateVocabulary
    from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
    from circuitbot.providers.consoleconnect.poller import ConsoleConnectPoller
    from circuitbot.providers.legs import Leg
    from circuitbot.sandbox.base import Simulator
    from circuitbot.sandbox.consoleconnect import ConsoleConnectSimulator
    from circuitbot.sandbox.faults import FaultConfig
    from circuitbot.sandbox.world import World

# Values of a connection, its Azure side and its peering configs that mean something is moving.
# Any value starting with PENDING is in flight too (PENDING ACCEPTANCE; a config's PENDING).
IN_FLIGHT = (
    m.ConnectionStatus.CREATING,
    m.ConnectionStatus.DELETING,
    m.PartnerPeeringStatus.PROVISIONING,
    m.PartnerPeeringStatus.DEPROVISIONING,
    m.SyncStatus.SYNCING,
)
# A connection that reached one of these is over: its watch ends.
TERMINAL = (m.ConnectionStatus.DELETED, m.ConnectionStatus.CANCELLED, m.ConnectionStatus.DENIED)


class ConsoleConnectProvider:
    name = "consoleconnect"
    aliases: tuple[str, ...] = ("cc",)
    title = "Console Connect: Azure Direct Connect Partner connections and their peering configs"
    label = "Console Connect"  # the leg's name on a circuit's end-to-end card
    settings_model: type[BaseModel] = ConsoleConnectSettings
    # An order is ACTIVE in seconds, not the minutes the real service takes; a peering syncs as fast.
    sandbox_timings = SandboxTimings(operation_seconds=6.0, table_seconds=2.0, retry_after_seconds=2)

    @cached_property
    def vocabulary(self) -> StateVocabulary:
        from circuitbot.providers.base import StateVocabulary

        return StateVocabulary(
            in_flight=frozenset(m.status_key(s) for s in IN_FLIGHT),
            terminal=frozenset(m.status_key(s) for s in TERMINAL),
            in_flight_prefixes=("pending",),
        )

    @property
    def simulator_class(self) -> type[ConsoleConnectSimulator]:
        from circuitbot.sandbox.consoleconnect import ConsoleConnectSimulator

        return ConsoleConnectSimulator

    def configured(self, settings: BaseModel) -> bool:
        return _settings(settings).configured

    def register(self, registry: Registry) -> None:
        from circuitbot.providers.consoleconnect import operations

        operations.register(registry)

    def simulator(
        self, world: World, clock: Clock, faults: FaultConfig | None = None
    ) -> ConsoleConnectSimulator:
        return self.simulator_class(
            world, clock, faults, operation_seconds=self.sandbox_timings.operation_seconds
        )

    def sandbox_client(self, settings: BaseModel, simulator: Simulator, clock: Clock) -> ConsoleConnectClient:
        """The real client on the in-process simulator, with its default key and company."""
        from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
        from circuitbot.sandbox.consoleconnect import DEFAULT_API_KEY

        company = getattr(simulator, "company", simulator.world.company)
        return ConsoleConnectClient(
            api_key=DEFAULT_API_KEY,
            company=company,
            base_url="http://consoleconnect.sandbox",
            transport=simulator.transport(),
            clock=clock,
        )

    def client(self, settings: BaseModel, clock: Clock) -> ConsoleConnectClient:
        from circuitbot.providers.consoleconnect.client import ConsoleConnectClient

        cc = _settings(settings)
        if cc.api_key is None or not cc.company:
            raise ValueError("Console Connect needs CIRCUITBOT_CONSOLECONNECT__API_KEY and __COMPANY")
        return ConsoleConnectClient(
            api_key=cc.api_key.get_secret_value(),
            company=cc.company,
            base_url=cc.base_url,
            auth_header=cc.auth_header,
            clock=clock,
        )

    def poller(self, client: ProviderClient, clock: Clock) -> ConsoleConnectPoller:
        from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
        from circuitbot.providers.consoleconnect.poller import ConsoleConnectPoller

        return ConsoleConnectPoller(cast(ConsoleConnectClient, client), clock=clock)

    async def probe(self, client: ProviderClient) -> str:
        """The company's ports: the API key accepted for the company, in one read."""
        from circuitbot.providers.consoleconnect.client import ConsoleConnectClient

        connect = cast(ConsoleConnectClient, client)
        ports = await connect.list_ports()
        return f"{len(ports)} port(s) of {connect.company} listed"

    async def legs_for_key(self, client: ProviderClient, service_key: str) -> Sequence[Leg]:
        """The legs the service key names here (``providers.legs.KeyedProvider``)."""
        from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
        from circuitbot.providers.consoleconnect.legs import legs_for_key

        return await legs_for_key(cast(ConsoleConnectClient, client), service_key)

    def sample_ids(self, world: World) -> SampleIds:
        """The GROUP_LAYER2 ids of the world's Console Connect legs."""
        return SampleIds(
            present=tuple(
                leg.connection_id
                for c in world.carried_by("consoleconnect")
                if (leg := c.leg("consoleconnect"))
            ),
            absent="000000000000000000000000",
        )


def _settings(settings: BaseModel) -> ConsoleConnectSettings:
    if not isinstance(settings, ConsoleConnectSettings):
        raise TypeError(f"Console Connect needs ConsoleConnectSettings, got {type(settings).__name__}")
    return settings


SPEC = ConsoleConnectProvider()
