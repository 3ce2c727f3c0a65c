"""The rules that name where a circuit's legs disagree, one by one, on legs as providers give them."""

from __future__ import annotations

from dataclasses import replace

from circuitbot.endtoend.consistency import findings
from circuitbot.endtoend.finding import CircuitLegs, Unreachable
from circuitbot.providers.legs import Leg, Role, Standing

KEY = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"
LABELS = {"azure": "Azure", "equinix": "Equinix", "consoleconnect": "Console Connect"}

AZURE = Leg(
    provider="azure",
    role=Role.AZURE,
    resource_id=KEY,
    name="er1",
    standing=Standing.LIVE,
    states={"serviceProviderProvisioningState": "Provisioned", "provisioningState": "Succeeded"},
    bandwidth_mbps=1000,
)
PRIMARY = Leg(
    provider="equinix",
    role=Role.CARRIER,
    resource_id="006d08e2-788e-4c83-82d3-07b1787644a5",
    name="Fabrikam-SV-ER-PRI",
    standing=Standing.LIVE,
    states={"status": "PROVISIONED", "providerStatus": "PROVISIONED"},
    side="primary",
    bandwidth_mbps=1000,
)
SECONDARY = replace(PRIMARY, resource_id="0cfd803a", name="Fabrikam-SV-ER-SEC", side="secondary")
CONSOLE = Leg(
    provider="consoleconnect",
    role=Role.CARRIER,
    resource_id="5f1e2d3c4b5a69788796a5b4",
    name="backup",
    standing=Standing.LIVE,
    states={"status": "ACTIVE", "partnerPeering": "PROVISIONED"},
    bandwidth_mbps=1000,
    azure_state_reported="PROVISIONED",
)


def azure_in(state: str, standing: Standing) -> Leg:
    return replace(AZURE, standing=standing, states={"serviceProviderProvisioningState": state})


def circuit(*legs: Leg, unreachable: tuple[str, ...] = ()) -> CircuitLegs:
    asked = tuple(name for name in LABELS if name not in unreachable)
    gone = tuple(Unreachable(name, "503") for name in unreachable)
    return CircuitLegs(KEY, legs, asked, gone, LABELS)


def test_legs_that_agree_need_no_attention() -> None:
    assert findings(circuit(AZURE, PRIMARY, SECONDARY, CONSOLE)) == []


def test_a_carrier_live_while_azure_is_not_provisioned_asks_the_partner_to_act() -> None:
    azure = replace(
        AZURE,
        standing=Standing.NOT_PROVISIONED,
        states={"serviceProviderProvisioningState": "NotProvisioned"},
    )

    assert findings(circuit(azure, PRIMARY, SECONDARY))[:2] == [
        "Equinix primary PROVISIONED but Azure serviceProviderProvisioningState is NotProvisioned: "
        "the partner must set Provisioned",
        "Equinix secondary PROVISIONED but Azure serviceProviderProvisioningState is NotProvisioned: "
        "the partner must set Provisioned",
    ]


def test_a_carrier_still_live_while_azure_deprovisions_is_to_be_deleted() -> None:
    azure = replace(
        AZURE, standing=Standing.ENDING, states={"serviceProviderProvisioningState": "Deprovisioning"}
    )

    assert findings(circuit(azure, CONSOLE)) == [
        "Azure serviceProviderProvisioningState is Deprovisioning but Console Connect is still ACTIVE: "
        "delete it at Console Connect",
        "Console Connect reports Azure as PROVISIONED but Azure says Deprovisioning: "
        "Console Connect has not caught up yet, or missed a change",
    ]


def test_a_path_gone_under_a_live_circuit_is_at_risk() -> None:
    gone = replace(SECONDARY, standing=Standing.GONE, states={"status": "DEPROVISIONED"})

    assert findings(circuit(AZURE, PRIMARY, gone)) == [
        "Azure serviceProviderProvisioningState is Provisioned but Equinix secondary is DEPROVISIONED: "
        "traffic on this path is at risk"
    ]


def test_bandwidths_that_differ_are_named_per_provider() -> None:
    slow = [replace(leg, bandwidth_mbps=500) for leg in (PRIMARY, SECONDARY)]

    assert findings(circuit(AZURE, *slow)) == ["bandwidth 1000 Mbps at Azure but 500 at Equinix"]


def test_half_a_redundant_pair_is_named() -> None:
    assert findings(circuit(AZURE, PRIMARY)) == [
        "Equinix has a primary connection but no secondary: no redundancy"
    ]


def test_carrier_legs_without_an_azure_leg_point_at_the_key() -> None:
    assert findings(circuit(PRIMARY, SECONDARY)) == [
        "Equinix carries this key but no Azure cross-connection has it: the key may be mistyped at "
        "the carrier, or the circuit deleted at Azure"
    ]


def test_nothing_is_concluded_about_a_provider_that_did_not_answer() -> None:
    assert findings(circuit(PRIMARY, SECONDARY, unreachable=("azure",))) == []


def test_a_failed_write_at_azure_is_named() -> None:
    failed = replace(AZURE, standing=Standing.FAILED, states={**AZURE.states, "provisioningState": "Failed"})

    assert findings(circuit(failed, PRIMARY, SECONDARY)) == [
        "Azure provisioningState is Failed: the last change to the cross-connection failed"
    ]
