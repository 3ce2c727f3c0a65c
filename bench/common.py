"""What every benchmark shares: machine facts, percentiles, tables, JSON results, child processes.

Benchmarks are plain scripts (``python bench/<name>.py [--smoke]``); this module sits next to
them and is imported as ``common``. Nothing here measures anything by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
POSTGRES_ENV = "CIRCUITBOT_TEST_POSTGRES_URL"
LOOPBACK = "127.0.0.1"

# Settings a benchmark child must not inherit from the shell that started it: the benchmark
# decides the database, the Slack endpoint and the roles itself.
_INHERITED_PREFIXES = ("CIRCUITBOT_", "SLACK_")


# -- machine ---------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """Where the figures were measured: CPU, cores, memory, Python, OS, commit, date."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_mb": _memory_mb(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "commit": _git_commit(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": load_average(),
    }


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    with contextlib.suppress(OSError, AttributeError):
        return [round(value, 2) for value in os.getloadavg()]
    return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_mb() -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return None


def _git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}-dirty" if dirty else head


def describe_machine(info: Mapping[str, Any]) -> str:
    return (
        f"{info['cpu_model']}, {info['cores']} cores, {info.get('memory_mb') or '?'} MB, "
        f"Python {info['python']}, {info['os']}, commit {info.get('commit') or '?'}, {info['date']}, "
        f"load average {info.get('load_average')}"
    )


# -- memory of this process (Linux /proc) ------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def rss_mb() -> float | None:
    kb = _status_kb("VmRSS")
    return None if kb is None else kb / 1024


def rss_of(pid: int) -> float | None:
    """Another process's resident memory, MB (Linux /proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def rss_of_tree(pid: int) -> float | None:
    """A process's resident memory with its children's (``serve`` with a work process), MB."""
    with contextlib.suppress(OSError, ValueError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        own = rss_of(pid)
        return None if own is None else own + sum(rss_of(int(child)) or 0.0 for child in children)
    return rss_of(pid)


def peak_rss_mb() -> float | None:
    """The highest RSS since start, or since the last :func:`reset_peak_rss`."""
    kb = _status_kb("VmHWM")
    return None if kb is None else kb / 1024


def reset_peak_rss() -> bool:
    """Start the peak over from the current RSS (Linux: ``5`` into /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# -- statistics --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between the closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, mean, p50, p95, p99 and max of ``values`` (seconds in, seconds out)."""
    return {
        "count": len(values),
        "mean": sum(values) / len(values) if values else None,
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else None,
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.1f}"


def times(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


# -- output ------------------------------------------------------------------------------------------


def print_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    left_columns: int = 1,
) -> None:
    """A plain text table: the first ``left_columns`` left-aligned, the others right-aligned (figures)."""
    text_rows = [[str(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if column < left_columns else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    if title:
        print(f"\n{title}")
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in text_rows:
        print(line(row))


def target(name: str, wanted: str, measured: str, met: bool | None) -> dict[str, Any]:
    """One target and how this run did against it (``met`` None: not measured in this run)."""
    return {"target": name, "wanted": wanted, "measured": measured, "met": met}


def print_targets(targets: Sequence[Mapping[str, Any]]) -> None:
    verdict = {True: "met", False: "MISSED", None: "not measured"}
    print_table(
        ["target", "wanted", "measured", "verdict"],
        [(t["target"], t["wanted"], t["measured"], verdict[t["met"]]) for t in targets],
        title="Targets",
        left_columns=4,
    )


def write_results(
    name: str, parameters: Mapping[str, Any], results: Mapping[str, Any], output: Path | None = None
) -> Path:
    """``bench/results/<name>.json`` (or ``output``): the machine, the parameters, the figures."""
    path = output or RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"benchmark": name, "machine": machine_info(), "parameters": dict(parameters), **results}
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, default=str) + "\n")
    temporary.replace(path)
    print(f"\nresults written to {_shown(path)}")
    return path


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: checks the benchmark runs, no figures"
    )
    parser.add_argument("--output", type=Path, help="where the JSON goes (default bench/results/<name>.json)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get(POSTGRES_ENV) or None,
        help=f"PostgreSQL server to run on too, a throwaway database is created (default ${POSTGRES_ENV})",
    )
    return parser


# -- child processes and loopback servers ---------------------------------------------------------


def child_env(**settings: str) -> dict[str, str]:
    """This environment minus circuitbot and Slack settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    env.update(settings)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


async def wait_until_ready(
    url: str,
    process: asyncio.subprocess.Process,
    *,
    timeout: float = 60.0,  # noqa: ASYNC109 - a bounded wait is the point
    log: Path | None = None,
) -> None:
    """Poll ``url`` until it answers 200; fail early if ``process`` exits."""
    import aiohttp

    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"the process serving {url} exited with {process.returncode}{_tail(log)}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{url} not ready after {timeout:.0f} s{_tail(log)}")
            await asyncio.sleep(0.05)


def _tail(log: Path | None, lines: int = 20) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return "\n--- last lines of " + str(log) + " ---\n" + "\n".join(text)


# The simulators and the fake Slack stand for remote services: in a deployment their CPU is not
# the bot's. On one machine they run at this lower priority, so that they take the cores the bot
# leaves rather than share them with it (ack_latency, --remote-niceness).
REMOTE_NICENESS = 19


@contextlib.asynccontextmanager
async def child_process(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    log: Path,
    stdout: int | None = None,
    niceness: int = 0,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process whose stderr goes to ``log``; SIGTERM at the end, SIGKILL if it lingers.
    ``niceness`` lowers its priority (a stand-in for a remote service: see ``REMOTE_NICENESS``)."""
    with log.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            *args,
            env=dict(env),
            cwd=REPO_ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout if stdout is not None else log_file,
            stderr=log_file,
            preexec_fn=(lambda: os.nice(niceness)) if niceness else None,
        )
        try:
            yield process
        finally:
            await stop_process(process)


async def stop_process(process: asyncio.subprocess.Process, grace: float = 25.0) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def bench_script(name: str) -> str:
    return str(BENCH_DIR / name)


# -- PostgreSQL ------------------------------------------------------------------------------------


def _plain_dsn(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+asyncpg)?://", "postgresql://", url)


@contextlib.asynccontextmanager
async def throwaway_postgres(admin_url: str) -> AsyncIterator[str]:
    """A fresh database on the server at ``admin_url``, dropped afterwards; yields its asyncpg URL."""
    import asyncpg

    name = f"circuitbot_bench_{uuid.uuid4().hex[:12]}"
    dsn = _plain_dsn(admin_url)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = dsn.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def redact_url(url: str) -> str:
    """A database URL without its password, for output."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def python() -> str:
    return sys.executable
