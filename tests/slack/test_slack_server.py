"""HTTP mode over a real socket: Slack's request URL, health, readiness, metrics, start-up checks
and a graceful stop of ``circuitbot serve --http``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from slack_support import BOT_TOKEN, SIGNING_SECRET, FakeProvider, command_body, post_signed

from circuitbot.bootstrap import build_runtime
from circuitbot.chat.reply import Reply
from circuitbot.runtime import Runtime
from circuitbot.settings import ConfigError, Settings
from circuitbot.slack.app import BackgroundWork, command_ack, slack_client
from circuitbot.slack.server import (
    EVENTS_PATH,
    build_http_app,
    check_token,
    http_server,
    require_slack_settings,
    serve,
)
from circuitbot.store.db import Database
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import signed_request_headers


async def test_signed_help_over_http(
    http: httpx.AsyncClient, fake_slack: FakeSlack, runtime: Runtime
) -> None:
    response = await post_signed(http, command_body(fake_slack, "help"))

    assert response.status_code == 200
    shown = json.dumps(response.json()["blocks"], ensure_ascii=False)  # the text is clipped at 3,000
    for verb in ("help", "list", "show", "test slow", "test pages", "test move"):
        assert f"`{verb}`" in shown


async def test_forged_and_stale_signatures_get_401(http: httpx.AsyncClient, fake_slack: FakeSlack) -> None:
    body = command_body(fake_slack, "help")

    forged = await post_signed(http, body, secret="guessed")
    stale = await post_signed(http, body, timestamp=int(time.time()) - 6 * 60)
    tampered = await http.post(
        EVENTS_PATH,
        content=body.replace("help", "list").encode(),
        headers=signed_request_headers(SIGNING_SECRET, body),
    )

    assert [forged.status_code, stale.status_code, tampered.status_code] == [401, 401, 401]
    assert fake_slack.calls == []


def _counter(text: str, pattern: str) -> float:
    match = re.search(pattern + r" ([0-9.e+]+)", text)
    return float(match.group(1)) if match else 0.0


HELP_OK = r'circuitbot_commands_total\{operation="help",result="ok"\}'
ACKS = r'circuitbot_ack_seconds_count\{kind="command"\}'


async def test_health_readiness_and_metrics(http: httpx.AsyncClient, fake_slack: FakeSlack) -> None:
    before = (await http.get("/metrics")).text
    await post_signed(http, command_body(fake_slack, "help"))

    health = await http.get("/healthz")
    ready = await http.get("/readyz")
    scraped = await http.get("/metrics")

    assert (health.status_code, health.text) == (200, "ok")
    assert (ready.status_code, ready.text) == (200, "ready")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    # the counters are process-wide: this request must have moved them by one
    assert _counter(scraped.text, HELP_OK) == _counter(before, HELP_OK) + 1
    assert _counter(scraped.text, ACKS) == _counter(before, ACKS) + 1


async def test_readyz_is_503_when_the_database_does_not_answer(
    http: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    working = runtime.db
    runtime.db = Database(f"sqlite+aiosqlite:///{tmp_path}")  # a directory: cannot be opened
    try:
        ready = await http.get("/readyz")
        health = await http.get("/healthz")
    finally:
        await runtime.db.dispose()
        runtime.db = working

    assert ready.status_code == 503
    assert health.status_code == 200


async def test_socket_mode_serves_health_and_metrics_without_a_request_url(runtime: Runtime) -> None:
    async with (
        http_server(build_http_app(runtime, None), "127.0.0.1", 0) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        assert b"circuitbot_commands_total" in (await client.get("/metrics")).content
        assert (await client.post(EVENTS_PATH, content=b"x")).status_code == 404


async def test_only_post_reaches_slack_events(http: httpx.AsyncClient) -> None:
    assert (await http.get(EVENTS_PATH)).status_code == 405


async def test_shutdown_waits_for_acknowledged_work(
    bolt_app: AsyncApp, fake_slack: FakeSlack, provider: FakeProvider, work: BackgroundWork, http
) -> None:
    response = await post_signed(http, command_body(fake_slack, "test slow"))
    assert response.status_code == 200
    await provider.slow_started.wait()

    assert await work.drain(timeout=0) is False  # still waiting on its provider
    provider.gate.set()
    assert await work.drain() is True
    assert [c.args["text"] for c in fake_slack.calls_to("response_url")] == ["slow result is in"]


# ---------------------------------------------------------------------- start-up


@pytest.mark.parametrize(
    ("http_mode", "missing", "named"),
    [
        (True, "slack_bot_token", "SLACK_BOT_TOKEN"),
        (True, "slack_signing_secret", "SLACK_SIGNING_SECRET"),
        (False, "slack_app_token", "SLACK_APP_TOKEN"),
        (False, "slack_bot_token", "SLACK_BOT_TOKEN"),
    ],
)
def test_missing_slack_setting_is_named(tmp_path: Path, http_mode: bool, missing: str, named: str) -> None:
    values = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_app_token": "xapp-1-test",
    }
    values.pop(missing)
    settings = Settings(data_dir=tmp_path, **values)

    with pytest.raises(ConfigError) as raised:
        require_slack_settings(settings, http=http_mode)

    message = str(raised.value)
    assert message.startswith(f"{named}:") and "\n" not in message
    assert BOT_TOKEN not in message


async def test_serve_without_a_token_stops_before_touching_anything(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    settings = Settings(data_dir=tmp_path, slack_signing_secret=SIGNING_SECRET)

    with pytest.raises(ConfigError, match=r"^SLACK_BOT_TOKEN:"):
        await serve(settings, http=True, host="127.0.0.1", port=0, sandbox=True)

    assert await asyncio.to_thread(os.listdir, tmp_path) == []  # no database was created


async def test_a_token_slack_refuses_stops_start_up(bot_settings: Settings, fake_slack: FakeSlack) -> None:
    wrong = bot_settings.model_copy(update={"slack_bot_token": None})
    client = slack_client(wrong)
    client.token = "not-a-bot-token"

    with pytest.raises(ConfigError) as raised:
        await check_token(client, bot_settings)

    assert str(raised.value) == "SLACK_BOT_TOKEN: Slack refused it (invalid_auth)"
    await check_token(slack_client(bot_settings), bot_settings)
    assert [c.ok for c in fake_slack.calls_to("auth.test")] == [False, True]


class Engine:
    def __init__(self) -> None:
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")


async def test_background_engines_start_and_stop_with_the_runtime(bot_settings: Settings) -> None:
    runtime = await build_runtime(bot_settings)
    runtime.approvals = approvals = Engine()
    runtime.watches = runtime.digests = None  # no watch or digest engine here: nothing to start

    assert await runtime.start_engines() == ["approvals"]
    assert approvals.events == ["start"]
    await runtime.close()
    assert approvals.events == ["start", "stop"]


# ---------------------------------------------------------------------- the real process


async def test_circuitbot_serve_http_answers_and_stops_on_sigterm(
    tmp_path: Path, fake_slack: FakeSlack, slack_api_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CIRCUITBOT_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api_url,
        CIRCUITBOT_DATA_DIR=str(tmp_path),
        CIRCUITBOT_LOG_LEVEL="INFO",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "circuitbot.cli",
        "serve",
        "--http",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    log_lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not (
                match := re.search(r"serving Slack over HTTP on 127\.0\.0\.1:(\d+)", "".join(log_lines))
            ):
                line = await process.stderr.readline()
                assert line, f"circuitbot serve exited early: {''.join(log_lines)}"
                log_lines.append(line.decode())
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{match.group(1)}") as http:
            answered = await post_signed(http, command_body(fake_slack, "help"))
            stale = await post_signed(
                http, command_body(fake_slack, "help"), timestamp=int(time.time()) - 360
            )
            health = await http.get("/healthz")
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, rest = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = "".join(log_lines) + rest.decode()

    assert answered.status_code == 200 and "`help`" in answered.json()["text"]
    assert stale.status_code == 401
    assert health.status_code == 200
    assert process.returncode == 0, output
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output
    assert [c.ok for c in fake_slack.calls_to("auth.test")][:1] == [True]


def test_replies_are_sent_as_slack_messages() -> None:
    # The ack adapter: what a Reply carries is what Slack receives.
    reply = Reply.plain("hi", ephemeral=False)
    assert command_ack(reply) == {"text": "hi", "blocks": reply.blocks, "response_type": "in_channel"}
    assert command_ack(None) == {}
