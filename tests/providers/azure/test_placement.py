"""Port-pair placement on its own: a circuit and the listed pairs in, a target or a refusal out."""

from __future__ import annotations

import pytest

from circuitbot.actions.registry import Refused
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure.client import Fetched
from circuitbot.providers.azure.operations.placement import (
    Placement,
    chosen,
    elsewhere,
    recommendation,
)

KEY = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"


def circuit(
    bandwidth: int, ports: tuple[str, str] = ("sv-p1", "sv-s1")
) -> Fetched[m.ExpressRouteCrossConnection]:
    raw = {
        "name": KEY,
        "properties": {
            "peeringLocation": "Silicon Valley",
            "bandwidthInMbps": bandwidth,
            "primaryAzurePort": ports[0],
            "secondaryAzurePort": ports[1],
        },
    }
    return Fetched(model=m.ExpressRouteCrossConnection.model_validate(raw), raw=raw, etag='W/"1"')


def pair(
    descriptor: str, free: int, location: str = "SiliconValley", n: int = 1
) -> m.ExpressRouteProviderPort:
    return m.ExpressRouteProviderPort.model_validate(
        {
            "name": descriptor,
            "properties": {
                "portPairDescriptor": descriptor,
                "peeringLocation": location,
                "primaryAzurePort": f"sv-p{n}",
                "secondaryAzurePort": f"sv-s{n}",
                "portBandwidthInMbps": 10_000,
                "remainingBandwidthInMbps": free,
            },
        }
    )


PAIRS = [
    pair("pair1", 9_000, n=1),  # the circuit's own ports
    pair("pair2", 2_000, n=2),
    pair("pair3", 500, n=3),
    pair("pair4", 6_000, n=4),
    pair("amsterdam1", 10_000, location="Amsterdam", n=5),
]


def test_only_pairs_at_the_circuits_own_location_count_whatever_their_spelling() -> None:
    place = Placement.of(KEY, circuit(1_000), PAIRS)
    assert [p.descriptor for p in place.pairs] == ["pair1", "pair2", "pair3", "pair4"]
    assert place.current_pair is not None and place.current_pair.descriptor == "pair1"


def test_the_recommendation_is_the_other_pair_with_most_headroom() -> None:
    place = Placement.of(KEY, circuit(1_000), PAIRS)
    assert [p.descriptor for p in place.eligible()] == ["pair4", "pair2"]  # not pair1 (current), not pair3
    assert recommendation(place).descriptor == "pair4"
    assert place.headroom() == (
        "Port pairs at Silicon Valley: pair1 (current): 9,000 Mbps free; pair2: 2,000 Mbps free; "
        "pair3: 500 Mbps free, too little; pair4: 6,000 Mbps free"
    )
    assert place.notes(recommendation(place), recommended=True)[-1] == (
        "After the move pair4 has 5,000 Mbps free."
    )


def test_no_recommendation_when_no_other_pair_has_room() -> None:
    place = Placement.of(KEY, circuit(7_000), PAIRS)
    with pytest.raises(Refused, match="no other port pair at Silicon Valley has 7,000 Mbps free for"):
        recommendation(place)


def test_a_named_pair_is_refused_when_current_or_too_full() -> None:
    place = Placement.of(KEY, circuit(1_000), PAIRS)
    assert chosen(place, " PAIR2 ") is PAIRS[1]
    with pytest.raises(Refused, match=f"{KEY} is already on port pair pair1"):
        chosen(place, "pair1")
    with pytest.raises(Refused, match=f"port pair pair3 has 500 Mbps free; {KEY} needs 1,000 Mbps"):
        chosen(place, "pair3")


def test_a_pair_elsewhere_is_not_chosen_and_its_refusal_says_where_it_is() -> None:
    place = Placement.of(KEY, circuit(1_000), PAIRS)
    assert chosen(place, "amsterdam1") is None
    assert "is at Amsterdam, but" in str(elsewhere(place, "amsterdam1", PAIRS[4]))
    assert str(elsewhere(place, "nowhere", None)).startswith("no port pair `nowhere`")
