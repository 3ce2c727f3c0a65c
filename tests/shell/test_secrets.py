"""Secrets typed at the shell (shared-key=…, or a secret in its place) are never kept in clear:
not in the log."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from shell_support import transcript

from circuitbot.shell.forms import mask_secret_options

SECRETS = ("hunter2-option", "hunter2-positional", "hunter2 quoted", "hunter2-in-form", "hunter2-asked")


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


async def test_a_failing_line_is_logged_with_its_secrets_masked(runtime, monkeypatch) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    handler = logging.StreamHandler(sys.stderr)  # no scrubbing filter: the shell masks by itself
    logging.getLogger().addHandler(handler)
    try:
        code, _ = await transcript(
            runtime, "demo rekey k1 shared-key=hunter2-option\n/circuit demo rekey k2 hunter2-positional\n"
        )
    finally:
        logging.getLogger().removeHandler(handler)
    assert code == 0
    log_file = (runtime.settings.data_dir / "shell.log").read_text()
    lines = terminal.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("shell line failed (error id ")
    assert lines[0].endswith("): demo rekey k1 shared-key=••••")
    assert lines[1].endswith("): demo rekey k2 ••••")  # in its place, as the router shows it
    assert log_file.count("RuntimeError: the key store is unreachable") == 2
    assert leaked(terminal.getvalue() + log_file) == []


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("demo peering k1 vlan=5 shared-key=abc", "demo peering k1 vlan=5 shared-key=••••"),
        ("a Shared_Key='x y' vlan=5", "a Shared_Key=•••• vlan=5"),
        ("a shared-key=abc\\ def z", "a shared-key=•••• z"),
        ("a shared-key=“x y” z", "a shared-key=•••• z"),
        ('a note="unclosed shared-key=zz', 'a note="unclosed shared-key=••••'),
        ("vlan=5 kind=private 'note=a b'", "vlan=5 kind=private 'note=a b'"),
    ],
)
def test_secret_options_are_masked_whatever_their_spelling_and_quoting(typed: str, kept: str) -> None:
    assert mask_secret_options(typed, {"shared_key"}) == kept
