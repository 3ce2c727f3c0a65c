"""The real Alibaba client against the sandbox simulator, in-process: every action, both
signature versions, paging and filters, the wire's common parameters, and the errors as
Alibaba answers them (with Code and RequestId)."""

from __future__ import annotations

from math import ceil

import pytest
from alibaba_support import (
    CANCELED,
    CONFIRMED,
    INITIAL,
    NO_VBRS,
    REJECTED,
    STEP,
    WITH_VBRS,
    Rig,
    make_rig,
)

from circuitbot.providers.alibaba.client import filter_params
from circuitbot.providers.alibaba.errors import AlibabaError, NotFound
from circuitbot.providers.alibaba.rpc import endpoint_for


@pytest.fixture(params=["v3", "v1"])
def rig(request: pytest.FixtureRequest) -> Rig:
    return make_rig(signature_version=request.param)


async def test_every_call_carries_format_json_region_and_the_api_version(rig: Rig) -> None:
    await rig.drive(rig.client.list_region("cn-beijing"))
    request = rig.recorder.requests[-1]
    params = rig.params()
    assert request.method == "POST" and request.url.path == "/"
    assert params["Format"] == "JSON" and params["RegionId"] == "cn-beijing"
    if rig.client.rpc.signature_version == "v3":
        assert request.headers["x-acs-version"] == "2016-04-28"
        assert request.headers["x-acs-action"] == "DescribePhysicalConnections"
        assert request.headers["authorization"].startswith(
            "ACS3-HMAC-SHA256 Credential=LTAIsandboxDefaultKey,"
        )
    else:
        assert params["Version"] == "2016-04-28" and params["SignatureMethod"] == "HMAC-SHA1"
        assert params["Action"] == "DescribePhysicalConnections" and "Signature" in params


async def test_listing_walks_every_page_at_page_size_50() -> None:
    rig = make_rig(extra=220)  # 55 generated connections in each of four regions
    items = await rig.drive(rig.client.list_region("cn-hangzhou"))
    total = len([c for c in rig.sim.connections.values() if c.region == "cn-hangzhou"])
    assert len(items) == total > 50
    pages = [r for r in rig.recorder.requests if dict(r.url.params).get("RegionId") == "cn-hangzhou"]
    assert [dict(r.url.params)["PageSize"] for r in pages] == ["50"] * ceil(total / 50)
    numbers = sorted(int(dict(r.url.params)["PageNumber"]) for r in pages)
    assert numbers == list(range(1, len(pages) + 1)), "each page read once"
    assert len({c.physical_connection_id for c in items}) == total


async def test_filters_go_on_the_wire_as_filter_n_key_and_value_m(rig: Rig) -> None:
    items = await rig.drive(rig.client.list_connections({"Status": ["Enabled"], "LineOperator": ["CT"]}))
    assert {c.physical_connection_id for c in items} == {WITH_VBRS, NO_VBRS}
    params = rig.params()
    assert params["Filter.1.Key"] == "Status" and params["Filter.1.Value.1"] == "Enabled"
    assert params["Filter.2.Key"] == "LineOperator" and params["Filter.2.Value.1"] == "CT"


def test_more_than_five_filters_or_values_are_refused_before_sending() -> None:
    assert filter_params({"PhysicalConnectionId": ["a", "b"]}) == {
        "Filter.1.Key": "PhysicalConnectionId",
        "Filter.1.Value.1": "a",
        "Filter.1.Value.2": "b",
    }
    with pytest.raises(ValueError, match="at most 5 filters"):
        filter_params({f"K{n}": ["v"] for n in range(6)})
    with pytest.raises(ValueError, match="1 to 5 values"):
        filter_params({"PhysicalConnectionId": [f"pc-{n}" for n in range(6)]})


async def test_the_simulator_refuses_an_unknown_filter_key_and_a_page_size_over_50(rig: Rig) -> None:
    with pytest.raises(AlibabaError) as unknown:
        await rig.drive(
            rig.client.rpc.call(
                "DescribePhysicalConnections",
                "cn-beijing",
                {"Filter.1.Key": "Colour", "Filter.1.Value.1": "red"},
            )
        )
    assert unknown.value.code == "InvalidFilterKey.ValueNotSupported" and unknown.value.status == 404
    with pytest.raises(AlibabaError) as big:
        await rig.drive(rig.client.rpc.call("DescribePhysicalConnections", "cn-beijing", {"PageSize": 51}))
    assert big.value.code == "InvalidParameter"


