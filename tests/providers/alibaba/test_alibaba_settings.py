"""Alibaba's settings as a deployment gives them (``CIRCUITBOT_ALIBABA__*``), and the client the
spec builds from them: secrets kept as SecretStr, V3 by default, the endpoint by region."""

from __future__ import annotations

from circuitbot.clock import FakeClock
from circuitbot.providers.alibaba.settings import DELETE_STATES_2023, AlibabaSettings
from circuitbot.providers.alibaba.spec import SPEC
from circuitbot.settings import Settings


def test_settings_come_from_the_environment_with_secrets_hidden(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CIRCUITBOT_ALIBABA__ACCESS_KEY_ID", "LTAIexample")
    monkeypatch.setenv("CIRCUITBOT_ALIBABA__ACCESS_KEY_SECRET", "the-secret")
    monkeypatch.setenv("CIRCUITBOT_ALIBABA__SECURITY_TOKEN", "the-token")
    monkeypatch.setenv("CIRCUITBOT_ALIBABA__REGIONS", "cn-beijing, eu-central-1")
    monkeypatch.setenv("CIRCUITBOT_ALIBABA__SIGNATURE_VERSION", "V1")
    monkeypatch.setenv("CIRCUITBOT_ALIBABA__DELETE_STATES", "Allocated,Confirmed,Rejected,Canceled")
    alibaba = Settings(data_dir=tmp_path).provider_settings("alibaba")
    assert isinstance(alibaba, AlibabaSettings) and SPEC.configured(alibaba)
    assert alibaba.watched_regions == ["cn-beijing", "eu-central-1"]
    assert alibaba.signature_version == "v1"
    assert alibaba.delete_states == ["Allocated", "Confirmed", "Rejected", "Canceled"]
    assert "the-secret" not in repr(alibaba) and "the-token" not in repr(alibaba)


def test_defaults_are_v3_one_region_and_the_2023_delete_states() -> None:
    defaults = AlibabaSettings()
    assert not SPEC.configured(defaults)
    assert defaults.signature_version == "v3" and defaults.watched_regions == ["cn-hangzhou"]
    assert tuple(defaults.delete_states) == DELETE_STATES_2023


async def test_the_spec_builds_a_client_for_the_real_endpoints() -> None:
    settings = AlibabaSettings(
        access_key_id="LTAIexample", access_key_secret="s", regions=["cn-hangzhou", "eu-central-1"]
    )
    client = SPEC.client(settings, FakeClock())
    try:
        assert client.regions == ["cn-hangzhou", "eu-central-1"] and client.rpc.signature_version == "v3"
        assert "'s'" not in repr(client.rpc.credentials)
    finally:
        await client.aclose()


def test_command_parameters_take_operators_and_port_types_in_any_case() -> None:
    from circuitbot.providers.alibaba.operations.params import CreateParams, ModifyParams

    created = CreateParams(
        access_point="ap-x", line_operator="equinix", peer_location="x", port_type="10gbase-lr"
    )
    assert (created.line_operator, created.port_type) == ("Equinix", "10GBase-LR")
    assert ModifyParams(pc_id="PC-119MFJZM7", line_operator="ct").changes() == {"line_operator": "CT"}
