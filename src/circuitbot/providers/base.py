"""What a provider module offers the watch engine: snapshots of the state that matters.

A :class:`Snapshot` is a flat ``dict[str, str]`` of the fields a person following a circuit
cares about, reduced by the provider, e.g.::

    {"provisioningState": "Updating",
     "serviceProviderProvisioningState": "Provisioned",
     "peering[AzurePrivatePeering].state": "Enabled"}

Keys of the resource itself are plain names; keys of a part of it (a peering, a port) carry the
part in brackets, ``part[name].field``. Any difference between two snapshots is a transition.
A provider's :class:`StateVocabulary` decides how often a resource is polled (fast while
something is in flight, slow when stable) and when a watch ends (a terminal state of the
resource itself).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol, runtime_checkable

Snapshot = dict[str, str]

_CACHED_VALUES = 4096  # a handful of distinct states, read for every watch at every poll


def normalize_state(value: str) -> str:
    """``"PENDING ACCEPTANCE"``, ``"Pending-Acceptance"`` → ``"pending_acceptance"``."""
    return "_".join(value.replace("-", " ").replace("_", " ").split()).casefold()


def is_part_field(key: str) -> bool:
    """Whether a snapshot key belongs to a part of the resource (``peering[…].state``)."""
    return "[" in key


_Kind = Literal["in_flight", "terminal", "stable"]


@dataclass(frozen=True)
class StateVocabulary:
    """One provider's states, compared after :func:`normalize_state`.

    ``in_flight``: something is moving, poll fast; so is any value starting with one of
    ``in_flight_prefixes``. ``terminal``: the resource reached its end, the watch ends. A value
    in both counts as in flight. Each value's reading is cached per vocabulary.
    """

    in_flight: frozenset[str]
    terminal: frozenset[str]
    in_flight_prefixes: tuple[str, ...] = ()
    _kind: Callable[[str], _Kind] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_kind", lru_cache(maxsize=_CACHED_VALUES)(self._read))

    def _read(self, value: str) -> _Kind:
        state = normalize_state(value)
        if state in self.in_flight or state.startswith(self.in_flight_prefixes):
            return "in_flight"
        return "terminal" if state in self.terminal else "stable"

    def is_transitional(self, snapshot: Mapping[str, str] | None) -> bool:
        """Something (the resource or one of its parts) is in flight."""
        return any(self._kind(v) == "in_flight" for v in (snapshot or {}).values())

    def terminal_state(self, snapshot: Mapping[str, str] | None) -> str | None:
        """The end state the resource itself reached, if it did.

        Only the resource's own fields count (a deleted peering does not end the circuit), and
        not while another of its own fields is still in flight: Equinix reports
        ``providerStatus`` DEPROVISIONED while ``equinixStatus`` is still DEPROVISIONING, and the
        watch should see the last step too.
        """
        if not snapshot:
            return None
        kinds = [(v, self._kind(v)) for k, v in snapshot.items() if not is_part_field(k)]
        if any(kind == "in_flight" for _, kind in kinds):
            return None
        return next((v for v, kind in kinds if kind == "terminal"), None)


# For pollers of providers without a spec (the test doubles): the states every provider so far
# uses. Any value starting with "pending" is in flight too (PENDING_APPROVAL, PENDING ACCEPTANCE,
# PENDING_BGP_PEERING, …).
GENERIC_VOCABULARY = StateVocabulary(
    in_flight=frozenset(
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
    ),
    terminal=frozenset({"deprovisioned", "deleted", "terminated", "canceled", "cancelled"}),
    in_flight_prefixes=("pending",),
)


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

    A poller may also be a :class:`SweepingPoller` (``begin_sweep``) and a
    :class:`NormalizingPoller` (``normalize``). Those members are optional, so they are
    protocols of their own: ``isinstance(p, Poller)`` holds for a poller without them.
    """

    provider: str

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]: ...

    async def snapshot_one(self, resource_id: str) -> Snapshot | None: ...

    def describe(self, resource_id: str, snapshot: Snapshot | None) -> str:
        """A short human label for the resource (its name, or a shortened id)."""
        ...


@runtime_checkable
class SweepingPoller(Protocol):
    """A poller that reads many resources with one listing and shares it among the batches."""

    def begin_sweep(self) -> None:
        """A tick starts: the next batch must read afresh, not answer from an earlier tick.

        The watch engine calls it on every poller that has it once at the start of each tick,
        before handing over that tick's batches (several at once, then further rounds). Within
        the sweep the poller may answer every batch from one listing, concurrent batches
        waiting for the one in flight; the Azure poller does so.
        """
        ...


@runtime_checkable
class NormalizingPoller(Protocol):
    """A poller whose resource ids have more than one spelling."""

    def normalize(self, resource_id: str) -> str:
        """The one spelling ``resource_id`` is stored, compared and read in (lower case where
        the provider's ids ignore case), so two spellings of one resource are one watch.
        Without it ids are only stripped; callers go through :func:`normalize_resource_id`."""
        ...


def normalize_resource_id(poller: Poller, resource_id: str) -> str:
    """``resource_id`` as ``poller`` spells it (its ``normalize``), or stripped of spaces."""
    if isinstance(poller, NormalizingPoller):
        return poller.normalize(resource_id)
    return resource_id.strip()
