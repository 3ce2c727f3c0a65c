"""A sandbox runtime (every provider on its simulator) with a recording poster, for the
reliability suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from reliability_support import Driver, reliability_settings

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from support.poster import RecordingPoster


@pytest.fixture
async def driver(tmp_path) -> AsyncIterator[Driver]:
    clock = FakeClock()
    runtime = await build_runtime(reliability_settings(tmp_path), sandbox=True, clock=clock)
    poster = RecordingPoster()
    runtime.poster = poster
    try:
        yield Driver(runtime, clock, poster)
    finally:
        await runtime.close()
