"""How Azure joins the runtime: the sandbox's simulator and client, or the real ARM from settings."""

from __future__ import annotations

from azure_support import FABRIKAM, Harness

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.providers.azure.credentials import StaticTokenCredential
from circuitbot.providers.azure.poller import AzurePoller
from circuitbot.settings import Settings


async def test_the_sandbox_serves_the_demo_partner_with_short_timings(harness: Harness) -> None:
    sim, client = harness.sim, harness.client
    assert (sim.operation_seconds, sim.retry_after_seconds) == (6.0, 2)
    assert sim.page_size == 100  # as an ARM list might page; not the handful the paging tests use
    assert client.subscription_ids == [sim.world.partner_subscription_id]
    assert isinstance(client.arm.credential, StaticTokenCredential)
    assert isinstance(harness.runtime.pollers["azure"], AzurePoller)
    found = await harness.clock.run_until(client.get_cross_connection(FABRIKAM))
    assert found.model.subscription_id == sim.world.partner_subscription_id


async def test_outside_the_sandbox_azure_needs_its_subscriptions(tmp_path) -> None:
    runtime = await build_runtime(Settings(data_dir=tmp_path), clock=FakeClock())
    try:
        assert "azure" not in runtime.providers and "azure" not in runtime.pollers
    finally:
        await runtime.close()


async def test_the_real_client_follows_the_settings_for_a_sovereign_cloud(tmp_path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        azure={
            "subscription_ids": "sub-a, sub-b",
            "base_url": "https://management.chinacloudapi.cn",
            "token_scope": "https://management.chinacloudapi.cn/.default",
            "cross_connection_api_version": "2024-07-01",
        },
    )
    runtime = await build_runtime(settings, clock=FakeClock())
    try:
        client: AzurePartnerClient = runtime.providers["azure"]
        assert client.subscription_ids == ["sub-a", "sub-b"]
        assert client.base_url == "https://management.chinacloudapi.cn"
        assert client.token_scope == "https://management.chinacloudapi.cn/.default"
        assert (client.cross_connection_api_version, client.provider_ports_api_version) == (
            "2024-07-01",
            "2025-05-01",
        )
        assert client.arm.credential is None, "DefaultAzureCredential is made on first use, not at start-up"
        assert runtime.pollers["azure"].client is client
    finally:
        await runtime.close()
