"""Fixtures of the Equinix command tests: the bot on the sandbox (Equinix on either API
generation), on a FakeClock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from equinix_support import Bot, MakeBot, make_bot

from circuitbot.clock import FakeClock
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings


@pytest.fixture
async def make(settings: Settings, clock: FakeClock) -> AsyncIterator[MakeBot]:
    bots: list[Bot] = []

    async def build(generation: str = "v4", world: World | None = None) -> Bot:
        bot = await make_bot(settings, clock, generation, world)
        bots.append(bot)
        return bot

    yield build
    for bot in bots:
        await bot.runtime.close()


@pytest.fixture(params=["v4", "v3"])
async def bot(request, make: MakeBot) -> Bot:
    return await make(request.param)
