"""Fixtures for the Slack front end: a fake Slack on loopback, a runtime on a temp SQLite
database with the test operations, and the real Bolt app driven by signed requests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from slack_support import ADMIN, ADMIN_GROUP, BOT_TOKEN, SIGNING_SECRET, FakeProvider, build_test_registry

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.server import attach_slack, build_http_app, http_server
from circuitbot.testing.fake_slack import FakeSlack


@pytest.fixture
def fake_slack() -> FakeSlack:
    return FakeSlack(usergroups={ADMIN_GROUP: [ADMIN]})


@pytest.fixture
async def slack_api_url(fake_slack: FakeSlack) -> AsyncIterator[str]:
    async with fake_slack.serve() as url:
        yield url


@pytest.fixture
def bot_settings(tmp_path, slack_api_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_api_url,
        admins=[ADMIN_GROUP],
    )


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
async def runtime(bot_settings: Settings, provider: FakeProvider) -> AsyncIterator[Runtime]:
    runtime = await build_runtime(bot_settings, registry=build_test_registry(), clock=FakeClock())
    runtime.providers["test"] = provider
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
def work() -> BackgroundWork:
    return BackgroundWork()


@pytest.fixture
async def bolt_app(runtime: Runtime, bot_settings: Settings, work: BackgroundWork) -> AsyncIterator[AsyncApp]:
    app = attach_slack(runtime, bot_settings, work=work)
    yield app
    # Nothing may outlive the test: listeners still running after their ack are awaited here.
    assert await work.drain(timeout=5), "a listener was still running at the end of the test"


@pytest.fixture
async def http(runtime: Runtime, bolt_app: AsyncApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``circuitbot serve --http``'s app, served on loopback."""
    async with (
        http_server(build_http_app(runtime, bolt_app), "127.0.0.1", 0) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        yield client
