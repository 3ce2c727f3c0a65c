"""Secret parameters: sealed at rest, in clear only inside execute, never in Slack, logs or rows."""

from __future__ import annotations

import logging
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from approvals_support import SECRET, MoveParams, approvals_settings
from cryptography.fernet import Fernet
from pydantic import BaseModel, SecretStr
from sqlalchemy import text

from circuitbot.actions.registry import OperationError, Params
from circuitbot.approvals.secrets import SecretBox, load_or_create_key
from circuitbot.settings import ConfigError
from circuitbot.store.tables import Base

COMMAND = f"demo move c1 B shared-key={SECRET}"


async def every_row(database) -> str:
    """Every row of every table, as text."""
    dump = []
    async with database.session() as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(text(f"SELECT * FROM {table.name}"))
            dump.extend(repr(tuple(row)) for row in result)
    return "\n".join(dump)


def everything_seen(harness, *surfaces) -> str:
    return harness.poster.everything() + "\n".join(s.text for s in surfaces)


async def test_a_secret_reaches_the_provider_and_nothing_else(harness, database, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    requested = await harness.command(COMMAND)
    request_id = next(iter(await harness.engine.requests("pending")))[0][0].id
    listed = await harness.command("approvals")
    approved = await harness.click("approve", request_id, "UAPP1")
    audited = await harness.command(f"audit {request_id}")

    assert (await harness.row(request_id)).status == "succeeded"
    assert harness.provider.received_keys == [SECRET], "execute gets the key in clear"
    seen = everything_seen(harness, requested, listed, approved, audited)
    assert "shared-key=••••" in seen, "the key is shown masked"
    assert SECRET not in seen
    assert SECRET not in caplog.text
    rows = await every_row(database)
    assert request_id in rows
    assert SECRET not in rows
    stored = (await harness.row(request_id)).params["shared_key"]
    assert set(stored) == {"$secret"}, "stored encrypted"


async def test_a_provider_error_echoing_the_secret_is_masked(harness, database, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    harness.provider.echo_key_in_error = True
    await harness.command(COMMAND)
    request_id = next(iter(await harness.engine.requests("pending")))[0][0].id

    approved = await harness.click("approve", request_id, "UAPP1")

    row = await harness.row(request_id)
    assert row.status == "failed"
    assert row.error == "400 Bad Request: sharedKey '••••' is too weak"
    assert SECRET not in everything_seen(harness, approved)
    assert SECRET not in caplog.text
    assert SECRET not in await every_row(database)


async def test_without_a_key_a_deployment_refuses_secret_parameters(make_harness, database, tmp_path) -> None:
    harness = make_harness(database, approvals_settings(tmp_path), local_key=False)

    refused = await harness.command(COMMAND)

    assert "CIRCUITBOT_SECRET_KEY" in refused.text
    assert harness.poster.posts() == []
    assert SECRET not in await every_row(database)
    assert not (tmp_path / "secret.key").exists()
    # Requests without secrets need no key.
    await harness.request("demo move c2 B")


async def test_without_a_key_a_local_run_keeps_a_generated_one_private(
    make_harness, database, tmp_path
) -> None:
    harness = make_harness(database, approvals_settings(tmp_path), local_key=True)

    request_id = await harness.request(COMMAND)

    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Another process on the same data dir (a restart) reads it back and can execute.
    restarted = make_harness(database, approvals_settings(tmp_path), instance_id="again", local_key=True)
    await restarted.click("approve", request_id, "UAPP1")
    assert (await restarted.row(request_id)).status == "succeeded"
    assert harness.provider.received_keys == [SECRET]


async def test_a_changed_key_fails_the_request_instead_of_running_it_without_its_secret(
    make_harness, database, settings
) -> None:
    harness = make_harness(database, settings)
    request_id = await harness.request(COMMAND)
    other_key = settings.model_copy(update={"secret_key": SecretStr(Fernet.generate_key().decode())})
    rotated = make_harness(database, other_key, instance_id="rotated", poster=harness.poster)

    await rotated.click("approve", request_id, "UAPP1")

    row = await rotated.row(request_id)
    assert row.status == "failed"
    assert "secret key changed" in row.error
    assert harness.provider.writes == 0


def test_a_bad_key_stops_start_up_with_the_setting_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="CIRCUITBOT_SECRET_KEY"):
        SecretBox(approvals_settings(tmp_path, secret_key="not-a-key"), local=False)


async def test_the_engine_checks_the_key_when_it_is_built(make_harness, database, tmp_path) -> None:
    with pytest.raises(ConfigError):
        make_harness(database, approvals_settings(tmp_path, secret_key="short"))


def test_a_secret_nested_below_the_top_level_is_refused_rather_than_stored_masked(tmp_path) -> None:
    class Peer(BaseModel):
        key: SecretStr

    class Nested(Params):
        peers: list[Peer]

    box = SecretBox(approvals_settings(tmp_path), local=True)
    with pytest.raises(OperationError, match="top-level"):
        box.seal(Nested(peers=[Peer(key=SecretStr(SECRET))]))
    assert box.seal(MoveParams(key="c1", port="B"))["port"] == "B"


def test_a_process_starting_while_the_key_is_written_never_reads_a_partial_key(tmp_path, monkeypatch) -> None:
    key_file = tmp_path / "secret.key"
    fsync, started, other = os.fsync, [], []

    def the_other_process_starts_now(fd: int) -> None:
        fsync(fd)
        if not started:  # the first process's key is on disk, not yet in its place
            started.append(fd)
            other.append(load_or_create_key(key_file))

    monkeypatch.setattr(os, "fsync", the_other_process_starts_now)
    first = load_or_create_key(key_file)

    assert other == [first], "both processes use the one key that was placed"
    assert key_file.read_bytes().strip() == first
    Fernet(first)  # a whole key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"], "no temporary file left behind"


def test_processes_creating_the_key_at_once_all_read_the_same_whole_key(tmp_path) -> None:
    def create(key_file: Path, start: threading.Barrier) -> bytes:
        start.wait()
        return load_or_create_key(key_file)

    for attempt in range(20):
        key_file = tmp_path / str(attempt) / "secret.key"
        with ThreadPoolExecutor(8) as pool:
            keys = set(pool.map(create, [key_file] * 8, [threading.Barrier(8)] * 8))
        assert keys == {key_file.read_bytes().strip()}
        Fernet(keys.pop())
