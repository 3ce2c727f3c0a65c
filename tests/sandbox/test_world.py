"""The demo world is pinned: every simulator, test and demo relies on these exact circuits."""

from __future__ import annotations

import hashlib

from circuitbot.sandbox.world import CarrierLeg, CircuitStage, PeeringSeed, World

_SUBSCRIPTIONS = {
    "Contoso": "5d9bbafb-fea7-5f8f-bbe7-78395208f20b",
    "Fabrikam": "1a0e63ea-8785-5365-ad92-631f7478e1f5",
    "Northwind Traders": "0096ff50-1510-5070-8e9c-1fdb6f6c0d50",
    "Woodgrove Bank": "aba292e9-c216-5ce3-b831-03de6c04eeab",
    "Tailspin Toys": "c408c801-1995-5abf-ab3c-627858e66651",
}

# service key, customer, location, Mbps, resource group, circuit name, port pair, s-tag, stage
_HANDMADE = [
    (
        "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f",
        "Contoso",
        "EUAP Test",
        200,
        "crossconnectiontest",
        "TestCircuitXYZ",
        "euaparmtest06gmrportpair",
        3,
        CircuitStage.AWAITING_PROVIDER,
    ),
    (
        "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        "Contoso",
        "EUAP Test",
        200,
        "crossconnectiontest",
        "TestCircuit2",
        "euaparmtest06gmrportpair",
        4,
        CircuitStage.PROVISIONED,
    ),
    (
        "24e6ea2b-6940-4bec-b0b3-3a9e5471e512",
        "Fabrikam",
        "SiliconValley",
        1000,
        "ertest",
        "er1",
        "bvtazureixpportpair1",
        2,
        CircuitStage.PROVISIONED,
    ),
    (
        "99973578-36f9-47f8-b12f-afa3faf02d06",
        "Northwind Traders",
        "Seattle",
        500,
        "network-prod",
        "er-seattle",
        "bvtazureixpportpair2",
        2,
        CircuitStage.PROVISIONING,
    ),
    (
        "cccc2c2c-dd3d-ee4e-ff5f-aaaaaa6a6a6a",
        "Woodgrove Bank",
        "SiliconValley",
        1000,
        "er-west",
        "er-woodgrove-sv",
        "bvtazureixpportpair3",
        5,
        CircuitStage.PROVISIONED,
    ),
    (
        "dddd3d3d-ee4e-ff5f-aa6a-bbbbbb7b7b7b",
        "Tailspin Toys",
        "Seattle",
        200,
        "legacy-net",
        "er-tailspin-old",
        "bvtazureixpportpair2",
        3,
        CircuitStage.DEPROVISIONING,
    ),
]

_LEGS = {
    "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f": (),
    "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e": (
        CarrierLeg("consoleconnect", "507f1f77bcf86cd799439011", "Contoso EUAP Test"),
    ),
    "24e6ea2b-6940-4bec-b0b3-3a9e5471e512": (
        CarrierLeg(
            "equinix",
            "006d08e2-788e-4c83-82d3-07b1787644a5",
            "Fabrikam-SV-ER-PRI",
            secondary_id="0cfd803a-5063-58e7-bfc2-b5e5da90ec9b",
        ),
    ),
    "99973578-36f9-47f8-b12f-afa3faf02d06": (
        CarrierLeg(
            "equinix",
            "ff4a77f5-005d-59a1-b5af-dc0faa9997af",
            "Northwind-SE-ER-PRI",
            secondary_id="08e57dad-2096-588b-aa97-e36333c2e64d",
        ),
    ),
    "cccc2c2c-dd3d-ee4e-ff5f-aaaaaa6a6a6a": (
        CarrierLeg(
            "equinix",
            "76454d2c-78b7-5a24-af20-a828e8bb1273",
            "Woodgrove-SV-ER-PRI",
            secondary_id="0cc8f8f9-ec23-5a1d-8754-c419460bb191",
        ),
        CarrierLeg("consoleconnect", "5f1e2d3c4b5a69788796a5b4", "Woodgrove SV backup"),
    ),
    "dddd3d3d-ee4e-ff5f-aa6a-bbbbbb7b7b7b": (
        CarrierLeg("consoleconnect", "60a1b2c3d4e5f60718293a4b", "Tailspin Seattle"),
    ),
}

