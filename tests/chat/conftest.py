"""Fixtures for the command layer: a runtime with the test-only operations of chat_support."""

from __future__ import annotations

import pytest
from chat_support import register

from circuitbot.bootstrap import build_registry
from circuitbot.chat.router import Router
from circuitbot.runtime import Runtime
from circuitbot.store.db import Database
from support.approvals import FakeApprovals


@pytest.fixture
async def runtime(settings, clock, tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    await db.upgrade()
    registry = build_registry()
    register(registry)
    rt = Runtime(settings=settings, db=db, registry=registry, clock=clock)
    rt.approvals = FakeApprovals()
    yield rt
    await rt.close()


@pytest.fixture
def router(runtime) -> Router:
    return Router(runtime)
