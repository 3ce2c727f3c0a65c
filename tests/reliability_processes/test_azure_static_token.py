"""``CIRCUITBOT_AZURE__STATIC_TOKEN``: the real Azure client with a fixed bearer token, as the
bot processes of this suite use it against a simulator on loopback."""

from __future__ import annotations

from circuitbot.clock import FakeClock
from circuitbot.providers.azure.credentials import StaticTokenCredential
from circuitbot.providers.azure.spec import SPEC
from circuitbot.settings import load_settings


async def test_a_static_token_replaces_signing_in(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CIRCUITBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CIRCUITBOT_AZURE__SUBSCRIPTION_IDS", "sub-1")
    monkeypatch.setenv("CIRCUITBOT_AZURE__BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CIRCUITBOT_AZURE__STATIC_TOKEN", "token-canary")
    settings = load_settings()

    client = SPEC.client(settings.azure, FakeClock())
    try:
        credential = client.arm.credential
        assert isinstance(credential, StaticTokenCredential)
        assert (await credential.get_token("scope")).token == "token-canary"
        assert "token-canary" not in repr(settings)
    finally:
        await client.aclose()

    monkeypatch.delenv("CIRCUITBOT_AZURE__STATIC_TOKEN")
    signing_in = SPEC.client(load_settings().azure, FakeClock())
    assert signing_in.arm.credential is None, "DefaultAzureCredential, created on first use"
    await signing_in.aclose()