_PEERINGS = {
    "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e": (
        PeeringSeed(
            "AzurePrivatePeering",
            peer_asn=500,
            vlan_id=200,
            primary_peer_address_prefix="10.0.0.0/30",
            secondary_peer_address_prefix="10.0.0.4/30",
            shared_key="A1B2C3D4",
        ),
    ),
    "24e6ea2b-6940-4bec-b0b3-3a9e5471e512": (
        PeeringSeed(
            "AzurePrivatePeering",
            peer_asn=65010,
            vlan_id=210,
            primary_peer_address_prefix="10.10.0.0/30",
            secondary_peer_address_prefix="10.10.0.4/30",
        ),
    ),
    "cccc2c2c-dd3d-ee4e-ff5f-aaaaaa6a6a6a": (
        PeeringSeed(
            "MicrosoftPeering",
            peer_asn=900,
            vlan_id=300,
            primary_peer_address_prefix="203.0.113.0/30",
            secondary_peer_address_prefix="203.0.113.4/30",
            advertised_public_prefixes=("203.0.113.128/25",),
            customer_asn=45,
            routing_registry_name="ARIN",
        ),
    ),
}


def _digest(world: World) -> str:
    """A stable summary of a whole world: the dataclass reprs hold every field."""
    return hashlib.sha256(repr(world).encode()).hexdigest()


def test_the_demo_world_holds_the_documents_locations_and_port_pairs() -> None:
    world = World.demo()

    assert world.partner_subscription_id == "fd160d8a-566d-5ab1-bf30-8bbc5ba0f1cb"
    assert world.company == "Acme"
    assert [(loc.name, loc.arm_location, loc.equinix_metro, loc.metro_name) for loc in world.locations] == [
        ("SiliconValley", "westus", "SV", "Silicon Valley"),
        ("Seattle", "westus2", "SE", "Seattle"),
        ("EUAP Test", "eastus2euap", "DC", "Ashburn"),
    ]
    assert [
        (
            pair.descriptor,
            pair.peering_location,
            pair.primary_azure_port,
            pair.secondary_azure_port,
            pair.location,
        )
        for pair in world.port_pairs
    ] == [
        ("bvtazureixpportpair1", "SiliconValley", "bvtazureixp01a", "bvtazureixp01b", "uswest"),
        ("bvtazureixpportpair2", "Seattle", "bvtazureixp02a", "bvtazureixp02b", "uswest"),
        ("bvtazureixpportpair3", "SiliconValley", "bvtazureixp03a", "bvtazureixp03b", "uswest"),
        (
            "euaparmtest06gmrportpair",
            "EUAP Test",
            "EUAP-ARMTEST-06GMR-CIS-1-PRI-A",
            "EUAP-ARMTEST-06GMR-CIS-2-SEC-A",
            "eastus2euap",
        ),
    ]


def test_the_demo_world_holds_exactly_the_handmade_circuits_in_order() -> None:
    circuits = World.demo().circuits

    assert [
        (
            c.service_key,
            c.customer,
            c.peering_location,
            c.bandwidth_mbps,
            c.azure.resource_group,
            c.azure.name,
            c.port_pair,
            c.s_tag,
            c.stage,
        )
        for c in circuits
    ] == _HANDMADE


def test_each_handmade_circuit_has_its_azure_id_legs_and_peerings() -> None:
    for circuit in World.demo().circuits:
        subscription = _SUBSCRIPTIONS[circuit.customer]
        assert circuit.azure.id == (
            f"/subscriptions/{subscription}/resourceGroups/{circuit.azure.resource_group}"
            f"/providers/Microsoft.Network/expressRouteCircuits/{circuit.azure.name}"
        )
        assert circuit.legs == _LEGS[circuit.service_key]
        assert circuit.peerings == _PEERINGS.get(circuit.service_key, ())


def test_the_demo_world_with_generated_circuits_is_unchanged() -> None:
    world = World.demo(extra_circuits=50)

    assert len(world.circuits) == 56
    assert _digest(World.demo()) == "c75a8fd00e78d9d39903ef125cff58b2a65c2dad4f01ffa0cf4bb5d72d57b2d4"
    assert _digest(world) == "a9bbf5c66dd95ac68ece6f4d4bbce8baada005f43924a27e91ba1bdf4561b9e5"
