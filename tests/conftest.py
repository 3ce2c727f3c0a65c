"""Fixtures shared by every test room: databases (SQLite always, PostgreSQL when configured)
and a runtime on a fresh database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from circuitbot.clock import FakeClock
from circuitbot.settings import Settings
from circuitbot.store.db import Database

# .ci/run sets this; on a machine without PostgreSQL the PostgreSQL variants are skipped.
POSTGRES_ENV = "CIRCUITBOT_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


async def _create_postgres_database() -> tuple[str, str]:
    """A throwaway database on the configured server, so tests never share state."""
    import asyncpg

    admin = postgres_admin_url()
    assert admin
    name = f"circuitbot_test_{uuid.uuid4().hex[:12]}"
    dsn = admin.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://")
    if not url.startswith("postgresql+asyncpg://"):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url, name


async def _drop_postgres_database(name: str) -> None:
    import asyncpg

    dsn = postgres_admin_url().replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request, tmp_path) -> AsyncIterator[str]:
    """A fresh, empty database URL: SQLite always; PostgreSQL where its URL is set."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not postgres_admin_url():
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
        )
    url, name = await _create_postgres_database()
    try:
        yield url
    finally:
        await _drop_postgres_database(name)


@pytest.fixture
async def database(database_url) -> AsyncIterator[Database]:
    """A migrated database (SQLite and PostgreSQL variants)."""
    db = Database(database_url)
    await db.upgrade()
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings on a temp data dir, with roles the tests rely on: UREQ requests, UAPP1/UAPP2 approve."""
    return Settings(
        data_dir=tmp_path,
        requesters=["UREQ", "UAPP1", "UAPP2"],
        approvers=["UAPP1", "UAPP2"],
        admins=["UADMIN"],
        approvals_channel="CAPPROVALS",
        notify_channel="CNOTIFY",
    )
