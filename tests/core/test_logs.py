"""Secrets are scrubbed from every log line, in the forms people and libraries write them."""

from __future__ import annotations

import logging
import sys

import pytest

from circuitbot.logs import ScrubbingFormatter, scrub
from circuitbot.settings import Settings


@pytest.mark.parametrize(
    "line",
    [
        "az peering k private shared-key=hunter2secret vlan=5",
        "shared_key=hunter2secret",
        '{"sharedKey": "hunter2 secret"}',
        "body sharedKey%3Dhunter2secret&vlan=5",
        "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi",
        "token xoxb-1234-5678-abcdefhunter2secret",
        "CIRCUITBOT_ALIBABA__ACCESS_KEY_SECRET: hunter2secret",
        "client_secret='hunter2 secret'",
    ],
)
def test_scrub_removes_the_secret_whole(line: str) -> None:
    cleaned = scrub(line)
    assert "hunter2" not in cleaned
    assert "••••" in cleaned


def test_scrub_leaves_ordinary_text_alone() -> None:
    line = "moved 24e6ea2b to bvtazureixpportpair3 (vlan=5, peerASN=65001)"
    assert scrub(line) == line


def test_tracebacks_are_scrubbed_too() -> None:
    try:
        raise ValueError("PUT failed: sharedKey=hunter2secret")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    out = ScrubbingFormatter("%(message)s").format(record)
    assert "ValueError" in out and "hunter2" not in out


def test_settings_repr_hides_the_database_password() -> None:
    settings = Settings(database_url="postgresql+asyncpg://bot:hunter2@db/circuits")
    assert "hunter2" not in repr(settings)
