"""Fixtures for the shell: a runtime on a temp SQLite file with the shell's people as roles,
the test-only operations of shell_support, and an approvals stand-in that posts with buttons."""

from __future__ import annotations

import pytest
from shell_support import Recorder, register

from circuitbot.bootstrap import build_registry
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.shell.directory import shell_settings
from circuitbot.store.db import Database
from support.approvals import FakeApprovals


@pytest.fixture
def settings(tmp_path) -> Settings:
    """The shell's own sandbox roles: alice requests, bob and carol approve, dave reads, root admins."""
    return shell_settings(Settings(data_dir=tmp_path), sandbox=True)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def runtime(settings, clock, recorder):
    registry = build_registry()
    register(registry, recorder)
    db = Database(settings.effective_database_url)
    await db.upgrade()
    rt = Runtime(settings=settings, db=db, registry=registry, clock=clock)
    rt.approvals = FakeApprovals(rt)
    yield rt
    await rt.close()
