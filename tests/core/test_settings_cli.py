"""Settings from the environment and TOML, and the CLI's one-line configuration errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from circuitbot import __version__
from circuitbot.cli import main
from circuitbot.settings import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith(("CIRCUITBOT_", "SLACK_")):
            monkeypatch.delenv(key)


def test_documented_names_are_read_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CIRCUITBOT_DATABASE_URL", "postgresql://bot@db/circuits")
    monkeypatch.setenv("CIRCUITBOT_REQUESTERS", "U1, U2")
    monkeypatch.setenv("CIRCUITBOT_APPROVERS", "S0GROUP,U3")
    monkeypatch.setenv("CIRCUITBOT_ADMINS", "U9")
    monkeypatch.setenv("CIRCUITBOT_APPROVALS_CHANNEL", "C1")
    monkeypatch.setenv("CIRCUITBOT_NOTIFY_CHANNEL", "C2")
    monkeypatch.setenv("CIRCUITBOT_ALLOW_SELF_APPROVAL", "true")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("CIRCUITBOT_AZURE__SUBSCRIPTION_IDS", "sub-a,sub-b")
    s = load_settings()
    assert s.effective_database_url == "postgresql+asyncpg://bot@db/circuits"
    assert (s.requesters, s.approvers, s.admins) == (["U1", "U2"], ["S0GROUP", "U3"], ["U9"])
    assert (s.approvals_channel, s.notify_channel, s.allow_self_approval) == ("C1", "C2", True)
    assert s.slack_bot_token.get_secret_value() == "xoxb-test" and "xoxb" not in repr(s)
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert s.azure.subscription_ids == ["sub-a", "sub-b"]


def test_defaults(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.effective_database_url == "sqlite+aiosqlite:///data/circuitbot.db"
    assert s.requesters == [] and s.allow_self_approval is False


def test_toml_file_with_environment_winning(tmp_path, monkeypatch) -> None:
    config = tmp_path / "circuitbot.toml"
    config.write_text(
        'approvals_channel = "CFILE"\nnotify_channel = "CFILE"\n[azure]\nsubscription_ids = ["s1"]\n'
    )
    monkeypatch.setenv("CIRCUITBOT_CONFIG", str(config))
    monkeypatch.setenv("CIRCUITBOT_NOTIFY_CHANNEL", "CENV")
    s = load_settings()
    assert (s.approvals_channel, s.notify_channel, s.azure.subscription_ids) == ("CFILE", "CENV", ["s1"])


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CIRCUITBOT_APPROVERS", "bob", "CIRCUITBOT_APPROVERS: 'bob' is not a Slack user ID"),
        ("CIRCUITBOT_DATABASE_URL", "mysql://x", "CIRCUITBOT_DATABASE_URL: expected sqlite+aiosqlite"),
        (
            "CIRCUITBOT_WATCH__TICK_SECONDS",
            "-1",
            "CIRCUITBOT_WATCH__TICK_SECONDS: Input should be greater than 0",
        ),
        (
            "CIRCUITBOT_ALLOW_SELF_APPROVAL",
            "maybe",
            "CIRCUITBOT_ALLOW_SELF_APPROVAL: Input should be a valid boolean",
        ),
        ("CIRCUITBOT_CONFIG", "/nonexistent.toml", "CIRCUITBOT_CONFIG: expected a readable TOML file"),
    ],
)
def test_bad_settings_name_the_variable(monkeypatch, name, value, expected) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(expected)


def test_cli_prints_one_line_not_a_traceback(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCUITBOT_", "SLACK_"))}
    env["CIRCUITBOT_APPROVERS"] = "not-an-id"
    done = subprocess.run(
        [sys.executable, "-m", "circuitbot.cli", "check"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1  # check reports a bad setting as a FAIL
    assert done.stderr.strip().splitlines() == [
        "FAIL settings: CIRCUITBOT_APPROVERS: 'not-an-id' is not a Slack user ID (U…/W…) "
        "or user-group ID (S…)"
    ]


def test_db_upgrade_and_check(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCUITBOT_", "SLACK_"))}
    env["CIRCUITBOT_DATA_DIR"] = str(tmp_path / "d")
    upgrade = subprocess.run(
        [sys.executable, "-m", "circuitbot.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert "is up to date" in upgrade.stdout
    assert (tmp_path / "d" / "circuitbot.db").exists()
    check = subprocess.run(
        [sys.executable, "-m", "circuitbot.cli", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "OK   database: " in check.stdout and "OK   migrations: at head" in check.stdout


def test_a_configuration_error_exits_78_and_a_usage_error_2(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCUITBOT_", "SLACK_"))}
    command = [sys.executable, "-m", "circuitbot.cli"]
    bad = subprocess.run(
        [*command, "db", "upgrade"],
        env={**env, "CIRCUITBOT_APPROVERS": "bob"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    usage = subprocess.run(
        [*command, "serve", "--port", "x"], env=env, capture_output=True, text=True, timeout=60
    )

    assert bad.returncode == 78 and bad.stderr.startswith(
        "circuitbot: configuration error: CIRCUITBOT_APPROVERS"
    )
    assert usage.returncode == 2 and "invalid int value" in usage.stderr


def test_unknown_variables_are_warned_of_at_start(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCUITBOT_", "SLACK_"))}
    env.update(CIRCUITBOT_DATA_DIR=str(tmp_path), CIRCUITBOT_NOTIFY_CHANEL="C1")
    done = subprocess.run(
        [sys.executable, "-m", "circuitbot.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "unknown variable CIRCUITBOT_NOTIFY_CHANEL; did you mean CIRCUITBOT_NOTIFY_CHANNEL?" in done.stderr


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"circuitbot {__version__}\n"


def test_sandbox_serve_takes_the_catalogs_names_and_aliases(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", "serve", "--provider", "nowhere", "--port", "0"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "invalid choice: 'nowhere'" in error and "'azure', 'az'" in error
