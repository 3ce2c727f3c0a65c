"""More replicas for one poll sweep: processes of their own, each with the bot's runtime on the
same database and the same served simulators, that tick at the same moment as the sweep's own
process (``poll_sweep.py --replicas N``). What each claims is what the database let it take
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so the figures show how a sweep splits.

    python bench/sweep_replicas.py --database-url URL --strategy batched   # READY, then GO on stdin
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common

RESULT_MARK = "REPLICA_RESULT "


@dataclass
class Replicas:
    """Started replicas, each waiting for the word to tick."""

    processes: list[asyncio.subprocess.Process]

    async def tick(self) -> list[dict[str, Any]]:
        """Tell every replica to tick now; what each claimed and how long it took."""
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(b"GO\n")
            await process.stdin.drain()
        return list(await asyncio.gather(*(_result(p) for p in self.processes)))

    async def stop(self) -> None:
        for process in self.processes:
            await common.stop_process(process)


async def start_replicas(count: int, database_url: str, strategy: str) -> Replicas:
    """``count`` replica processes, ready to tick (the environment carries the provider settings)."""
    command = [common.python(), __file__, "--database-url", database_url, "--strategy", strategy]
    processes = []
    for _ in range(count):
        process = await asyncio.create_subprocess_exec(
            *command,
            env=dict(os.environ),
            cwd=common.REPO_ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        processes.append(process)
    replicas = Replicas(processes)
    for process in processes:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
        if line.strip() != "READY":
            await replicas.stop()
            raise RuntimeError(f"a replica did not start: {line!r}")
    return replicas


async def _result(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    while line := (await process.stdout.readline()).decode():
        if line.startswith(RESULT_MARK):
            return dict(json.loads(line.removeprefix(RESULT_MARK)))
    raise RuntimeError(f"a replica ended without a result (exit {await process.wait()})")


async def replica(args: argparse.Namespace) -> int:
    from circuitbot.bootstrap import build_runtime
    from circuitbot.clock import SystemClock
    from circuitbot.settings import Settings, WatchSettings

    with tempfile.TemporaryDirectory(prefix="circuitbot-replica-") as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            database_url=args.database_url,
            watch=WatchSettings(strategy=args.strategy),
        )
        runtime = await build_runtime(settings, sandbox=False, clock=SystemClock(), migrate=False)
        try:
            print("READY", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu_before, began = usage.ru_utime + usage.ru_stime, time.perf_counter()
            report = await runtime.watches.tick()
            wall = time.perf_counter() - began
            usage = resource.getrusage(resource.RUSAGE_SELF)
            figures = {"claimed": report.claimed, "wall_seconds": wall}
            figures["cpu_seconds"] = usage.ru_utime + usage.ru_stime - cpu_before
            print(RESULT_MARK + json.dumps(figures), flush=True)
        finally:
            await runtime.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--strategy", default="batched")
    return asyncio.run(replica(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
