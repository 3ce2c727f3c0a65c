"""Where a circuit's legs disagree, in words an engineer can act on.

Each rule compares the Azure leg (the partner's cross-connection) with the carrier legs, or the
carrier legs with each other, and says what is wrong and, where there is one, who must act.
Rules only speak about providers that answered: an unreachable provider is shown as such on the
card, never read as "no leg there". Values are the providers' own words, escaped by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from circuitbot.endtoend.finding import CircuitLegs
from circuitbot.providers.base import normalize_state
from circuitbot.providers.legs import Leg, Standing

AZURE_STATE = "serviceProviderProvisioningState"


def _azure_state(azure: Leg) -> str:
    return azure.states.get(AZURE_STATE, azure.standing.value)


def _missing_at_azure(found: CircuitLegs) -> Iterator[str]:
    if found.azure is None and found.carriers and "azure" in found.asked:
        where = " and ".join(sorted({found.label(leg.provider) for leg in found.carriers}))
        yield (
            f"{where} carries this key but no Azure cross-connection has it: the key may be "
            "mistyped at the carrier, or the circuit deleted at Azure"
        )


def _provisioning(found: CircuitLegs) -> Iterator[str]:
    azure = found.azure
    if azure is None:
        return
    at_azure = f"Azure {AZURE_STATE} is {_azure_state(azure)}"
    for leg in found.carriers:
        carrier = found.label(leg.provider)
        name = f"{carrier} {leg.side}" if leg.side else carrier
        if leg.standing == Standing.LIVE and azure.standing == Standing.NOT_PROVISIONED:
            yield f"{name} {leg.status} but {at_azure}: the partner must set Provisioned"
        elif leg.standing == Standing.LIVE and azure.standing == Standing.ENDING:
            yield f"{at_azure} but {name} is still {leg.status}: delete it at {carrier}"
        elif azure.standing == Standing.LIVE and leg.standing in (
            Standing.ENDING,
            Standing.GONE,
            Standing.FAILED,
        ):
            yield f"{at_azure} but {name} is {leg.status}: traffic on this path is at risk"


def _bandwidth(found: CircuitLegs) -> Iterator[str]:
    azure = found.azure
    if azure is None or azure.bandwidth_mbps is None:
        return
    for provider in dict.fromkeys(leg.provider for leg in found.carriers):
        speeds = sorted({leg.bandwidth_mbps for leg in found.at(provider) if leg.bandwidth_mbps is not None})
        odd = [s for s in speeds if s != azure.bandwidth_mbps]
        if odd:
            shown = " and ".join(str(s) for s in odd)
            yield f"bandwidth {azure.bandwidth_mbps} Mbps at Azure but {shown} at {found.label(provider)}"


def _redundancy(found: CircuitLegs) -> Iterator[str]:
    for provider in dict.fromkeys(leg.provider for leg in found.carriers):
        sides = {leg.side for leg in found.at(provider)}
        if None in sides or not sides:
            continue  # this provider does not split the circuit in two
        for have, lack in (("primary", "secondary"), ("secondary", "primary")):
            if sides == {have}:
                yield f"{found.label(provider)} has a {have} connection but no {lack}: no redundancy"


def _carrier_view_of_azure(found: CircuitLegs) -> Iterator[str]:
    """A carrier that reports Azure's side (Console Connect's ``partner.peering``) against Azure."""
    azure = found.azure
    if azure is None:
        return
    actual = _azure_state(azure)
    for leg in found.carriers:
        reported = leg.azure_state_reported
        if reported and _squeezed(reported) != _squeezed(actual):
            yield (
                f"{found.label(leg.provider)} reports Azure as {reported} but Azure says {actual}: "
                f"{found.label(leg.provider)} has not caught up yet, or missed a change"
            )


def _azure_failed(found: CircuitLegs) -> Iterator[str]:
    azure = found.azure
    if azure is not None and azure.standing == Standing.FAILED:
        state = azure.states.get("provisioningState", "Failed")
        yield f"Azure provisioningState is {state}: the last change to the cross-connection failed"


def _squeezed(value: str) -> str:
    """``NOT PROVISIONED`` and ``NotProvisioned`` alike."""
    return normalize_state(value).replace("_", "")


RULES: tuple[Callable[[CircuitLegs], Iterator[str]], ...] = (
    _missing_at_azure,
    _azure_failed,
    _provisioning,
    _carrier_view_of_azure,
    _bandwidth,
    _redundancy,
)


def findings(found: CircuitLegs) -> list[str]:
    """Every disagreement between the legs, most pressing first."""
    return [line for rule in RULES for line in rule(found)]
