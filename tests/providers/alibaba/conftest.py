"""Fixtures of the Alibaba Slack tests (``alibaba_slack_support.Bot``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alibaba_slack_support import Bot

from circuitbot.clock import FakeClock
from support.slack_bot import running_bot


@pytest.fixture
async def bot(tmp_path, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running_bot(Bot, tmp_path, clock) as bot:
        yield bot
