"""The database: one async engine, sessions, and migrations.

SQLite (aiosqlite) serves one process; PostgreSQL (asyncpg) serves any number of replicas,
which claim work with ``SELECT … FOR UPDATE SKIP LOCKED`` (see ``Database.skip_locked``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Update, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_postgres = self.url.get_backend_name() == "postgresql"
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite and self.url.database and self.url.database != ":memory:":
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict = {"echo": echo}
        if self.is_sqlite and self.url.database in (None, "", ":memory:"):
            kwargs["poolclass"] = NullPool
        elif self.is_sqlite:
            # Pooled: a new aiosqlite connection costs a thread and three PRAGMAs, on every session.
            # busy_timeout below serialises the writers.
            kwargs.update(pool_size=5, max_overflow=5)
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def skip_locked(self) -> bool:
        """Whether claims can use FOR UPDATE SKIP LOCKED (PostgreSQL only)."""
        return self.is_postgres

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def upgrade(self, revision: str = "head") -> None:
        """Apply Alembic migrations up to ``revision``."""
        await asyncio.to_thread(run_migrations, self.url.render_as_string(hide_password=False), revision)

    async def revisions(self) -> tuple[str | None, str]:
        """The schema's migration revision (None: never migrated) and the newest this code has."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(alembic_config(str(self.url))).get_current_head()
        async with self.engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
        return current, str(head)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def rows_changed(session: AsyncSession, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE and say how many rows it changed: the answer of a compare-and-set."""
    return cast(CursorResult[Any], await session.execute(statement)).rowcount


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a crash of the process loses
    # nothing, a power cut at most the last commits; FULL made each audit row wait on a fsync.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Alembic keeps its migration context in module globals, so two upgrades on threads of one
# process would run each other's migrations: one at a time here. Across processes (replicas),
# the advisory lock in migrations/env.py serialises them.
_ONE_UPGRADE_AT_A_TIME = threading.Lock()


def run_migrations(url: str, revision: str = "head") -> None:
    from alembic import command

    with _ONE_UPGRADE_AT_A_TIME:
        command.upgrade(alembic_config(url), revision)
