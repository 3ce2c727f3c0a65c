"""Fixtures of the Alibaba Slack tests (``alibaba_slack_support.Bot``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alibaba_slack_support import BOT_TOKEN, SIGNING_SECRET, Bot

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from circuitbot.settings import Settings
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.server import attach_slack
from circuitbot.testing.fake_slack import FakeSlack


@pytest.fixture
async def bot(tmp_path, clock: FakeClock) -> AsyncIterator[Bot]:
    slack = FakeSlack()
    async with slack.serve() as api_url:
        settings = Settings(
            data_dir=tmp_path,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=api_url,
            requesters=["UREQ", "UAPP1"],
            approvers=["UAPP1"],
            approvals_channel="CAPPROVALS",
        )
        runtime = await build_runtime(settings, sandbox=True, clock=clock)
        work = BackgroundWork()
        app = attach_slack(runtime, settings, work=work)
        try:
            yield Bot(app, slack, runtime, work, clock)
        finally:
            assert await work.drain(timeout=30)
            await runtime.close()
