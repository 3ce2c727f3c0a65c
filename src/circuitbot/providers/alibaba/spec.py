"""Alibaba Cloud Express Connect (physical connections) as a provider: how it joins the bot.

On the sandbox the simulator runs in-process and the real client talks to it over the same
HTTP path as production, signed with the sandbox's documented default AccessKey pair.
Otherwise the client signs with the configured AccessKey (and STS token) and reaches
``vpc.aliyuncs.com`` / ``vpc.<region>.aliyuncs.com`` or the configured endpoint.

The settings model is read while the bot's settings load, so the client, poller, operations and
simulator are imported by the factories that use them, not by this module.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel

from circuitbot.providers.alibaba.settings import AlibabaSettings
from circuitbot.providers.spec import ProviderClient, SampleIds, SandboxTimings

if TYPE_CHECKING:
    from circuitbot.actions.registry import Registry
    from circuitbot.clock import Clock
    from circuitbot.providers.alibaba.client import AlibabaClient
    from circuitbot.providers.alibaba.poller import AlibabaPoller
    from circuitbot.providers.base import StateVocabulary
    from circuitbot.sandbox.alibaba import AlibabaSimulator
    from circuitbot.sandbox.base import Simulator
    from circuitbot.sandbox.faults import FaultConfig
    from circuitbot.sandbox.world import World

# Status values while Alibaba works on the connection (review, allocation, installation, the
# end of a Terminate): polled fast. Confirmed waits on the customer; Enabled and Rejected are stable.
IN_FLIGHT = ("Initial", "Approved", "Allocating", "Allocated", "Terminating")
# Ends of a watch: nothing more happens to the connection but its deletion.
TERMINAL = ("Terminated", "Canceled", "Allocation Failed", "AllocationFailed")
SAMPLE_IDS = (
    "pc-2zeoaxkq3jot5p71qcnuy",  # seed 004's example: Enabled, with VBRs
    "pc-bp1ciz7ekd2grn1as",  # the SDK's example: Enabled, no VBRs
    "pc-119mfjzm7",  # Confirmed: ready to enable
    "pc-2ze3f8v1yct9xuxxnl6",  # Initial: just applied for
    "pc-t4n0f3tn6o4ddmutvh4",  # Allocated
    "pc-bp1h6klstbwmrgcbuuh",  # Rejected
)


class AlibabaProvider:
    name = "alibaba"
    aliases: tuple[str, ...] = ("ali",)
    title = "Alibaba Cloud Express Connect: physical connections and their VBRs"
    settings_model: type[BaseModel] = AlibabaSettings
    # Each provider-side step (review, allocation, installation, enabling) takes 20 s here: longer
    # than a watch's fast poll (15 s), so a watch shows every state on the way.
    sandbox_timings = SandboxTimings(operation_seconds=20.0, table_seconds=2.0, retry_after_seconds=2)

    @cached_property
    def vocabulary(self) -> StateVocabulary:
        from circuitbot.providers.base import StateVocabulary, normalize_state

        return StateVocabulary(
            in_flight=frozenset(normalize_state(s) for s in IN_FLIGHT),
            terminal=frozenset(normalize_state(s) for s in TERMINAL),
        )

    @property
    def simulator_class(self) -> type[AlibabaSimulator]:
        from circuitbot.sandbox.alibaba import AlibabaSimulator

        return AlibabaSimulator

    def configured(self, settings: BaseModel) -> bool:
        return _alibaba(settings).configured

    def register(self, registry: Registry) -> None:
        from circuitbot.providers.alibaba import operations

        operations.register(registry)

    def simulator(self, world: World, clock: Clock, faults: FaultConfig | None = None) -> AlibabaSimulator:
        return self.simulator_class(world, clock, faults, step_seconds=self.sandbox_timings.operation_seconds)

    def sandbox_client(self, settings: BaseModel, simulator: Simulator, clock: Clock) -> AlibabaClient:
        """The real client on the in-process simulator, with its default AccessKey pair."""
        from circuitbot.providers.alibaba.client import AlibabaClient
        from circuitbot.sandbox.alibaba import (
            DEFAULT_ACCESS_KEY_ID,
            DEFAULT_ACCESS_KEY_SECRET,
            AlibabaSimulator,
        )

        assert isinstance(simulator, AlibabaSimulator)
        ali = _alibaba(settings)
        # The configured region first (commands default to it), then the sandbox's others.
        regions = sorted(simulator.regions, key=lambda region: region != ali.region)
        return AlibabaClient(
            access_key_id=DEFAULT_ACCESS_KEY_ID,
            access_key_secret=DEFAULT_ACCESS_KEY_SECRET,
            regions=regions,
            signature_version=ali.signature_version,
            transport=simulator.transport(),
            clock=clock,
            poll_interval=self.sandbox_timings.retry_after_seconds,
        )

    def client(self, settings: BaseModel, clock: Clock) -> AlibabaClient:
        from circuitbot.providers.alibaba.client import AlibabaClient

        ali = _alibaba(settings)
        if not (ali.access_key_id and ali.access_key_secret):
            raise ValueError("Alibaba needs CIRCUITBOT_ALIBABA__ACCESS_KEY_ID and __ACCESS_KEY_SECRET")
        return AlibabaClient(
            access_key_id=ali.access_key_id,
            access_key_secret=ali.access_key_secret,
            security_token=ali.security_token,
            regions=ali.watched_regions,
            signature_version=ali.signature_version,
            endpoint=ali.endpoint,
            clock=clock,
        )

    def poller(self, client: ProviderClient, clock: Clock) -> AlibabaPoller:
        from circuitbot.providers.alibaba.client import AlibabaClient
        from circuitbot.providers.alibaba.poller import AlibabaPoller

        return AlibabaPoller(cast(AlibabaClient, client), clock)

    async def probe(self, client: ProviderClient) -> str:
        """``DescribePhysicalConnections`` with PageSize 1 in the first region: a signed request
        the keys must pass, and the count of connections there."""
        from circuitbot.providers.alibaba.client import AlibabaClient

        alibaba = cast(AlibabaClient, client)
        region = alibaba.default_region
        page = await alibaba.describe_page(region, page_size=1)
        return f"{page.total_count} physical connection(s) in {region}"

    def sample_ids(self, world: World) -> SampleIds:
        """The sandbox's seeded physical connections (the documents' examples)."""
        return SampleIds(present=SAMPLE_IDS, absent="pc-00000000000000000000")


def _alibaba(settings: BaseModel) -> AlibabaSettings:
    if not isinstance(settings, AlibabaSettings):
        raise TypeError(f"Alibaba needs AlibabaSettings, got {type(settings).__name__}")
    return settings


SPEC = AlibabaProvider()
