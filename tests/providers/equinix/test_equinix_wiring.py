"""How Equinix joins the runtime: the sandbox's simulator and client, or the real API from
settings read from the environment, the client id and secret kept secret."""

from __future__ import annotations

import pytest

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from circuitbot.providers.equinix.client import EquinixClient
from circuitbot.providers.equinix.poller import EquinixPoller
from circuitbot.providers.equinix.settings import EquinixSettings
from circuitbot.providers.equinix.spec import SPEC
from circuitbot.sandbox.equinix import EquinixSimulator, parse_client_credentials
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings


async def test_the_sandbox_signs_in_to_the_simulator_on_v4_by_default(tmp_path) -> None:
    runtime = await build_runtime(Settings(data_dir=tmp_path), sandbox=True, clock=FakeClock())
    try:
        client = runtime.providers["equinix"]
        assert isinstance(client, EquinixClient) and client.api_version == "v4"
        assert isinstance(runtime.pollers["equinix"], EquinixPoller)
        sim = runtime.sandbox["equinix"]
        assert isinstance(sim, EquinixSimulator) and sim.state.operation_seconds == 6.0
        assert await runtime.clock.run_until(client.ports())  # type: ignore[attr-defined]
        probed = await runtime.clock.run_until(SPEC.probe(client))
        assert probed == "signed in on Fabric v4; 7 port(s) listed"
    finally:
        await runtime.close()


async def test_outside_the_sandbox_equinix_needs_its_client_credentials(tmp_path) -> None:
    runtime = await build_runtime(Settings(data_dir=tmp_path), clock=FakeClock())
    try:
        assert "equinix" not in runtime.providers and "equinix" not in runtime.pollers
    finally:
        await runtime.close()


async def test_the_real_client_follows_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CIRCUITBOT_EQUINIX__CLIENT_ID", "app-id")
    monkeypatch.setenv("CIRCUITBOT_EQUINIX__CLIENT_SECRET", "app-secret")
    monkeypatch.setenv("CIRCUITBOT_EQUINIX__API_VERSION", "v3")
    monkeypatch.setenv("CIRCUITBOT_EQUINIX__BASE_URL", "https://api.sandbox.example/")
    settings = Settings(data_dir=tmp_path)
    equinix = settings.provider_settings("equinix")
    assert isinstance(equinix, EquinixSettings) and SPEC.configured(equinix)
    assert "app-secret" not in repr(settings) and "app-secret" not in str(equinix.model_dump())
    runtime = await build_runtime(settings, clock=FakeClock())
    try:
        client: EquinixClient = runtime.providers["equinix"]  # type: ignore[assignment]
        assert client.api_version == "v3" and client.api.base_url == "https://api.sandbox.example"
        assert runtime.pollers["equinix"].client is client  # type: ignore[attr-defined]
    finally:
        await runtime.close()


def test_a_wrong_api_version_is_refused(monkeypatch) -> None:
    with pytest.raises(ValueError, match="api_version"):
        EquinixSettings(api_version="v5")  # type: ignore[arg-type]


def test_the_simulator_takes_more_client_credentials() -> None:
    sim = EquinixSimulator(World.demo(), FakeClock(), client_credentials=[("a", "b")])
    sim.add_client_credentials("c", "d")
    assert {"a", "c", "circuitbot-sandbox"} <= set(sim.issuer.credentials)


def test_client_credentials_are_written_id_colon_secret() -> None:
    assert parse_client_credentials("ops-app:s3:cr3t") == ("ops-app", "s3:cr3t")
    for bad in ("no-colon", ":secret", "id:"):
        with pytest.raises(ValueError, match="ID:SECRET"):
            parse_client_credentials(bad)
