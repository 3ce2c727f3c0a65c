"""Fixtures for the watch room: a runtime on the test database (SQLite and PostgreSQL) with an
in-memory provider, a recording poster, the watch commands, and the engine on a FakeClock."""

from __future__ import annotations

import pytest
from watch_support import FakePoller, make_runtime

from circuitbot.runtime import Runtime
from circuitbot.watch.engine import WatchEngine
from support.poster import RecordingPoster


@pytest.fixture
def poller() -> FakePoller:
    return FakePoller("azure")


@pytest.fixture
def poster() -> RecordingPoster:
    return RecordingPoster()


@pytest.fixture
def runtime(settings, database, clock, poller, poster) -> Runtime:
    return make_runtime(settings, database, clock, poller, poster)


@pytest.fixture
def engine(runtime) -> WatchEngine:
    return runtime.watches
