"""Comparing snapshots: what changed between two reads of a resource."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from circuitbot.providers.base import Snapshot, is_part_field

ABSENT = "—"  # how a field that is not (or no longer) there reads in a message


@dataclass(frozen=True)
class Change:
    field: str
    old: str | None  # None: the field appeared
    new: str | None  # None: the field went away (a peering deleted)

    def line(self) -> str:
        return f"{self.field}: {self.old or ABSENT} → {self.new or ABSENT}"


def diff(old: Mapping[str, str] | None, new: Mapping[str, str]) -> list[Change]:
    """Every field that differs, the resource's own fields first, then its parts, each by name."""
    old = old or {}
    keys = sorted(set(old) | set(new), key=lambda k: (is_part_field(k), k))
    return [Change(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


def summary(changes: list[Change]) -> str:
    """One line for the timeline and the transition row."""
    return "; ".join(c.line() for c in changes)


def changed_only(changes: list[Change]) -> tuple[Snapshot, Snapshot]:
    """The old and new values of just the changed fields (a transition row keeps no more)."""
    old = {c.field: c.old for c in changes if c.old is not None}
    new = {c.field: c.new for c in changes if c.new is not None}
    return old, new
