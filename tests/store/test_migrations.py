"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from circuitbot.store.db import Database, alembic_config
from circuitbot.store.tables import Base


async def test_migrations_match_the_declared_tables(database: Database) -> None:
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    assert diff == [], f"migrations and tables.py differ: {diff}"


async def test_upgrade_is_repeatable(database: Database) -> None:
    await database.upgrade()
    async with database.session() as session:
        version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    [head] = ScriptDirectory.from_config(alembic_config(str(database.url))).get_heads()
    assert version == head


async def test_replicas_migrating_together_apply_each_migration_once(database_url: str) -> None:
    """Four replicas starting at once on an empty database, each applying migrations: one migrates
    under the advisory lock, the others then find the schema at head. PostgreSQL only: SQLite
    serves one process."""
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL; SQLite serves one process")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCUITBOT_", "SLACK_"))}
    env["CIRCUITBOT_DATABASE_URL"] = database_url
    replicas = [
        await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "circuitbot.cli", "db", "upgrade"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(4)
    ]
    async with asyncio.timeout(120):
        answers = [await replica.communicate() for replica in replicas]
    db = Database(database_url)
    try:
        current, head = await db.revisions()
    finally:
        await db.dispose()

    assert [replica.returncode for replica in replicas] == [0] * 4, [err.decode() for _, err in answers]
    assert current == head


async def test_upgrades_on_threads_of_one_process_take_turns(database_url: str) -> None:
    """Alembic's context is global to a process: upgrades started on several threads at once must
    not run each other's migrations (they once deadlocked on PostgreSQL's advisory lock)."""
    replicas = [Database(database_url) for _ in range(3)]
    try:
        async with asyncio.timeout(120):
            await asyncio.gather(*(db.upgrade() for db in replicas))
        current, head = await replicas[0].revisions()
    finally:
        for db in replicas:
            await db.dispose()
    assert current == head
