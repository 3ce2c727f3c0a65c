"""How Azure joins the runtime (``bootstrap.PROVIDER_WIRING["azure"]``).

On the sandbox the simulator runs in-process and the real client talks to it over the same
HTTP path as production, with a token of any value. Otherwise the client talks to ARM with
``DefaultAzureCredential`` (client secret, managed identity or workload identity through their
standard environment variables) and the subscriptions and api-versions of ``settings.azure``.
"""

from __future__ import annotations

from circuitbot.clock import Clock
from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.providers.azure.credentials import StaticTokenCredential
from circuitbot.providers.azure.poller import AzurePoller
from circuitbot.sandbox.azure import DEFAULT_PAGE_SIZE, AzureSimulator
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings

# Sandbox timings for a person at the shell: a change completes in seconds, not the half
# minute the real service takes, and a table arrives almost at once.
SANDBOX_OPERATION_SECONDS = 6.0
SANDBOX_TABLE_SECONDS = 2.0
SANDBOX_RETRY_AFTER_SECONDS = 2


def simulator(world: World, clock: Clock, *, page_size: int = DEFAULT_PAGE_SIZE) -> AzureSimulator:
    """The sandbox's ARM; lists page ``page_size`` items at a time (ARM's own size is not documented)."""
    return AzureSimulator(
        world,
        clock,
        operation_seconds=SANDBOX_OPERATION_SECONDS,
        table_seconds=SANDBOX_TABLE_SECONDS,
        retry_after_seconds=SANDBOX_RETRY_AFTER_SECONDS,
        page_size=page_size,
    )


def sandbox_client(settings: Settings, simulator: AzureSimulator, clock: Clock) -> AzurePartnerClient:
    """The real client on the in-process simulator, in the demo partner's subscription."""
    return AzurePartnerClient(
        subscription_ids=[simulator.world.partner_subscription_id],
        credential=StaticTokenCredential(),
        transport=simulator.transport(),
        clock=clock,
        cross_connection_api_version=settings.azure.cross_connection_api_version,
        provider_ports_api_version=settings.azure.provider_ports_api_version,
    )


def client(settings: Settings, clock: Clock) -> AzurePartnerClient:
    """The client of the real ARM; its DefaultAzureCredential is created on first use."""
    azure = settings.azure
    return AzurePartnerClient(
        subscription_ids=azure.subscription_ids,
        base_url=azure.base_url,
        token_scope=azure.token_scope,
        cross_connection_api_version=azure.cross_connection_api_version,
        provider_ports_api_version=azure.provider_ports_api_version,
        clock=clock,
    )


def poller(client: AzurePartnerClient, clock: Clock) -> AzurePoller:
    return AzurePoller(client, clock=clock)
