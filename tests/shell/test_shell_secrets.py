"""Secrets typed at the shell (shared-key=…, or a secret in its place) are never kept in clear:
not in the log, not in the readline history file, not in a script's echo."""

from __future__ import annotations

import builtins
import getpass
import io
import logging
import sys

import pytest
from shell_support import transcript

from circuitbot.shell.console import run_shell
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
        code, out = await transcript(
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
    assert leaked(terminal.getvalue() + log_file + out) == []
    # the echo in the transcript is masked the same way
    assert "alice@#general> demo rekey k1 shared-key=••••\n" in out


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def readline_module():
    readline = pytest.importorskip("readline")
    readline.clear_history()
    yield readline
    readline.clear_history()
    readline.set_auto_history(True)


async def test_the_history_file_keeps_lines_with_their_secrets_masked(
    runtime, monkeypatch, readline_module
) -> None:
    typed = [
        "demo rekey k1 shared-key=hunter2-option",
        "demo rekey k2 hunter2-positional",
        "demo rekey k3 'shared_key=hunter2 quoted'",
        "demo peering k4",  # a form: key=value on one line, then a secret asked without echo
        "vlan=5 shared-key=hunter2-in-form",
        "demo peering k5",
    ]
    asked = ["", "6", "hunter2-asked", "", ":as bob"]  # the k5 form: key, vlan, shared key, kind

    def fake_input(prompt: str = "") -> str:
        if typed:
            return typed.pop(0)
        if asked:
            return asked.pop(0)
        raise EOFError

    monkeypatch.setattr(builtins, "input", fake_input)
    monkeypatch.setattr(getpass, "getpass", fake_input)
    history = runtime.settings.data_dir / ".shell_history"
    history.write_text("demo rekey k0 shared-key=hunter2-option\n")  # kept before masking was in place
    out = io.StringIO()
    code = await run_shell(runtime.settings, stdin=FakeTerminal(), stdout=out, runtime=runtime)

    assert code == 0
    kept = history.read_text()
    assert leaked(kept) == []
    for line in (
        "demo rekey k0 shared-key=••••",
        "demo rekey k1 shared-key=••••",
        "demo rekey k2 ••••",
        "demo rekey k3 shared_key=••••",
        "demo peering k4",
        "vlan=5 shared-key=••••",
        ":as bob",
    ):
        assert line in kept.splitlines(), line
    assert [p.shared_key.get_secret_value() for _, _, p in runtime.approvals.submitted] == [
        "hunter2-in-form",
        "hunter2-asked",
    ]


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
