"""Where a circuit can move: the port pairs of its peering location and their headroom.

Pure: the circuit as read and the port pairs as listed go in; the pair to move to (the one
with the most bandwidth free, unless one is named) or a ``Refused`` saying why not comes out.
A circuit moves only between port pairs of its own peering location, never onto the pair it
is on, and only onto a pair with at least its bandwidth free. ``move`` does the reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from circuitbot.actions.registry import Refused
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure import render
from circuitbot.providers.azure.client import Fetched
from circuitbot.providers.azure.operations.common import region


def ports_of(pair: m.ExpressRouteProviderPort) -> tuple[str, str]:
    ports = render.pair_properties(pair)
    return (ports.primary_azure_port or "", ports.secondary_azure_port or "")


def remaining(pair: m.ExpressRouteProviderPort) -> int:
    return render.pair_properties(pair).remaining_bandwidth_in_mbps or 0


@dataclass
class Placement:
    """A circuit and the port pairs it could sit on: those at its own peering location."""

    key: str
    current: Fetched[m.ExpressRouteCrossConnection] = field(repr=False)  # its peerings' keys inside
    pairs: list[m.ExpressRouteProviderPort]  # at the circuit's peering location

    @classmethod
    def of(
        cls,
        key: str,
        current: Fetched[m.ExpressRouteCrossConnection],
        listed: list[m.ExpressRouteProviderPort],
    ) -> Placement:
        """The placement among ``listed`` pairs: the listing may also match the ARM region, so
        only the circuit's own peering location counts."""
        location = region(render.cc_properties(current.model).peering_location)
        return cls(
            key,
            current,
            [p for p in listed if region(render.pair_properties(p).peering_location) == location],
        )

    @property
    def properties(self) -> m.ExpressRouteCrossConnectionProperties:
        return render.cc_properties(self.current.model)

    @property
    def bandwidth(self) -> int:
        return self.properties.bandwidth_in_mbps or 0

    @property
    def location(self) -> str:
        return self.properties.peering_location or "?"

    @property
    def ports(self) -> tuple[str, str]:
        return (self.properties.primary_azure_port or "", self.properties.secondary_azure_port or "")

    @property
    def current_pair(self) -> m.ExpressRouteProviderPort | None:
        here = tuple(p.lower() for p in self.ports)
        return next((p for p in self.pairs if tuple(x.lower() for x in ports_of(p)) == here), None)

    def is_current(self, pair: m.ExpressRouteProviderPort) -> bool:
        current = self.current_pair
        return current is not None and (current.descriptor or "").lower() == (pair.descriptor or "").lower()

    def eligible(self) -> list[m.ExpressRouteProviderPort]:
        """Pairs it could move to, most headroom first."""
        fits = [p for p in self.pairs if not self.is_current(p) and remaining(p) >= self.bandwidth]
        return sorted(fits, key=lambda p: (-remaining(p), p.descriptor or ""))

    def find(self, descriptor: str) -> m.ExpressRouteProviderPort | None:
        return next(
            (p for p in self.pairs if (p.descriptor or "").lower() == descriptor.strip().lower()), None
        )

    def headroom(self) -> str:
        parts = []
        for pair in sorted(self.pairs, key=lambda p: p.descriptor or ""):
            tag = " (current)" if self.is_current(pair) else ""
            fits = "" if self.is_current(pair) or remaining(pair) >= self.bandwidth else ", too little"
            parts.append(f"{pair.descriptor}{tag}: {render.mbps(remaining(pair))} free{fits}")
        return f"Port pairs at {self.location}: " + "; ".join(parts)

    def notes(self, target: m.ExpressRouteProviderPort, recommended: bool) -> list[str]:
        """What the approver reads about moving to ``target``: why it, headroom, room left."""
        notes = []
        if recommended:
            notes.append(
                f"Recommended {target.descriptor}: the most headroom at {self.location} "
                f"({render.mbps(remaining(target))} free). "
                f"Name another with `az move {self.key} <port-pair>`."
            )
        notes.append(self.headroom())
        notes.append(
            f"After the move {target.descriptor} has {render.mbps(remaining(target) - self.bandwidth)} free."
        )
        return notes


def recommendation(place: Placement) -> m.ExpressRouteProviderPort:
    """The pair with the most headroom; Refused when no other pair has room for the circuit."""
    eligible = place.eligible()
    if not eligible:
        raise Refused(
            f"no other port pair at {place.location} has {render.mbps(place.bandwidth)} free for "
            f"{place.key}. {place.headroom()}"
        )
    return eligible[0]


def chosen(place: Placement, descriptor: str) -> m.ExpressRouteProviderPort | None:
    """The named pair when the circuit can move to it; None when it is not at the circuit's
    location (``elsewhere`` then says why); Refused when it is the current one or too full."""
    target = place.find(descriptor)
    if target is None:
        return None
    if place.is_current(target):
        raise Refused(f"{place.key} is already on port pair {target.descriptor}")
    if remaining(target) < place.bandwidth:
        raise Refused(
            f"port pair {target.descriptor} has {render.mbps(remaining(target))} free; {place.key} needs "
            f"{render.mbps(place.bandwidth)}. {place.headroom()}"
        )
    return target


def elsewhere(place: Placement, descriptor: str, found: m.ExpressRouteProviderPort | None) -> Refused:
    """The refusal of a pair not at the circuit's location: ``found`` is it as looked up, if it exists."""
    if found is None:
        return Refused(
            f"no port pair `{descriptor}`; `az ports {place.location}` lists those the circuit can use"
        )
    there = render.pair_properties(found).peering_location
    return Refused(
        f"port pair {found.descriptor} is at {there}, but {place.key} is at {place.location}: "
        "a circuit moves only between port pairs of its own peering location"
    )
