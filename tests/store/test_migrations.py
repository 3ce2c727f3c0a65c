"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

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
    """Four processes' worth of upgrades at once on an empty database: one migrates under the
    advisory lock, the others then find the schema at head. PostgreSQL only: SQLite serves one
    process."""
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL; SQLite serves one process")
    replicas = [Database(database_url) for _ in range(4)]
    try:
        await asyncio.gather(*(db.upgrade() for db in replicas))
        current, head = await replicas[0].revisions()
    finally:
        for db in replicas:
            await db.dispose()
    assert current == head
