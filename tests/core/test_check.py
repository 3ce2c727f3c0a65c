"""``circuitbot check``: every item OK on the sandbox, and each way a deployment is wrong named as
a FAIL with its reason and its fix (bad credentials, a missing channel, an unmigrated database,
a misspelt setting, missing scopes, a refused app token), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from circuitbot.check import Item, failed, run_checks
from circuitbot.clock import SystemClock
from circuitbot.providers.azure.spec import SPEC as AZURE
from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.server import SimulatorServer
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings
from circuitbot.store.db import Database
from circuitbot.testing.fake_slack import FakeSlack

BOT_TOKEN = "xoxb-check-token"
APP_TOKEN = "xapp-check-token"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith(("CIRCUITBOT_", "SLACK_")):
            monkeypatch.delenv(key)


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, str]]:
    fake = FakeSlack(unknown_channels=["CGONE"])
    fake.joined_channels.add("CAPPROVALS")
    fake.socket_url = "ws://127.0.0.1:9/never-opened"
    async with fake.serve() as url:
        yield fake, url


@pytest.fixture
async def migrated(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path)
    db = Database(settings.effective_database_url)
    await db.upgrade()
    await db.dispose()
    return settings


def _settings(base: Settings, api_url: str, **changes: object) -> Settings:
    values: dict[str, object] = {
        "slack_api_url": api_url,
        "slack_bot_token": SecretStr(BOT_TOKEN),
        "slack_app_token": SecretStr(APP_TOKEN),
        "approvals_channel": "CAPPROVALS",
        **changes,
    }
    return base.model_copy(update=values)


def by_name(items: list[Item]) -> dict[str, Item]:
    return {item.name: item for item in items}


async def test_a_sound_deployment_is_all_ok(migrated: Settings, slack: tuple[FakeSlack, str]) -> None:
    _, url = slack
    items = await run_checks(_settings(migrated, url), environ={})
    found = by_name(items)

    assert not failed(items), [i.line() for i in items]
    assert [found[n].status for n in ("settings", "database", "migrations", "slack", "slack scopes")] == [
        "OK"
    ] * 5
    assert found["slack mode"].detail.startswith("Socket Mode")
    assert found["channel CIRCUITBOT_APPROVALS_CHANNEL"].status == "OK"
    assert found["channel CIRCUITBOT_NOTIFY_CHANNEL"].status == "SKIP"
    assert found["azure"].status == "SKIP"  # not configured, and nothing needs it


async def test_a_bot_token_slack_refuses_fails_with_the_fix(
    migrated: Settings, slack: tuple[FakeSlack, str]
) -> None:
    _, url = slack
    items = await run_checks(_settings(migrated, url, slack_bot_token=SecretStr("bogus")), environ={})

    [slack_item] = [i for i in items if i.name.startswith("slack")]
    assert slack_item.status == "FAIL" and "invalid_auth" in slack_item.detail
    assert "SLACK_BOT_TOKEN" in slack_item.fix and "bogus" not in slack_item.line()


async def test_missing_scopes_a_refused_app_token_and_channels_the_bot_is_not_in_fail(
    migrated: Settings, slack: tuple[FakeSlack, str]
) -> None:
    fake, url = slack
    fake.granted_scopes -= {"mpim:history", "usergroups:read"}
    fake.app_tokens = {"xapp-another"}
    settings = _settings(migrated, url, approvals_channel="CNOTJOINED", notify_channel="CGONE")
    found = by_name(await run_checks(settings, environ={}))

    assert found["slack scopes"].status == "FAIL"
    assert found["slack scopes"].detail == "missing mpim:history, usergroups:read"
    assert found["slack mode"].status == "FAIL" and "invalid_auth" in found["slack mode"].detail
    approvals, notify = (
        found["channel CIRCUITBOT_APPROVALS_CHANNEL"],
        found["channel CIRCUITBOT_NOTIFY_CHANNEL"],
    )
    assert approvals.status == "FAIL" and approvals.fix == "invite the bot: /invite @circuitbot in CNOTJOINED"
    assert notify.status == "FAIL" and "channel_not_found" in notify.detail


async def test_an_unmigrated_database_fails(tmp_path: Path, slack: tuple[FakeSlack, str]) -> None:
    _, url = slack
    settings = Settings(data_dir=tmp_path)
    db = Database(settings.effective_database_url)
    await db.upgrade("0001")
    await db.dispose()
    found = by_name(await run_checks(_settings(settings, url), environ={}))

    assert found["database"].status == "OK"
    assert found["migrations"].status == "FAIL" and found["migrations"].detail.startswith("at 0001, head is")
    assert "circuitbot db upgrade" in found["migrations"].fix


async def test_a_misspelt_variable_is_named_with_the_closest_setting(
    migrated: Settings, slack: tuple[FakeSlack, str]
) -> None:
    _, url = slack
    environ = {"CIRCUITBOT_APPROVALS_CHANEL": "C1", "CIRCUITBOT_TEST_POSTGRES_URL": "not a setting"}
    [item] = [i for i in await run_checks(_settings(migrated, url), environ=environ) if i.name == "settings"]

    assert item.status == "FAIL"
    assert item.detail == (
        "unknown variable CIRCUITBOT_APPROVALS_CHANEL; did you mean CIRCUITBOT_APPROVALS_CHANNEL?"
    )


async def test_a_provider_refusing_its_credentials_fails(
    migrated: Settings, slack: tuple[FakeSlack, str]
) -> None:
    _, url = slack
    refuse = FaultConfig(fail_next=[QueuedFault(status=401, count=10)])
    simulator = AZURE.simulator(World.demo(), SystemClock(), refuse)
    async with SimulatorServer(simulator) as server:
        azure = migrated.azure.model_copy(
            update={
                "subscription_ids": [simulator.world.partner_subscription_id],
                "base_url": server.url,
                "static_token": SecretStr("a-token-azure-refuses"),
            }
        )
        found = by_name(await run_checks(_settings(migrated, url, azure=azure), environ={}))

    assert found["azure"].status == "FAIL" and "401" in found["azure"].detail + found["azure"].line()
    assert "credentials" in found["azure"].fix and "a-token-azure-refuses" not in found["azure"].line()


# --- the command -----------------------------------------------------------------------------------


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCUITBOT_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "circuitbot.cli", "check", *args],
        env={**base, "CIRCUITBOT_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_sandbox_proves_every_item_against_the_fakes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "circuitbot.cli", "db", "upgrade"],
        env={**os.environ, "CIRCUITBOT_DATA_DIR": str(tmp_path)},
        check=True,
        capture_output=True,
    )
    done = _run(tmp_path, "--sandbox", CIRCUITBOT_APPROVALS_CHANNEL="C0APPROVALS", SLACK_APP_TOKEN="xapp-x")

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("OK   azure: ") and "port pair" in line for line in lines), lines
    assert "OK   channel CIRCUITBOT_APPROVALS_CHANNEL: C0APPROVALS: the bot is a member" in lines
    assert all(line.split()[0] in {"OK", "SKIP"} for line in lines) and "Traceback" not in done.stderr


def test_a_misspelt_toml_key_is_a_fail_not_a_silent_default(tmp_path: Path) -> None:
    config = tmp_path / "circuitbot.toml"
    config.write_text('approvals_chanel = "C1"\n[wacth]\ntick_seconds = 1\n')
    done = _run(tmp_path, CIRCUITBOT_CONFIG=str(config))

    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"FAIL settings: CIRCUITBOT_CONFIG: {config}: unknown key approvals_chanel; "
        "did you mean approvals_channel? (and 1 more)"
    )
