"""The benchmarks still run: each one in its --smoke mode, as a subprocess, writing its JSON.

Nothing here looks at a timing; only that each benchmark completes and reports what it promises
(the machine, the parameters and its figures, with the keys the README describes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
MACHINE_KEYS = {"cpu_model", "cores", "python", "date"}
DISTRIBUTION_KEYS = {"count", "p50", "p95", "p99", "max"}


POSTGRES_ENV = "CIRCUITBOT_TEST_POSTGRES_URL"  # kept: with it the benchmarks run on PostgreSQL too


def run_smoke(script: str, output: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k == POSTGRES_ENV or not k.startswith(("CIRCUITBOT_", "SLACK_"))
    }
    completed = subprocess.run(
        [sys.executable, str(BENCH / script), "--smoke", "--output", str(output)],
        cwd=BENCH.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    document = json.loads(output.read_text())
    assert document["benchmark"] == script.removesuffix(".py")
    assert MACHINE_KEYS <= set(document["machine"])
    assert document["parameters"]["smoke"] is True
    assert document["targets"], "every benchmark states its targets"
    assert all({"target", "wanted", "measured", "met"} <= set(t) for t in document["targets"])
    return document


def test_ack_latency_smoke(tmp_path: Path) -> None:
    document = run_smoke("ack_latency.py", tmp_path / "ack.json")
    results = document["results"]
    rates = {f"{rate:g}" for rate in document["parameters"]["open_loop_rates"]}
    assert results["generator"]["closed_loop"]["requests"] > 0
    databases = ["sqlite"] + (["postgres"] if os.environ.get(POSTGRES_ENV) else [])
    apps = ["floor"] + [f"circuitbot_{db}{split}" for db in databases for split in ("", "_work_process")]
    for app in apps:
        assert set(results[app]["open_loop"]) == rates
        assert results[app]["closed_loop"]["requests"] > 0
        assert DISTRIBUTION_KEYS <= set(results[app]["closed_loop"]["ack"])
    for app in apps[1:]:
        for phase in results[app]["open_loop"].values():
            assert phase["non_200"] == 0
            assert phase["missing_final_replies"] == 0
            assert phase["error_replies_by_verb"] == {}
            assert phase["approval_messages_posted"] == phase["approval_requests_sent"]
        every = results[app]["open_loop"].values()
        assert set().union(*(p["final_reply_by_verb"] for p in every)) == set(document["parameters"]["mix"])
    assert set(document["ratios_to_floor"]["sqlite"]) == rates


def test_poll_sweep_smoke(tmp_path: Path) -> None:
    document = run_smoke("poll_sweep.py", tmp_path / "sweep.json")
    databases = {"sqlite", "postgres"} if os.environ.get(POSTGRES_ENV) else {"sqlite"}
    assert {(run["database"], run["strategy"]) for run in document["runs"]} == {
        (database, strategy) for database in databases for strategy in ("batched", "per-resource")
    }
    for run in document["runs"]:
        assert run["completed"]
        assert run["provider_requests"] > 0
        assert {"wall_seconds", "cpu_seconds", "peak_rss_process_mb"} <= set(run)
        # every changed circuit found and announced exactly once, and no other
        assert run["transitions_found"] == run["changed"] == run["announced_once"]
        assert run["announced_more_than_once"] == run["announced_unchanged"] == 0
    assert document["ratios"][0]["requests_ratio"] > 1


def test_notify_delay_smoke(tmp_path: Path) -> None:
    document = run_smoke("notify_delay.py", tmp_path / "notify.json")
    assert document["runs"]
    for run in document["runs"]:
        assert run["changes"] > 0
        assert run["announced"] == run["changes"]
        assert DISTRIBUTION_KEYS <= set(run["delay"])


@pytest.fixture(autouse=True)
def _results_untouched() -> Iterator[None]:
    """A smoke run writes where it is told, never over the committed figures."""
    results = BENCH / "results"
    before = {p.name: p.stat().st_mtime_ns for p in results.glob("*.json")} if results.exists() else {}
    yield
    after = {p.name: p.stat().st_mtime_ns for p in results.glob("*.json")} if results.exists() else {}
    assert after == before
