"""One circuit's legs: what each provider holds under an Azure ExpressRoute service key.

The service key names one customer circuit everywhere: the cross-connection's name at Azure,
the ``authorizationKey`` (Fabric v3) or zSide ``authenticationKey`` (v4) of an Equinix
connection, the ``azureServiceKey`` (``partner.serviceKey``) of a Console Connect connection.
A provider that can be searched by key offers :class:`KeyedProvider` on its spec and answers
with provider-neutral :class:`Leg` values; ``endtoend`` compares them.

A leg's :attr:`Leg.standing` is the provider's own reading of its states, reduced to what can
be compared across providers. It is the provider's call, since each names the same thing
differently (Azure ``Provisioned``, Equinix ``PROVISIONED``, Console Connect ``ACTIVE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from circuitbot.providers.base import normalize_state

if TYPE_CHECKING:
    from circuitbot.providers.spec import ProviderClient


class Standing(StrEnum):
    """Where a leg stands, as every provider can say it."""

    LIVE = "live"  # provisioned at that provider and carrying (or ready to carry) traffic
    PENDING = "pending"  # a change is on its way (provisioning, awaiting acceptance, updating)
    NOT_PROVISIONED = "not provisioned"  # exists, but that provider has not set it up
    ENDING = "ending"  # on its way out (deprovisioning, deleting)
    GONE = "gone"  # deprovisioned or deleted, still listed
    FAILED = "failed"  # the provider gave up on it


# A carrier's overall status word, after normalize_state, as a Standing. Equinix (v3 status, v4
# state) and Console Connect share these words; anything else starting with "pending" is pending.
_CARRIER_WORDS = {
    Standing.LIVE: ("provisioned", "active"),
    Standing.PENDING: ("provisioning", "reprovisioning", "ordering", "creating", "accepted", "draft"),
    Standing.ENDING: ("deprovisioning", "deleting"),
    Standing.GONE: ("deprovisioned", "deleted", "cancelled", "canceled", "disabled"),
    Standing.FAILED: ("failed", "rejected", "denied", "error"),
    Standing.NOT_PROVISIONED: ("not_provisioned",),
}
_CARRIER_STANDING = {word: standing for standing, words in _CARRIER_WORDS.items() for word in words}


def carrier_standing(status: str | None) -> Standing:
    """A carrier connection's overall status as a Standing; unknown words count as pending,
    so the card shows them and the comparisons leave them alone."""
    word = normalize_state(status or "")
    return _CARRIER_STANDING.get(word, Standing.PENDING)


class Role(StrEnum):
    AZURE = "azure"  # the cross-connection: the partner's view of the customer's circuit
    CARRIER = "carrier"  # a connection a buyer ordered at a carrier (Equinix, Console Connect)


@dataclass(frozen=True)
class Leg:
    """One resource at one provider that carries the circuit.

    ``states`` are the provider's own fields and values, by their wire names, in the order a
    person reads them; ``facts`` are the rest worth showing (ports, VLAN, location), also in
    order. ``side`` is ``primary``/``secondary`` where the provider splits the circuit in two.
    """

    provider: str
    role: Role
    resource_id: str  # as ``show`` and ``watch`` take it
    name: str
    standing: Standing
    states: dict[str, str]
    side: str | None = None
    bandwidth_mbps: int | None = None
    location: str | None = None  # Azure peering location, or the carrier's metro
    facts: tuple[tuple[str, str], ...] = ()
    parts: tuple[tuple[str, str], ...] = field(default=())  # (part, state): Azure's peerings
    # A carrier that reports Azure's side of the circuit (Console Connect's partner.peering):
    # what it last heard, to be compared with what Azure says.
    azure_state_reported: str | None = None

    @property
    def status(self) -> str:
        """The leg's overall status word as its provider spelled it (its first state)."""
        return next(iter(self.states.values()), self.standing.value)

    @property
    def label(self) -> str:
        """How the card and the transitions name this leg: ``equinix primary``."""
        return f"{self.provider} {self.side}" if self.side else self.provider


@runtime_checkable
class KeyedProvider(Protocol):
    """A provider spec whose resources can be found by an Azure service key."""

    name: str
    label: str  # a short display name: "Equinix"

    async def legs_for_key(self, client: ProviderClient, service_key: str) -> Sequence[Leg]:
        """Every leg at this provider that the key names (none: an empty sequence). Deleted
        resources a provider still lists are left out; its errors are raised as they come."""
        ...
