"""What a provider module offers the watch engine: snapshots of the state that matters.

A :class:`Snapshot` is a flat ``dict[str, str]`` of the fields a person following a circuit
cares about, reduced by the provider, e.g.::

    {"provisioningState": "Updating",
     "serviceProviderProvisioningState": "Provisioned",
     "peering[AzurePrivatePeering].state": "Enabled"}

Keys of the resource itself are plain names; keys of a part of it (a peering, a port) carry the
part in brackets, ``part[name].field``. Any difference between two snapshots is a transition.
The vocabulary below decides how often a resource is polled (fast while something is in
flight, slow when stable) and when a watch ends (a terminal state of the resource itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

Snapshot = dict[str, str]

# States in flight: poll fast. Compared after normalize_state(); any value starting with
# "pending" counts too (PENDING_APPROVAL, PENDING ACCEPTANCE, PENDING_BGP_PEERING, …).
TRANSITIONAL_STATES = frozenset(
    {
        "updating",
        "provisioning",
        "reprovisioning",
        "deprovisioning",
        "creating",
        "deleting",
        "allocating",
        "syncing",
        "terminating",
        "enabling",
        "disabling",
        "in_progress",
        "inprogress",
        "configuring",
        "validationneeded",  # Microsoft peering: the advertised prefixes await validation
    }
)
TRANSITIONAL_PREFIXES = ("pending",)

# End states of a resource: announced, then the watch ends.
TERMINAL_STATES = frozenset({"deprovisioned", "deleted", "terminated", "canceled", "cancelled"})


def normalize_state(value: str) -> str:
    """``"PENDING ACCEPTANCE"``, ``"Pending-Acceptance"`` → ``"pending_acceptance"``."""
    return "_".join(value.replace("-", " ").replace("_", " ").split()).casefold()


def is_part_field(key: str) -> bool:
    """Whether a snapshot key belongs to a part of the resource (``peering[…].state``)."""
    return "[" in key


@lru_cache(maxsize=4096)  # a handful of distinct states, read for every watch at every poll
def _is_transitional_value(value: str) -> bool:
    state = normalize_state(value)
    return state in TRANSITIONAL_STATES or state.startswith(TRANSITIONAL_PREFIXES)


def is_transitional(snapshot: Mapping[str, str] | None) -> bool:
    """Something (the resource or one of its parts) is in flight."""
    return bool(snapshot) and any(_is_transitional_value(v) for v in snapshot.values())


def terminal_state(snapshot: Mapping[str, str] | None) -> str | None:
    """The end state the resource itself reached, if it did.

    Only the resource's own fields count (a deleted peering does not end the circuit), and not
    while another of its own fields is still in flight: Equinix reports ``providerStatus``
    DEPROVISIONED while ``equinixStatus`` is still DEPROVISIONING, and the watch should see the
    last step too.
    """
    if not snapshot:
        return None
    own = [v for k, v in snapshot.items() if not is_part_field(k)]
    if any(_is_transitional_value(v) for v in own):
        return None
    return next((v for v in own if _is_terminal_value(v)), None)


@lru_cache(maxsize=4096)
def _is_terminal_value(value: str) -> bool:
    return normalize_state(value) in TERMINAL_STATES


def is_terminal(snapshot: Mapping[str, str] | None) -> bool:
    return terminal_state(snapshot) is not None


def snapshot_of(values: Mapping[str, Any]) -> Snapshot:
    """A snapshot from whatever a provider read: keys and values as strings, absent values dropped."""
    return {str(k): str(v) for k, v in values.items() if v is not None and v != ""}


@runtime_checkable
class Poller(Protocol):
    """One provider's polling side, registered in ``Runtime.pollers`` under its provider name.

    ``snapshot_many`` is the batched strategy: given up to ``settings.watch.batch_size`` ids, it
    uses the provider's list call (with paging) where one exists, rather than one GET per
    resource. It answers every id it was given: a Snapshot, ``None`` when the resource does not
    exist, or the Exception that kept it from reading that one resource. Raising instead means
    the whole batch failed. ``snapshot_one`` is the per-resource strategy (one resource, one
    read), kept for comparison and used to check a resource exists before it is watched.

    A poller may also offer ``normalize(resource_id) -> str``: the one spelling an id is stored,
    compared and read in (lower case where the provider's ids are case-insensitive), so two
    spellings of one resource are one watch. Without it ids are only stripped; callers go
    through :func:`normalize_resource_id`.
    """

    provider: str

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]: ...

    async def snapshot_one(self, resource_id: str) -> Snapshot | None: ...

    def describe(self, resource_id: str, snapshot: Snapshot | None) -> str:
        """A short human label for the resource (its name, or a shortened id)."""
        ...


def normalize_resource_id(poller: Poller, resource_id: str) -> str:
    """``resource_id`` as ``poller`` spells it (its ``normalize``), or stripped of spaces."""
    normalize = getattr(poller, "normalize", None)
    return normalize(resource_id) if callable(normalize) else resource_id.strip()


# TEMPORARY until the watch branch lands (its version replaces this).
from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True)
class StateVocabulary:
    in_flight: frozenset[str]
    terminal: frozenset[str]
    in_flight_prefixes: tuple[str, ...] = ()

    def is_transitional(self, snapshot: Mapping[str, str] | None) -> bool:
        return is_transitional(snapshot)

    def terminal_state(self, snapshot: Mapping[str, str] | None) -> str | None:
        return terminal_state(snapshot)


GENERIC_VOCABULARY = StateVocabulary(TRANSITIONAL_STATES, TERMINAL_STATES, TRANSITIONAL_PREFIXES)
