"""The Azure wire models against the official examples and the partner docs, unchanged.

Every JSON example under ``data/azure/**/examples`` and every JSON snippet in seeds 000 and 001
(``data/seeds``) must parse, and dumping it again must give back the same JSON: nothing
dropped, nothing added, unknown fields kept.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from circuitbot.providers.azure import models as m
from support.paths import CONTRACT_DATA

AZURE_CONTRACTS = CONTRACT_DATA / "azure"
SEEDS = CONTRACT_DATA / "seeds"

# operationId (or file stem) → model of each response body and of each request-body parameter
EXAMPLES: dict[str, dict[str, Any]] = {
    "ExpressRouteCrossConnectionBgpPeeringGet.json": {
        "responses": {"200": m.ExpressRouteCrossConnectionPeering},
    },
    "ExpressRouteCrossConnectionList.json": {
        "responses": {"200": m.ExpressRouteCrossConnectionListResult},
    },
    "expressRouteProviderPortList.json": {
        "responses": {"200": m.ExpressRouteProviderPortListResult},
    },
    "expressRouteProviderPort.json": {
        "responses": {"200": m.ExpressRouteProviderPort},
    },
    "ExpressRouteCrossConnectionBgpPeeringCreate.json": {
        "requests": {"peeringParameters": m.ExpressRouteCrossConnectionPeering},
        "responses": {
            "200": m.ExpressRouteCrossConnectionPeering,
            "201": m.ExpressRouteCrossConnectionPeering,
        },
    },
    "ExpressRouteCrossConnectionBgpPeeringDelete.json": {"responses": {}},
    "ExpressRouteCrossConnectionBgpPeeringList.json": {
        "responses": {"200": m.ExpressRouteCrossConnectionPeeringList},
    },
    "ExpressRouteCrossConnectionGet.json": {
        "responses": {"200": m.ExpressRouteCrossConnection},
    },
    "ExpressRouteCrossConnectionListByResourceGroup.json": {
        "responses": {"200": m.ExpressRouteCrossConnectionListResult},
    },
    "ExpressRouteCrossConnectionUpdate.json": {
        "requests": {"parameters": m.ExpressRouteCrossConnection},
        "responses": {"200": m.ExpressRouteCrossConnection},
    },
    "ExpressRouteCrossConnectionUpdateTags.json": {
        "requests": {"crossConnectionParameters": m.TagsObject},
        "responses": {"200": m.ExpressRouteCrossConnection},
    },
    "ExpressRouteCrossConnectionsArpTable.json": {
        "responses": {"200": m.ExpressRouteCircuitsArpTableListResult},
    },
    "ExpressRouteCrossConnectionsRouteTable.json": {
        "responses": {"200": m.ExpressRouteCircuitsRoutesTableListResult},
    },
    "ExpressRouteCrossConnectionsRouteTableSummary.json": {
        "responses": {"200": m.ExpressRouteCrossConnectionsRoutesTableSummaryListResult},
    },
}


def wire(model: m.AzureModel) -> dict[str, Any]:
    """The JSON object as the service spelled it: aliases, only the fields that were set."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def example_files() -> list[Path]:
    return sorted(AZURE_CONTRACTS.glob("**/examples/*.json"))


def assert_round_trip(model_class: type[m.AzureModel], body: Any) -> BaseModel:
    original = copy.deepcopy(body)
    parsed = model_class.model_validate(body)
    assert wire(parsed) == original
    return parsed


def test_every_example_file_has_a_model_mapping() -> None:
    files = example_files()
    assert len(files) >= 14
    assert {f.name for f in files} <= set(EXAMPLES), "a new example file needs an entry in EXAMPLES"


