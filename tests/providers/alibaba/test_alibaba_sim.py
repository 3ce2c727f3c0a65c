"""The sandbox checks signatures as Alibaba does, throttles, and keeps ClientTokens; the real
client signs every attempt afresh, waits as ``x-acs-retry-after`` says, and sends a change
again only with its ClientToken."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from alibaba_support import CONFIRMED, Rig, make_client, make_rig

from circuitbot.clock import FakeClock
from circuitbot.providers.alibaba.errors import (
    AlibabaError,
    AlibabaWriteUnconfirmed,
    SignatureRejected,
    Throttled,
)
from circuitbot.sandbox.alibaba import parse_access_key
from circuitbot.sandbox.faults import FaultConfig, QueuedFault

VERSIONS = pytest.mark.parametrize("version", ["v3", "v1"])
CREATE = {"AccessPointId": "ap-cn-beijing-ft-A", "LineOperator": "CT", "PeerLocation": "Beijing DC1"}


@VERSIONS
async def test_a_wrong_secret_is_signature_does_not_match_403(version: str) -> None:
    rig = make_rig()
    client, _ = make_client(rig.sim, rig.clock, secret="not-the-secret", signature_version=version)
    with pytest.raises(SignatureRejected) as refused:
        await rig.drive(client.list_region("cn-beijing"))
    assert (refused.value.status, refused.value.code) == (403, "SignatureDoesNotMatch")
    assert "not-the-secret" not in str(refused.value) and refused.value.request_id


@VERSIONS
async def test_an_unknown_access_key_is_not_found(version: str) -> None:
    rig = make_rig()
    client, _ = make_client(rig.sim, rig.clock, key_id="LTAInobody", signature_version=version)
    with pytest.raises(SignatureRejected) as refused:
        await rig.drive(client.list_region("cn-beijing"))
    assert (refused.value.status, refused.value.code) == (404, "InvalidAccessKeyId.NotFound")


@VERSIONS
async def test_a_stale_timestamp_is_illegal(version: str) -> None:
    rig = make_rig()
    late = FakeClock(rig.clock.now() - timedelta(minutes=20))
    client, _ = make_client(rig.sim, late, signature_version=version)
    with pytest.raises(SignatureRejected) as refused:
        await client.list_region("cn-beijing")
    assert refused.value.code == "IllegalTimestamp"


@VERSIONS
async def test_a_replayed_request_is_refused_for_its_nonce(version: str) -> None:
    rig = make_rig(signature_version=version)
    await rig.drive(rig.client.list_region("cn-beijing"))
    sent = rig.recorder.requests[-1]
    async with httpx.AsyncClient(transport=rig.sim.transport()) as raw:
        replay = await raw.send(httpx.Request(sent.method, sent.url, headers=sent.headers, content=b""))
    assert replay.status_code == 400 and replay.json()["Code"] == "SignatureNonceUsed"


@VERSIONS
async def test_a_parameter_changed_after_signing_breaks_the_signature(version: str) -> None:
    rig = make_rig(signature_version=version)
    await rig.drive(rig.client.list_region("cn-beijing"))
    sent = rig.recorder.requests[-1]
    tampered = sent.url.copy_set_param("RegionId", "cn-hangzhou")
    headers = {k: v for k, v in sent.headers.items() if k.lower() != "x-acs-signature-nonce"}
    headers["x-acs-signature-nonce"] = "fresh-nonce"
    if version == "v1":
        tampered = tampered.copy_set_param("SignatureNonce", "fresh-nonce")
    async with httpx.AsyncClient(transport=rig.sim.transport()) as raw:
        answer = await raw.send(httpx.Request("POST", tampered, headers=headers))
    body = answer.json()
    assert answer.status_code == 403 and body["Code"] == "SignatureDoesNotMatch"
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}


@VERSIONS
async def test_an_sts_key_needs_its_security_token(version: str) -> None:
    rig = make_rig(access_keys={"STS.tempkey": "temp-secret"}, security_tokens={"STS.tempkey": "token-1"})
    with_token, recorder = make_client(
        rig.sim,
        rig.clock,
        key_id="STS.tempkey",
        secret="temp-secret",
        security_token="token-1",
        signature_version=version,
    )
    assert await rig.drive(with_token.list_region("cn-beijing"))
    sent = recorder.requests[-1]
    assert (
        sent.headers.get("x-acs-security-token") or dict(sent.url.params).get("SecurityToken")
    ) == "token-1"
    without, _ = make_client(
        rig.sim, rig.clock, key_id="STS.tempkey", secret="temp-secret", signature_version=version
    )
    with pytest.raises(AlibabaError) as refused:
        await rig.drive(without.list_region("cn-beijing"))
    assert refused.value.code == "InvalidSecurityToken.MismatchWithAccessKey"


async def test_extra_access_key_pairs_are_accepted_alongside_the_default() -> None:
    key_id, secret = parse_access_key("LTAIsecond:second-secret")
    rig = make_rig(access_keys={key_id: secret})
    second, _ = make_client(rig.sim, rig.clock, key_id=key_id, secret=secret)
    assert await rig.drive(second.list_region("cn-beijing"))
    assert await rig.drive(rig.client.list_region("cn-beijing"))
    with pytest.raises(ValueError, match="ID:SECRET"):
        parse_access_key("no-colon")
    rig.sim.add_access_key("LTAIthird:third:secret")  # the secret is all after the first colon
    third, _ = make_client(rig.sim, rig.clock, key_id="LTAIthird", secret="third:secret")
    assert await rig.drive(third.list_region("cn-beijing"))


async def test_throttling_user_is_retried_after_x_acs_retry_after_with_a_fresh_signature() -> None:
    rig = make_rig(rate_per_second=0.5, burst=2)
    started = rig.clock.monotonic()
    for _ in range(4):
        await rig.drive(rig.client.list_region("cn-beijing"))
    assert rig.sim.throttled >= 1
    assert rig.clock.monotonic() - started >= 2.0  # waited as told, one token every 2 s
    nonces = [r.headers["x-acs-signature-nonce"] for r in rig.recorder.requests]
    assert len(nonces) == len(set(nonces)) == rig.client.rpc.calls


async def test_throttling_that_lasts_ends_in_a_throttled_error_with_its_code() -> None:
    rig = make_rig(rate_per_second=0.001, burst=1)
    await rig.drive(rig.client.list_region("cn-beijing"))
    with pytest.raises(Throttled) as throttled:
        await rig.drive(rig.client.list_region("cn-beijing"))
    assert throttled.value.code == "Throttling.User" and throttled.value.status == 400
    assert rig.client.rpc.calls == 2, "a wait longer than max_delay is not waited: the answer is returned"


async def test_an_injected_429_is_retried() -> None:
    rig = make_rig()
    rig.sim.faults = FaultConfig(fail_next=[QueuedFault(status=429, count=2, retry_after=1)])
    assert await rig.drive(rig.client.list_region("cn-beijing"))
    assert rig.client.rpc.calls == 3


async def test_a_change_whose_answer_is_lost_is_sent_again_with_its_client_token_and_done_once() -> None:
    rig = make_rig()
    before = len(rig.sim.connections)
    rig.sim.faults = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", count=1)])
    pc_id = await rig.drive(rig.client.create("cn-beijing", CREATE, client_token="circuitbot-RTOKEN1"))
    assert len(rig.sim.connections) == before + 1 and pc_id in rig.sim.connections
    tokens = [dict(r.url.params)["ClientToken"] for r in rig.recorder.requests]
    assert tokens == ["circuitbot-RTOKEN1", "circuitbot-RTOKEN1"]


async def test_the_same_client_token_with_other_parameters_is_refused() -> None:
    rig = make_rig()
    await rig.drive(rig.client.create("cn-beijing", CREATE, client_token="tok-1"))
    with pytest.raises(AlibabaError) as refused:
        await rig.drive(rig.client.create("cn-beijing", {**CREATE, "Name": "other"}, client_token="tok-1"))
    assert refused.value.code == "IdempotentParameterMismatch"


async def test_a_change_whose_answers_are_all_lost_is_unconfirmed() -> None:
    rig = make_rig()
    rig.sim.faults = FaultConfig(fail_next=[QueuedFault(kind="drop", count=10, method="POST")])
    rig.client.rpc.max_attempts = 3
    with pytest.raises(AlibabaWriteUnconfirmed) as lost:
        await rig.drive(
            rig.client.rpc.call(
                "EnablePhysicalConnection",
                "cn-shanghai",
                {"PhysicalConnectionId": CONFIRMED},
                client_token="t",
            )
        )
    assert "may have been applied" in str(lost.value)


async def test_a_rejected_application_and_a_failed_allocation_show_as_documented(
    rig: Rig | None = None,
) -> None:
    rig = make_rig()
    pc_id = await rig.drive(rig.client.create("cn-beijing", CREATE))
    rig.sim.reject(pc_id)
    assert (await rig.drive(rig.client.get(pc_id))).status == "Rejected"
    other = await rig.drive(rig.client.create("cn-beijing", CREATE))
    rig.sim.fail_allocation(other)
    failed = await rig.drive(rig.client.get(other))
    assert failed.status == "Allocation Failed" and failed.is_("AllocationFailed")
    await rig.drive(rig.client.delete(other))  # a final state in either spelling
    assert await rig.drive(rig.client.find(other)) is None


async def test_delete_states_are_configurable_in_the_sandbox() -> None:
    rig = make_rig(delete_states=("Confirmed", "Canceled"))
    await rig.drive(rig.client.delete(CONFIRMED))
    assert CONFIRMED not in rig.sim.connections
