"""The Alibaba wire models against the SDK's field examples and the seed's examples, unchanged.

The SDK model comments (``data/alibaba/vpc20160428_physical_connection_fields.json``) give an
``example:`` per field: a response built from them must parse, with every value read back as
given and no field dropped. The seed (``data/seeds/004_…``) is a PDF extraction: its JSON
examples carry the extraction's inserted spaces, which are removed (and nothing else) before
they are parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from circuitbot.providers.alibaba import models as m
from support.paths import CONTRACT_DATA

FIELDS: dict[str, Any] = json.loads(
    (CONTRACT_DATA / "alibaba" / "vpc20160428_physical_connection_fields.json").read_text()
)
SEED = (CONTRACT_DATA / "seeds" / "004_ea11b898bece2968.txt").read_text()
ITEM_MODEL = "DescribePhysicalConnectionsResponseBodyPhysicalConnectionSetPhysicalConnectionType"


def examples(action: str, kind: str, model: str) -> dict[str, Any]:
    fields = FIELDS[action][kind][model]
    return {name: field["example"] for name, field in fields.items() if field["example"] is not None}


def test_a_listing_built_from_the_sdk_examples_parses_with_every_value_kept() -> None:
    item = examples("DescribePhysicalConnections", "response_body", ITEM_MODEL)
    body = {
        **examples("DescribePhysicalConnections", "response_body", "DescribePhysicalConnectionsResponseBody"),
        "PhysicalConnectionSet": {"PhysicalConnectionType": [item]},
    }
    answer = m.DescribePhysicalConnectionsResponse.model_validate(body)
    [pc] = answer.items
    assert (answer.page_number, answer.page_size, answer.total_count) == (1, 10, 1)
    assert pc.physical_connection_id == "pc-bp1ciz7ekd2grn1as****"
    assert (pc.status, pc.business_status, pc.bandwidth) == ("Enabled", "Normal", 10)
    assert pc.port_type == "10GBase-LR" and pc.line_operator == "CT"
    assert pc.enabled_time == "2021-08-24T07:33:18Z" and pc.end_time == "2022-04-24T16:00:00Z"
    dumped = pc.model_dump(by_alias=True, exclude_none=True)
    for name, value in item.items():
        assert str(dumped[name]) == str(value), name  # undeclared fields kept too


def test_every_documented_field_of_a_connection_is_read_or_kept() -> None:
    names = set(FIELDS["DescribePhysicalConnections"]["response_body"][ITEM_MODEL])
    declared = {info.alias for info in m.PhysicalConnection.model_fields.values()}
    kept_as_extra = names - declared
    assert {"PhysicalConnectionId", "Status", "BusinessStatus", "Bandwidth", "EndTime"} <= declared
    assert kept_as_extra <= {
        "ExpectSpec", "OpticalModuleModel", "OrderMode", "ParentPhysicalConnectionAliUid",
        "ParentPhysicalConnectionId", "PortNumber", "ProductType", "QosId", "ReservationActiveTime",
        "ReservationInternetChargeType", "ReservationOrderType", "VirtualPhysicalConnectionCount",
        "VlanId", "VpconnStatus",
    }  # fmt: skip


def test_the_answers_of_the_changes_parse_from_the_sdk_examples() -> None:
    created = m.CreatePhysicalConnectionResponse.model_validate(
        examples("CreatePhysicalConnection", "response_body", "CreatePhysicalConnectionResponseBody")
    )
    assert created.physical_connection_id == "pc-bp1ciz7ekd2grn1as****"
    for action in ("Cancel", "Enable", "Terminate", "Delete", "Modify"):
        name = f"{action}PhysicalConnection" + ("Attribute" if action == "Modify" else "")
        body = examples(name, "response_body", f"{name}ResponseBody")
        assert m.RequestIdResponse.model_validate(body).request_id == body["RequestId"]


def test_the_documented_status_values_are_all_known() -> None:
    text = FIELDS["DescribePhysicalConnections"]["response_body"][ITEM_MODEL]["Status"]["description"]
    documented = re.findall(r"\*\*([A-Za-z ]+)\*\*", text)
    known = {m.status_key(s.value) for s in m.Status}
    assert documented and all(m.status_key(value) in known for value in documented)
    assert "Allocation Failed" in documented  # with its space, as the list writes it


def unspaced(fragment: str) -> str:
    """A JSON fragment of the seed without the spaces its PDF extraction put inside strings."""
    return re.sub(r'"([^"]*)"', lambda match: '"' + match.group(1).replace(" ", "") + '"', fragment)


def test_the_seeds_describe_example_parses_once_the_extraction_spaces_are_gone() -> None:
    start = SEED.index('" Name ":" TEST "')
    fragment = "{" + SEED[start : SEED.index("}", start) + 1]
    item = json.loads(unspaced(fragment))
    body = {"PhysicalConnectionSet": {"PhysicalConnectionType": [{**item, "PhysicalConnectionId": "pc-x"}]}}
    [pc] = m.DescribePhysicalConnectionsResponse.model_validate(body).items
    assert (pc.name, pc.status, pc.business_status, pc.line_operator) == ("TEST", "Enabled", "Normal", "CT")
    assert (pc.access_point_id, pc.port_type, pc.bandwidth) == ("ap-cn-beijing-dx-A", "100Base-T", 2)
    assert pc.enabled_time == "2017-12-18T04:01:30Z" and pc.port_number == "1/1/4"


def test_the_seeds_create_answer_parses_once_the_extraction_spaces_are_gone() -> None:
    start = SEED.index('" PhysicalCo nnectionId ": " pc -')
    fragment = "{" + SEED[start : SEED.index("}", start) + 1]
    created = m.CreatePhysicalConnectionResponse.model_validate(json.loads(unspaced(fragment)))
    assert created.physical_connection_id == "pc-**********"
    assert created.request_id == "8A6A5EC5-6F6C-4906-9689-56ACE58A13E0"


def test_an_error_answer_keeps_its_code_request_id_and_recommendation() -> None:
    body = {
        "RequestId": "540CFF28-407A-40B5-B6A5-74Bxxxxxxxxx",
        "HostId": "vpc.aliyuncs.com",
        "Code": "Forbidden.NotAllowedInState",
        "Message": "The request does not allow in this state.",
        "Recommend": "https://next.api.aliyun.com/troubleshoot?q=Forbidden.NotAllowedInState&product=Vpc",
    }
    error = m.ErrorBody.model_validate(body)
    assert error.model_dump(by_alias=True) == body
