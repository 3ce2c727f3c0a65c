"""Secrets: a scripted session with a canary in every credential (Slack bot token, signing
secret, app token, CIRCUITBOT_SECRET_KEY, the provider's credentials) and in a BGP shared key,
through Slack (signed requests into the Bolt app, against the fake Slack) and through the shell.
No canary may appear in any Slack call, any log line (DEBUG and up, and the shell's log file)
or any database row."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
from typing import Any

import pytest
from reliability_support import every_row, reliability_settings
from slack_bolt.request.async_request import AsyncBoltRequest

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from circuitbot.providers.azure.credentials import StaticTokenCredential
from circuitbot.runtime import Runtime
from circuitbot.shell.console import run_shell
from circuitbot.shell.directory import shell_settings
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.server import attach_slack
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import block_action_body, signed_request_headers, slash_command_body

CANARY = "CANARY"  # every canary below holds it, so one search finds them all
BOT_TOKEN = "xoxb-CANARY-bot-token"
SIGNING_SECRET = "CANARY-signing-secret"
APP_TOKEN = "xapp-CANARY-app-token"
# a Fernet key is 32 url-safe base64 bytes: 43 characters and a pad
FERNET_KEY = ("CANARYfernetKEY" + "A" * 43)[:43] + "="
AZURE_TOKEN = "CANARY-azure-bearer-token"
AZURE_ENVIRONMENT = {
    "AZURE_CLIENT_ID": "CANARY-azure-client-id",
    "AZURE_TENANT_ID": "CANARY-azure-tenant-id",
    "AZURE_CLIENT_SECRET": "CANARY-azure-client-secret",
}
SHARED_KEY = "CANARYbgpKey9"
CIRCUIT = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"  # Provisioned, with a private peering on VLAN 210
PEERING = (
    f"az peering {CIRCUIT} private peer-asn=65010 vlan-id=211 primary-prefix=10.10.0.0/30 "
    f"secondary-prefix=10.10.0.4/30 shared-key={SHARED_KEY}"
)
READS = [f"az peerings {CIRCUIT}", f"az show {CIRCUIT}", "approvals all", "audit", "help az peering"]


def canary_settings(tmp_path, **overrides: Any):
    return reliability_settings(
        tmp_path,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=APP_TOKEN,
        secret_key=FERNET_KEY,
        log_level="DEBUG",
        **overrides,
    )


def with_canary_credentials(runtime: Runtime) -> None:
    """The Azure client's credential hands out a canary bearer token (as a real one would a real one)."""
    runtime.providers["azure"].arm.credential = StaticTokenCredential(AZURE_TOKEN)


@pytest.fixture(autouse=True)
def azure_environment(monkeypatch) -> None:
    for name, value in AZURE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


async def assert_no_canary_in_rows(runtime: Runtime) -> None:
    rows = await every_row(runtime)
    assert CANARY not in rows
    assert "shared_key" in rows, "the request row is there, its key sealed"


# --- through Slack --------------------------------------------------------------------------------


async def send(app, body: str) -> None:
    headers = signed_request_headers(SIGNING_SECRET, body)
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200, response.body


