"""Azure ExpressRoute (partner API) as a provider: how it joins the bot.

On the sandbox the simulator runs in-process and the real client talks to it over the same
HTTP path as production, with a token of any value. Otherwise the client talks to ARM with
``DefaultAzureCredential`` (client secret, managed identity or workload identity through their
standard environment variables) and the subscriptions and api-versions of ``AzureSettings``.

The settings model is read while the bot's settings load, so the client, poller, operations and
simulator are imported by the factories that use them, not by this module.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel

from circuitbot.providers.azure import models as m
from circuitbot.providers.azure.settings import AzureSettings
from circuitbot.providers.spec import ProviderClient, SampleIds, SandboxTimings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from circuitbot.actions.registry import Registry
    from circuitbot.clock import Clock
    from circuitbot.providers.azure.client import AzurePartnerClient
    from circuitbot.providers.azure.poller import AzurePoller
    from circuitbot.providers.base import StateVocabulary
    from circuitbot.providers.legs import Leg
    from circuitbot.sandbox.azure import AzureSimulator
    from circuitbot.sandbox.base import Simulator
    from circuitbot.sandbox.faults import FaultConfig
    from circuitbot.sandbox.world import World

# The states of a cross-connection and its peerings that mean a change is still running.
# Azure has no end state of its own: a deleted cross-connection is simply gone.
IN_FLIGHT = (
    m.ProvisioningState.UPDATING,
    m.ProvisioningState.DELETING,
    m.ServiceProviderProvisioningState.PROVISIONING,
    m.ServiceProviderProvisioningState.DEPROVISIONING,
    m.AdvertisedPublicPrefixesState.CONFIGURING,
    m.AdvertisedPublicPrefixesState.VALIDATION_NEEDED,  # Microsoft peering: prefixes await validation
)


class AzureProvider:
    name = "azure"
    aliases: tuple[str, ...] = ("az",)
    title = "Azure ExpressRoute (partner API): cross-connections, port pairs, peerings, device tables"
    label = "Azure"  # the leg's name on a circuit's end-to-end card
    settings_model: type[BaseModel] = AzureSettings
    # A change completes in seconds, not the half minute the real service takes; a table at once.
    sandbox_timings = SandboxTimings(operation_seconds=6.0, table_seconds=2.0, retry_after_seconds=2)

    @cached_property
    def vocabulary(self) -> StateVocabulary:
        from circuitbot.providers.base import StateVocabulary, normalize_state

        return StateVocabulary(
            in_flight=frozenset(normalize_state(s) for s in IN_FLIGHT), terminal=frozenset()
        )

    @property
    def simulator_class(self) -> type[AzureSimulator]:
        from circuitbot.sandbox.azure import AzureSimulator

        return AzureSimulator

    def configured(self, settings: BaseModel) -> bool:
        return _azure(settings).configured

    def register(self, registry: Registry) -> None:
        from circuitbot.providers.azure import operations

        operations.register(registry)

    def simulator(self, world: World, clock: Clock, faults: FaultConfig | None = None) -> AzureSimulator:
        """The sandbox's ARM (lists page 100 items at a time; ARM's own size is not documented)."""
        timings = self.sandbox_timings
        return self.simulator_class(
            world,
            clock,
            faults,
            operation_seconds=timings.operation_seconds,
            table_seconds=timings.table_seconds,
            retry_after_seconds=timings.retry_after_seconds,
        )

    def sandbox_client(self, settings: BaseModel, simulator: Simulator, clock: Clock) -> AzurePartnerClient:
        """The real client on the in-process simulator, in the demo partner's subscription."""
        from circuitbot.providers.azure.client import AzurePartnerClient
        from circuitbot.providers.azure.credentials import StaticTokenCredential

        azure = _azure(settings)
        return AzurePartnerClient(
            subscription_ids=[simulator.world.partner_subscription_id],
            credential=StaticTokenCredential(),
            transport=simulator.transport(),
            clock=clock,
            cross_connection_api_version=azure.cross_connection_api_version,
            provider_ports_api_version=azure.provider_ports_api_version,
        )

    def client(self, settings: BaseModel, clock: Clock) -> AzurePartnerClient:
        """The client of the real ARM; its DefaultAzureCredential is created on first use, unless
        a static token is set (a loopback sandbox)."""
        from circuitbot.providers.azure.client import AzurePartnerClient
        from circuitbot.providers.azure.credentials import StaticTokenCredential

        azure = _azure(settings)
        token = azure.static_token
        return AzurePartnerClient(
            subscription_ids=azure.subscription_ids,
            credential=StaticTokenCredential(token.get_secret_value()) if token is not None else None,
            base_url=azure.base_url,
            token_scope=azure.token_scope,
            cross_connection_api_version=azure.cross_connection_api_version,
            provider_ports_api_version=azure.provider_ports_api_version,
            clock=clock,
        )

    def poller(self, client: ProviderClient, clock: Clock) -> AzurePoller:
        from circuitbot.providers.azure.client import AzurePartnerClient
        from circuitbot.providers.azure.poller import AzurePoller

        return AzurePoller(cast(AzurePartnerClient, client), clock=clock)

    async def probe(self, client: ProviderClient) -> str:
        """The provider-ports list: a token from the credential, one ARM read per subscription."""
        from circuitbot.providers.azure.client import AzurePartnerClient

        ports = await cast(AzurePartnerClient, client).list_provider_ports()
        return f"{len(ports)} port pair(s) listed"

    async def legs_for_key(self, client: ProviderClient, service_key: str) -> Sequence[Leg]:
        """The legs the service key names here (``providers.legs.KeyedProvider``)."""
        from circuitbot.providers.azure.client import AzurePartnerClient
        from circuitbot.providers.azure.legs import legs_for_key

        return await legs_for_key(cast(AzurePartnerClient, client), service_key)

    def sample_ids(self, world: World) -> SampleIds:
        """Service keys, as engineers type them (a cross-connection's name)."""
        return SampleIds(
            present=tuple(circuit.service_key for circuit in world.circuits),
            absent="00000000-0000-4000-8000-000000000000",
        )


def _azure(settings: BaseModel) -> AzureSettings:
    if not isinstance(settings, AzureSettings):
        raise TypeError(f"Azure needs AzureSettings, got {type(settings).__name__}")
    return settings


SPEC = AzureProvider()