@pytest.mark.parametrize("path", example_files(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_example_bodies_parse_and_round_trip(path: Path) -> None:
    example = json.loads(path.read_text())
    mapping = EXAMPLES[path.name]
    checked = 0
    for status, response in example["responses"].items():
        body = response.get("body")
        if body is None:
            assert status not in mapping["responses"]
            continue
        assert_round_trip(mapping["responses"][status], body)
        checked += 1
    for parameter, model_class in mapping.get("requests", {}).items():
        assert_round_trip(model_class, example["parameters"][parameter])
        checked += 1
    bodies_expected = len(mapping["responses"]) + len(mapping.get("requests", {}))
    assert checked == bodies_expected


# --- seeds ------------------------------------------------------------------------------------

_OBJECT_START = re.compile(r"^[ \t]*\{", re.MULTILINE)


def seed_json_snippets(name: str) -> list[Any]:
    """Every JSON object that starts a line inside a fenced block of the seed document."""
    text = (SEEDS / name).read_text()
    decoder = json.JSONDecoder()
    found: list[Any] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.DOTALL):
        position = 0
        while match := _OBJECT_START.search(block, position):
            start = match.end() - 1
            try:
                value, end = decoder.raw_decode(block, start)
            except json.JSONDecodeError:
                position = match.end()
                continue
            found.append(value)
            position = end
    return found


def seed_bodies(snippet: dict[str, Any]) -> list[dict[str, Any]]:
    """The message bodies in a snippet: the docs wrap some in the examples' parameters/responses form."""
    if "responses" in snippet:
        return [r["body"] for r in snippet["responses"].values() if "body" in r]
    if set(snippet) == {"parameters"}:
        return []  # request parameters only, no body
    return [snippet]


def model_for_seed_body(body: dict[str, Any]) -> type[m.AzureModel]:
    if set(body) == {"status"}:
        return m.AzureAsyncOperationResult
    if "value" in body:
        first = body["value"][0]
        if "portPairDescriptor" in first.get("properties", {}):
            return m.ExpressRouteProviderPortListResult
        return m.ExpressRouteCrossConnectionListResult
    if "peeringType" in body.get("properties", {}):
        return m.ExpressRouteCrossConnectionPeering
    return m.ExpressRouteCrossConnection


@pytest.mark.parametrize(
    ("seed", "bodies_in_seed"),
    [("000_2a0ec14b4b3d393c.txt", 4), ("001_eff1f977fbb5f993.txt", 11)],
)
def test_seed_json_snippets_parse_and_round_trip(seed: str, bodies_in_seed: int) -> None:
    bodies = [body for snippet in seed_json_snippets(seed) for body in seed_bodies(snippet)]
    # the counts pin what was found, so a broken extractor cannot pass by finding nothing
    assert len(bodies) == bodies_in_seed
    for body in bodies:
        assert_round_trip(model_for_seed_body(body), body)


def test_seed_000_single_port_answer_is_a_value_wrapper_with_a_top_level_descriptor() -> None:
    snippets = seed_json_snippets("000_2a0ec14b4b3d393c.txt")
    single = snippets[2]["responses"]["200"]["body"]
    result = m.ExpressRouteProviderPortListResult.model_validate(single)
    port = result.value[0]
    assert port.port_pair_descriptor == "bvtazureixpportpair1"
    assert port.properties is not None
    assert port.properties.remaining_bandwidth_in_mbps == 15
    assert port.properties.peering_location == "SiliconValley"


def test_seed_001_put_request_and_updating_response() -> None:
    snippets = seed_json_snippets("001_eff1f977fbb5f993.txt")
    request = m.ExpressRouteCrossConnection.model_validate(snippets[2])
    assert request.location == "East US 2 EUAP"
    assert request.properties is not None
    assert request.properties.service_provider_provisioning_state == "Provisioned"
    assert request.properties.bandwidth_in_mbps == 200
    response = m.ExpressRouteCrossConnection.model_validate(snippets[3])
    assert response.properties is not None
    assert response.properties.provisioning_state == m.ProvisioningState.UPDATING
    assert response.resource_group == "CrossConnection-EUAPTest"
    assert m.AzureAsyncOperationResult.model_validate(snippets[4]).status == m.OperationStatus.SUCCEEDED


def test_seed_001_microsoft_peering_response() -> None:
    peering = m.ExpressRouteCrossConnectionPeering.model_validate(
        seed_json_snippets("001_eff1f977fbb5f993.txt")[9]
    )
    assert peering.properties is not None
    assert peering.properties.azure_asn == 0
    assert peering.properties.state == m.PeeringState.DISABLED
    config = peering.properties.microsoft_peering_config
    assert config is not None
    assert config.customer_asn == 45
    assert config.advertised_public_prefixes_state == m.AdvertisedPublicPrefixesState.NOT_CONFIGURED


# --- field-level behaviour --------------------------------------------------------------------


def test_example_values_outside_the_spec_enums_are_kept() -> None:
    example = json.loads(
        (AZURE_CONTRACTS / "2025-07-01/examples/ExpressRouteCrossConnectionGet.json").read_text()
    )
    cross_connection = m.ExpressRouteCrossConnection.model_validate(example["responses"]["200"]["body"])
    assert cross_connection.properties is not None
    assert cross_connection.properties.provisioning_state == "Enabled"
    assert cross_connection.properties.s_tag == 2
    assert cross_connection.service_key == "<circuitServiceKey>"
    assert cross_connection.resource_group == "CrossConnection-SiliconValley"
    assert cross_connection.subscription_id == "00000000-0000-0000-0000-000000000000"


def test_irregular_aliases_map_to_snake_case() -> None:
    example = json.loads(
        (AZURE_CONTRACTS / "2024-07-01/examples/ExpressRouteCrossConnectionBgpPeeringGet.json").read_text()
    )
    peering = m.ExpressRouteCrossConnectionPeering.model_validate(example["responses"]["200"]["body"])
    assert peering.properties is not None
    assert peering.properties.azure_asn == 12076
    assert peering.properties.peer_asn == 200
    assert peering.properties.ipv6_peering_config is not None
    assert peering.properties.ipv6_peering_config.state == "Enabled"
    by_name = m.ExpressRouteCrossConnectionPeeringProperties(peer_asn=65001, vlan_id=100)
    assert wire(by_name) == {"peerASN": 65001, "vlanId": 100}


def test_round_trip_keeps_unknown_fields_at_every_level() -> None:
    body = {
        "name": "key",
        "futureTopLevel": {"a": 1},
        "properties": {
            "bandwidthInMbps": 50,
            "futureProperty": "x",
            "expressRouteCircuit": {"id": "/c", "futureRef": True},
            "peerings": [
                {
                    "name": "MicrosoftPeering",
                    "futurePeeringField": [1, 2],
                    "properties": {
                        "peerASN": 7,
                        "futurePeeringProperty": None,
                        "microsoftPeeringConfig": {"customerASN": 1, "futureConfig": "y"},
                    },
                }
            ],
        },
    }
    parsed = assert_round_trip(m.ExpressRouteCrossConnection, body)
    assert isinstance(parsed, m.ExpressRouteCrossConnection)
    assert parsed.model_extra == {"futureTopLevel": {"a": 1}}
    assert parsed.properties is not None
    assert parsed.properties.model_extra == {"futureProperty": "x"}


def test_shared_key_stays_out_of_repr() -> None:
    properties = m.ExpressRouteCrossConnectionPeeringProperties.model_validate({"sharedKey": "A1B2C3D4"})
    assert properties.shared_key == "A1B2C3D4"
    assert "A1B2C3D4" not in repr(properties)
    assert wire(properties) == {"sharedKey": "A1B2C3D4"}


def test_provider_port_descriptor_prefers_the_properties_field() -> None:
    port = m.ExpressRouteProviderPort.model_validate(
        {"portPairDescriptor": "top", "properties": {"portPairDescriptor": "inner"}}
    )
    assert port.descriptor == "inner"
    assert m.ExpressRouteProviderPort.model_validate({"portPairDescriptor": "top"}).descriptor == "top"
    by_id = m.ExpressRouteProviderPort.model_validate(
        {"id": "/subscriptions/s/x/ExpressRoutePortsLocations/SV/pp9"}
    )
    assert by_id.descriptor == "pp9"