async def test_no_canary_leaves_the_bot_through_slack(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    slack, clock, work = FakeSlack(), FakeClock(), BackgroundWork()
    async with slack.serve() as api_url:
        settings = canary_settings(tmp_path, slack_api_url=api_url)
        runtime = await build_runtime(settings, sandbox=True, clock=clock)
        with_canary_credentials(runtime)
        app = attach_slack(runtime, settings, work=work)
        try:

            async def command(text: str, user: str) -> None:
                body = slash_command_body(
                    text,
                    user_id=user,
                    channel_id="CGENERAL",
                    response_url=slack.response_url(channel="CGENERAL", user=user),
                    trigger_id=f"trigger-{time.monotonic_ns()}",
                )
                await send(app, body)
                assert await clock.run_until(work.drain(timeout=30))

            await command(PEERING, "UREQ")
            told = json.dumps([c.args for c in slack.calls])
            found = re.search(r"Request `(R[A-Z2-7]{6})` created", told)
            assert found, told[:3000]
            request_id = found.group(1)
            [card] = [m for m in slack.messages("CAPPROVALS") if request_id in m["text"]]
            await send(
                app,
                block_action_body(
                    "approval:approve",
                    request_id,
                    "UAPP1",
                    "CAPPROVALS",
                    card["ts"],
                    slack.response_url(channel="CAPPROVALS", user="UAPP1"),
                    f"trigger-{time.monotonic_ns()}",
                    block_id=f"approval_{request_id}",
                    message=card,
                ),
            )
            assert await clock.run_until(work.drain(timeout=30))
            for text in [*READS, f"az peering {CIRCUIT} private shared-key={SHARED_KEY} vlan-id=oops"]:
                await command(text, "UREQ")

            assert (await runtime.approvals.load(request_id))[0].status == "succeeded"
            peering = runtime.sandbox["azure"].cross_connection(CIRCUIT).peerings["azureprivatepeering"]
            assert peering.properties["sharedKey"] == SHARED_KEY, "the key reached the provider"
            said = json.dumps([call.args for call in slack.calls], ensure_ascii=False)
            assert "••••" in said
            assert CANARY not in said
            assert CANARY not in caplog.text
            await assert_no_canary_in_rows(runtime)
        finally:
            assert await work.drain(timeout=30)
            await runtime.close()


# --- through the shell ----------------------------------------------------------------------------


async def test_no_canary_leaves_the_bot_through_the_shell(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    settings = shell_settings(canary_settings(tmp_path, requesters=[], approvers=[], admins=[]), sandbox=True)
    runtime = await build_runtime(settings, sandbox=True, clock=clock)
    with_canary_credentials(runtime)
    # :wait lets the outbox post the card should its background pass have claimed it first
    script = "\n".join([PEERING, ":wait 1", ":as bob", "1", "y", ":as alice", *READS, ""])
    out = io.StringIO()
    try:
        code = await clock.run_until(
            run_shell(settings, stdin=io.StringIO(script), stdout=out, runtime=runtime, drain_seconds=5)
        )
        await clock.run_until(asyncio.sleep(0))
        assert code == 0
        transcript = out.getvalue()
        [(row, _)] = (await runtime.approvals.requests("all"))[0]
        assert row.status == "succeeded", transcript
        log_file = (tmp_path / "shell.log").read_text()
        assert "approved by UBOB" in log_file, "the shell's log file has the session at DEBUG"
        assert CANARY not in transcript
        assert CANARY not in caplog.text
        assert CANARY not in log_file
        await assert_no_canary_in_rows(runtime)
    finally:
        await runtime.close()


# --- Console Connect ------------------------------------------------------------------------------

CC_API_KEY = "cc-CANARY-api-key"
CC_SHARED_KEY = "CANARYccBgp7"
CC_CONNECTION = "507f1f77bcf86cd799439011"  # ACTIVE, with a PRIVATE peering on VLAN 200
CC_PEERING = (
    f"cc peering {CC_CONNECTION} PRIVATE peer-asn=65010 vlan-id=211 primary-prefix=10.10.0.0/30 "
    f"secondary-prefix=10.10.0.4/30 shared-key={CC_SHARED_KEY}"
)
CC_READS = [f"cc show {CC_CONNECTION}", f"cc peering-show {CC_CONNECTION} private", "cc list", "audit"]


def with_canary_console_connect_key(runtime: Runtime) -> None:
    """The Console Connect client sends a canary API key, which its simulator accepts."""
    from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
    from circuitbot.providers.consoleconnect.spec import SPEC

    sim = runtime.sandbox["consoleconnect"]
    sim.add_api_keys([CC_API_KEY])
    client = ConsoleConnectClient(
        api_key=CC_API_KEY, company=sim.company, transport=sim.transport(), clock=runtime.clock
    )
    runtime.providers["consoleconnect"] = client
    runtime.pollers["consoleconnect"] = SPEC.poller(client, runtime.clock)


async def test_no_console_connect_canary_leaves_the_bot_through_the_shell(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    settings = shell_settings(canary_settings(tmp_path, requesters=[], approvers=[], admins=[]), sandbox=True)
    runtime = await build_runtime(settings, sandbox=True, clock=clock)
    with_canary_console_connect_key(runtime)
    script = "\n".join([CC_PEERING, ":wait 1", ":as bob", "1", "y", ":as alice", *CC_READS, ""])
    out = io.StringIO()
    try:
        code = await clock.run_until(
            run_shell(settings, stdin=io.StringIO(script), stdout=out, runtime=runtime, drain_seconds=5)
        )
        await clock.run_until(asyncio.sleep(0))
        assert code == 0
        transcript = out.getvalue()
        [(row, _)] = (await runtime.approvals.requests("all"))[0]
        assert row.status == "succeeded", transcript
        config = runtime.sandbox["consoleconnect"].connection(CC_CONNECTION).peerings["PRIVATE"].config
        assert config["sharedKey"] == CC_SHARED_KEY, "the key reached the provider"
        log_file = (tmp_path / "shell.log").read_text()
        assert CANARY not in transcript
        assert CANARY not in caplog.text
        assert CANARY not in log_file
        await assert_no_canary_in_rows(runtime)
    finally:
        await runtime.close()


async def test_a_refused_console_connect_key_is_not_echoed(tmp_path, caplog) -> None:
    from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
    from circuitbot.providers.consoleconnect.errors import Unauthorized

    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    runtime = await build_runtime(canary_settings(tmp_path), sandbox=True, clock=clock)
    sim = runtime.sandbox["consoleconnect"]
    try:
        async with ConsoleConnectClient(
            api_key=CC_API_KEY, company="Acme", transport=sim.transport(), clock=clock
        ) as client:
            with pytest.raises(Unauthorized) as refused:
                await clock.run_until(client.list_connections())
        assert CANARY not in str(refused.value) and CANARY not in caplog.text
    finally:
        await runtime.close()