async def test_find_looks_in_every_region_and_remembers_where(rig: Rig) -> None:
    found = await rig.drive(rig.client.find(CONFIRMED))
    assert found is not None and found.status == "Confirmed"
    assert rig.client.known_region(CONFIRMED) == "cn-shanghai"
    assert await rig.drive(rig.client.find("pc-00000000000000000000")) is None
    with pytest.raises(NotFound) as missing:
        await rig.drive(rig.client.get("pc-00000000000000000000"))
    assert missing.value.code == "InvalidPhysicalConnectionId.NotFound"


async def test_vbrs_are_listed_for_a_connection(rig: Rig) -> None:
    vbrs = await rig.drive(rig.client.list_vbrs(WITH_VBRS))
    assert [v.vbr_id for v in vbrs] == ["vbr-2zecmmvg5gvu8i4te1bqm", "vbr-2ze1k2q5vflvbusuw2ng7"]
    assert vbrs[0].vlan_id == "10" and vbrs[0].status == "active"
    assert await rig.drive(rig.client.list_vbrs(NO_VBRS)) == []


async def test_a_new_connection_goes_through_review_allocation_and_installation_in_time(rig: Rig) -> None:
    fields = {
        "AccessPointId": "ap-cn-beijing-ft-A",
        "LineOperator": "CT",
        "PeerLocation": "Beijing DC1",
        "Name": "new-line",
        "bandwidth": 200,
    }
    pc_id = await rig.drive(rig.client.create("cn-beijing", fields, client_token="t-create"))
    assert rig.params()["ClientToken"] == "t-create"
    seen = []
    for _ in range(5):
        seen.append((await rig.drive(rig.client.get(pc_id))).status)
        await rig.clock.advance(STEP)
    assert seen == ["Initial", "Approved", "Allocating", "Allocated", "Confirmed"]
    created = await rig.drive(rig.client.get(pc_id))
    assert (created.name, created.bandwidth, created.line_operator) == ("new-line", 200, "CT")


async def test_enable_then_terminate_are_followed_to_their_end_states(rig: Rig) -> None:
    await rig.drive(rig.client.enable(CONFIRMED, client_token="t-enable"))
    enabled = await rig.drive(rig.client.wait_for(CONFIRMED, "Enabled", moving=("Confirmed",)))
    assert enabled.status == "Enabled" and enabled.enabled_time
    await rig.drive(rig.client.terminate(CONFIRMED, client_token="t-terminate"))
    assert (await rig.drive(rig.client.get(CONFIRMED))).status == "Terminating"
    done = await rig.drive(rig.client.wait_for(CONFIRMED, "Terminated", moving=("Enabled", "Terminating")))
    assert done.status == "Terminated"
    await rig.drive(rig.client.delete(CONFIRMED, client_token="t-delete"))
    assert await rig.drive(rig.client.find(CONFIRMED)) is None


async def test_cancel_and_modify_follow_the_documented_rules(rig: Rig) -> None:
    await rig.drive(rig.client.cancel(INITIAL))
    assert (await rig.drive(rig.client.get(INITIAL))).status == "Canceled"
    await rig.drive(rig.client.modify(REJECTED, {"bandwidth": 500, "Name": "second-try"}))
    modified = await rig.drive(rig.client.get(REJECTED))
    assert (modified.status, modified.bandwidth, modified.name) == ("Initial", 500, "second-try")
    await rig.drive(rig.client.modify(NO_VBRS, {"Description": "Primary line"}))
    assert (await rig.drive(rig.client.get(NO_VBRS))).description == "Primary line"


