"""``circuitbot shell`` as a user runs it: a script piped into the real entry point."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli_shell(tmp_path, script: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCUITBOT_", "SLACK_"))}
    env.update(CIRCUITBOT_DATA_DIR=str(tmp_path / "data"), NO_COLOR="1", **env_vars)
    return subprocess.run(
        [sys.executable, "-m", "circuitbot.cli", "shell"],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_piped_script_runs_and_exits_cleanly(tmp_path) -> None:
    result = run_cli_shell(tmp_path, "help\n/circuit bogus\n:as bob\n:whoami\n:channel #ops\n2\n")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in out + result.stderr
    assert out.startswith("» circuitbot shell on sandbox providers")
    assert "alice@#general> help\n[m1] circuitbot in #general, only visible to you:\n" in out
    for verb in ("help", "list", "show"):
        assert f"\n  • {verb} — " in out, verb
    assert "alice@#general> /circuit bogus\n" in out
    assert "⚠️ unknown command bogus. Try /circuit help.\n  Usage: /circuit help [topic]" in out
    assert "alice@#general> :as bob\n» you are bob (UBOB) in #general; roles: approver, reader" in out
    assert "bob@#general> :whoami\n" in out
    assert "bob@#ops> 2\n» ⚠️ no message with buttons yet" in out
    assert (tmp_path / "data" / "circuitbot.db").exists()


def test_a_bad_setting_stops_the_shell_with_one_line_on_stderr(tmp_path) -> None:
    result = run_cli_shell(tmp_path, "help\n", CIRCUITBOT_SECRET_KEY="not-a-fernet-key")
    assert result.returncode == 78
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("circuitbot: configuration error: CIRCUITBOT_SECRET_KEY: not a Fernet key")
    assert "not-a-fernet-key" not in line


def test_a_move_scheduled_for_later_waits_runs_once_when_the_clock_moves_and_a_digest_posts(
    tmp_path,
) -> None:
    key = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"
    script = "\n".join(
        [
            f'az move {key} at="tomorrow 02:00"',
            ":as bob",
            "1 y",
            ":wait 1",
            "approvals approved",
            ":clock +2d",
            ":wait 1",
            "approvals succeeded",
            ":as alice",
            "digest #general daily 09:00",
            ":clock +1d",
            ":wait 1",
        ]
    )
    result = run_cli_shell(tmp_path, script + "\n")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in out + result.stderr
    waiting = out[out.index("> approvals approved") : out.index("> :clock +2d")]
    assert "1 approved request" in waiting and "scheduled for" in waiting
    ran = out[out.index("> :clock +2d") : out.index("> approvals succeeded")]
    assert ran.count(f"{key} moved to port pair bvtazureixpportpair3") == 1, "run once"
    assert "1 succeeded request" in out[out.index("> approvals succeeded") :]
    posted = out[out.index("> :clock +1d") :]
    assert "Digest for" in posted and "Pending approvals: none" in posted
