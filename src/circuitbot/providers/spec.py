"""What a provider is to the rest of the bot: one :class:`ProviderSpec` per provider package.

Everything that lists providers (the settings, bootstrap's clients and pollers, the registry's
operations and aliases, help, the CLI's ``--provider`` choices, ``check``, ``sandbox serve``)
reads the one tuple in :mod:`circuitbot.providers.catalog`; nothing else names a provider.

Conventions every provider keeps, so the provider-neutral verbs and the engines work on it:

* **``list`` and ``show``.** A provider registers a ``list`` operation and a ``show``
  operation whose first positional parameter is the resource's id: ``/circuit list <provider>``
  and ``/circuit show <provider> <id>`` hand over to them, and ``watch <provider> <id>`` takes
  the same id.
* **Mutating operations** have ``preview``, ``execute``, ``verify`` (did a change whose answer
  was lost land, or is it still in flight?) and ``follow`` (which resource to watch once it ran).
* **The poller** answers :class:`circuitbot.providers.base.Poller`, including its optional
  ``begin_sweep`` and ``normalize``.
* **``probe``** is one cheap read (a token obtained, one short list) for ``circuitbot check``.
* **The vocabulary** says which state values are in flight (polled fast) and which end a
  watch; it is the provider's own, so one provider's states never change how often another's
  resources are polled.
* **The simulator** speaks the provider's wire format and error shape; ``simulator()`` builds
  it with the spec's :class:`SandboxTimings`, the same way for the in-process sandbox and for
  ``circuitbot sandbox serve``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel

if TYPE_CHECKING:
    from circuitbot.actions.registry import Registry
    from circuitbot.clock import Clock
    from circuitbot.providers.base import Poller, StateVocabulary
    from circuitbot.sandbox.base import Simulator
    from circuitbot.sandbox.faults import FaultConfig
    from circuitbot.sandbox.world import World


@dataclass(frozen=True)
class SandboxTimings:
    """How fast the simulated provider works for a person at the shell.

    Real services take half a minute and more for a change; the sandbox answers in seconds so a
    walk through the approval flow stays short, while still showing each state on its way.
    """

    operation_seconds: float
    table_seconds: float = 2.0
    retry_after_seconds: int = 2


@dataclass(frozen=True)
class SampleIds:
    """Ids as ``show`` and ``watch`` take them, of the sandbox's demo world at one provider."""

    present: tuple[str, ...]  # resources the world holds
    absent: str  # well-formed, but no resource has it


@runtime_checkable
class ProviderClient(Protocol):
    """The one thing the runtime does with any provider client: close it on shutdown.

    Operations cast the client they fetch from the runtime to their own provider's class.
    """

    async def aclose(self) -> None: ...


class ProviderSpec(Protocol):
    """A provider, as the rest of the bot sees it (see the module docstring for the conventions).

    ``settings`` given to the factories is the provider's own settings model (``settings_model``),
    read from ``CIRCUITBOT_<NAME>__<FIELD>`` or the TOML file's ``[<name>]`` table.
    """

    name: str  # "azure": the word in commands, settings and audit targets ("azure:<id>")
    aliases: tuple[str, ...]  # short words for commands: ("az",)
    title: str  # one line for help: "Azure ExpressRoute (partner API)"
    settings_model: type[BaseModel]
    sandbox_timings: SandboxTimings

    @property
    def vocabulary(self) -> StateVocabulary:
        """Which state values are in flight and which are terminal."""
        ...

    @property
    def simulator_class(self) -> type[Simulator]: ...

    def configured(self, settings: BaseModel) -> bool:
        """Whether the settings carry enough to reach the real provider."""
        ...

    def register(self, registry: Registry) -> None:
        """Add the provider's operations (and their buttons and forms) to ``registry``."""
        ...

    def client(self, settings: BaseModel, clock: Clock) -> ProviderClient:
        """The client of the real provider API."""
        ...

    def simulator(self, world: World, clock: Clock, faults: FaultConfig | None = None) -> Simulator:
        """The provider's simulator over ``world``, with the spec's sandbox timings."""
        ...

    def sandbox_client(self, settings: BaseModel, simulator: Simulator, clock: Clock) -> ProviderClient:
        """The real client, talking to ``simulator`` in-process over the same HTTP path."""
        ...

    def poller(self, client: ProviderClient, clock: Clock) -> Poller:
        """The watch engine's view of the provider, reading through ``client``."""
        ...

    async def probe(self, client: ProviderClient) -> str:
        """One cheap read through ``client`` that proves its credentials work (``circuitbot check``):
        a few words on what it saw, or the provider's error raised."""
        ...

    def sample_ids(self, world: World) -> SampleIds:
        """Ids of ``world``'s resources at this provider (the conformance suite reads them)."""
        ...