@pytest.mark.parametrize(
    ("call", "code", "status"),
    [
        (lambda c: c.cancel(NO_VBRS), "Forbidden.NotAllowedInState", 400),
        (lambda c: c.enable(NO_VBRS), "Forbidden.NotAllowedInState", 400),
        (lambda c: c.terminate(WITH_VBRS), "DependencyViolation.VirtualBorderRouter", 400),
        (lambda c: c.terminate(CONFIRMED), "Forbidden.NotAllowedInState", 400),
        (lambda c: c.delete(NO_VBRS), "Forbidden.NotAllowedInState", 400),
        (lambda c: c.modify(CANCELED, {"Name": "again"}), "Forbidden.NotAllowedInState", 400),
        (lambda c: c.modify(NO_VBRS, {"bandwidth": 300}), "Forbidden.NotAllowedInState", 400),
        (lambda c: c.modify(CONFIRMED, {"bandwidth": 20000}), "Forbidden.NotAllowedInState", 400),
        (lambda c: c.modify(REJECTED, {"bandwidth": 1}), "InvalidBandwidth", 400),
        (lambda c: c.modify(REJECTED, {"Name": "1abc"}), "InvalidName.Malformed", 400),
        (lambda c: c.modify(REJECTED, {"Description": "https://x"}), "InvalidDescription.Malformed", 400),
        (lambda c: c.modify(REJECTED, {"PortType": "E1-2M"}), "InvalidPortType.Malformd", 400),
        (
            lambda c: c.modify(REJECTED, {"RedundantPhysicalConnectionId": INITIAL}),
            "InvalidRedundantPhysicalConnectionStatus",
            400,
        ),
        (
            lambda c: c.cancel("pc-00000000000000000000", region="cn-beijing"),
            "InvalidPhysicalConnectionId.NotFound",
            404,
        ),
    ],
)
async def test_refusals_come_back_with_code_status_and_request_id(
    rig: Rig, call, code: str, status: int
) -> None:
    with pytest.raises(AlibabaError) as refused:
        await rig.drive(call(rig.client))
    error = refused.value
    assert (error.code, error.status) == (code, status)
    assert error.request_id and f"RequestId {error.request_id}" in str(error)


async def test_create_refuses_a_sixth_application_and_a_delinquent_account(rig: Rig) -> None:
    fields = {"AccessPointId": "ap-cn-beijing-ft-A", "LineOperator": "CT", "PeerLocation": "Beijing DC1"}
    await rig.drive(rig.client.create("cn-beijing", fields))
    await rig.drive(rig.client.create("cn-beijing", fields))  # five on their way now
    with pytest.raises(AlibabaError) as quota:
        await rig.drive(rig.client.create("cn-beijing", fields))
    assert quota.value.code == "QuotaExceeded.PhysicalConnection"
    rig.sim.connections[NO_VBRS].business_status = "FinancialLocked"
    with pytest.raises(AlibabaError) as delinquent:
        await rig.drive(rig.client.create("cn-beijing", fields))
    assert delinquent.value.code == "Forbidden.AccountDelinquent"


async def test_create_checks_its_fields_as_documented(rig: Rig) -> None:
    base = {"AccessPointId": "ap-cn-beijing-ft-A", "LineOperator": "CT", "PeerLocation": "Beijing DC1"}
    cases = [
        ({**base, "bandwidth": 10241}, "InvalidBandwidth"),
        ({**base, "Name": "http://line"}, "InvalidName.Malformed"),
        ({**base, "Name": "x"}, "InvalidName.Malformed"),
        ({**base, "LineOperator": "ZZ"}, "InvalidLineOperator.Malformed"),
        ({**base, "RedundantPhysicalConnectionId": "pc-nosuchthing"}, "InvalidRedundantPhysicalConnection"),
    ]
    for fields, code in cases:
        with pytest.raises(AlibabaError) as refused:
            await rig.drive(rig.client.create("cn-beijing", fields))
        assert refused.value.code == code, fields


def test_the_endpoint_is_central_regional_or_configured() -> None:
    assert endpoint_for("cn-hangzhou") == "https://vpc.aliyuncs.com"
    assert endpoint_for("eu-central-1") == "https://vpc.eu-central-1.aliyuncs.com"
    assert endpoint_for("eu-central-1", "vpc-vpc.example.internal") == "https://vpc-vpc.example.internal"
    assert endpoint_for("cn-hangzhou", "http://127.0.0.1:8700") == "http://127.0.0.1:8700"
