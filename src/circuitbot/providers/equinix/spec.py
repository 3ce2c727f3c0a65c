"""Equinix Fabric (buyer) as a provider: how it joins the bot.

On the sandbox the simulator runs in-process and the real client signs in to it with the
simulator's documented default credentials, over the same HTTP path as production. Otherwise
the client signs in to ``EquinixSettings.base_url`` with the configured client id and secret,
on Fabric v4 unless the account is set to ``api_version = "v3"``.

The settings model is read while the bot's settings load, so the client, poller, operations
and simulator are imported by the factories that use them, not by this module.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel, SecretStr

from circuitbot.providers.equinix.settings import EquinixSettings
from circuitbot.providers.spec import ProviderClient, SampleIds, SandboxTimings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from circuitbot.actions.registry import Registry
    from circuitbot.clock import Clock
    from circuitbot.providers.base import StateVocabulary
    from circuitbot.providers.equinix.client import EquinixClient
    from circuitbot.providers.equinix.poller import EquinixPoller
    from circuitbot.providers.legs import Leg
    from circuitbot.sandbox.base import Simulator
    from circuitbot.sandbox.equinix import EquinixSimulator
    from circuitbot.sandbox.faults import FaultConfig
    from circuitbot.sandbox.world import World

# v3 status/providerStatus, v4 state/equinixStatus/providerStatus: what means "still changing".
# Any value starting with "pending" is in flight too (PENDING_APPROVAL, "PENDING DELETE", …).
IN_FLIGHT = ("provisioning", "reprovisioning", "deprovisioning", "ordering", "deleting")
TERMINAL = ("deprovisioned", "deleted", "cancelled", "rejected")


class EquinixProvider:
    name = "equinix"
    aliases: tuple[str, ...] = ("eqx",)
    title = "Equinix Fabric (buyer): ports, metros, prices, service profiles, connections, port stats"
    label = "Equinix"  # the leg's name on a circuit's end-to-end card
    settings_model: type[BaseModel] = EquinixSettings
    # An order or a delete completes in seconds here, not the minutes the real service takes.
    sandbox_timings = SandboxTimings(operation_seconds=6.0, table_seconds=2.0, retry_after_seconds=2)

    @cached_property
    def vocabulary(self) -> StateVocabulary:
        from circuitbot.providers.base import StateVocabulary

        return StateVocabulary(
            in_flight=frozenset(IN_FLIGHT), terminal=frozenset(TERMINAL), in_flight_prefixes=("pending",)
        )

    @property
    def simulator_class(self) -> type[EquinixSimulator]:
        from circuitbot.sandbox.equinix import EquinixSimulator

        return EquinixSimulator

    def configured(self, settings: BaseModel) -> bool:
        return _equinix(settings).configured

    def register(self, registry: Registry) -> None:
        from circuitbot.providers.equinix import operations

        operations.register(registry)

    def simulator(self, world: World, clock: Clock, faults: FaultConfig | None = None) -> EquinixSimulator:
        return self.simulator_class(
            world, clock, faults, operation_seconds=self.sandbox_timings.operation_seconds
        )

    def sandbox_client(self, settings: BaseModel, simulator: Simulator, clock: Clock) -> EquinixClient:
        """The real client on the in-process simulator, signed in with its default credentials."""
        from circuitbot.providers.equinix.client import EquinixClient
        from circuitbot.sandbox.equinix import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

        equinix = _equinix(settings)
        return EquinixClient(
            client_id=SecretStr(DEFAULT_CLIENT_ID),
            client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
            base_url=equinix.base_url,
            api_version=equinix.api_version,
            clock=clock,
            transport=simulator.transport(),
        )

    def client(self, settings: BaseModel, clock: Clock) -> EquinixClient:
        from circuitbot.providers.equinix.client import EquinixClient

        equinix = _equinix(settings)
        if equinix.client_id is None or equinix.client_secret is None:
            raise ValueError("Equinix needs a client id and a client secret")
        return EquinixClient(
            client_id=equinix.client_id,
            client_secret=equinix.client_secret,
            base_url=equinix.base_url,
            api_version=equinix.api_version,
            clock=clock,
        )

    def poller(self, client: ProviderClient, clock: Clock) -> EquinixPoller:
        from circuitbot.providers.equinix.client import EquinixClient
        from circuitbot.providers.equinix.poller import EquinixPoller

        return EquinixPoller(cast(EquinixClient, client), clock=clock)

    async def probe(self, client: ProviderClient) -> str:
        """``circuitbot check``: a token obtained and the ports listed (one short read)."""
        from circuitbot.providers.equinix.client import EquinixClient

        equinix = cast(EquinixClient, client)
        ports = await equinix.ports()
        return f"signed in on Fabric {equinix.api_version}; {len(ports)} port(s) listed"

    async def legs_for_key(self, client: ProviderClient, service_key: str) -> Sequence[Leg]:
        """The legs the service key names here (``providers.legs.KeyedProvider``)."""
        from circuitbot.providers.equinix.client import EquinixClient
        from circuitbot.providers.equinix.legs import legs_for_key

        return await legs_for_key(cast(EquinixClient, client), service_key)

    def sample_ids(self, world: World) -> SampleIds:
        """The primary connection of each Equinix leg (a connection's uuid)."""
        return SampleIds(
            present=tuple(
                leg.connection_id for c in world.carried_by("equinix") if (leg := c.leg("equinix"))
            ),
            absent="00000000-0000-4000-8000-000000000000",
        )


def _equinix(settings: BaseModel) -> EquinixSettings:
    if not isinstance(settings, EquinixSettings):
        raise TypeError(f"Equinix needs EquinixSettings, got {type(settings).__name__}")
    return settings


SPEC = EquinixProvider()
