"""A provider's simulator in a process of its own, for the sweep benchmarks: the same simulator
``circuitbot sandbox serve`` runs, over a world of N generated circuits with the benchmark's seed,
plus three routes only the benchmark uses (the snapshots to seed the watches with, the changes
to make before a sweep, and the figures after it). Everything else is reached over loopback
HTTP by the bot, through the provider's ordinary settings.

    python bench/sim_host.py --provider azure --circuits 10000 --seed 6   # prints READY <url>

Routes (never faulted, never counted): GET /_bench/seed (the watched ids and their snapshots as
the poller will read them), POST /_bench/change (changes some of them, injects the latency,
starts the request count over), POST /_bench/change-one (changes one, now), GET /_bench/figures
(requests by route, 429s, CPU seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import common
from sweep_child import ALIBABA_RATE_PER_SECOND, CHANGERS, SEEDERS, WORLDS

BENCH_PREFIX = "/_bench/"


class Host:
    """One simulator and what the benchmark asks of it."""

    def __init__(self, provider: str, circuits: int, seed: int) -> None:
        from circuitbot.clock import SystemClock
        from circuitbot.providers import catalog

        self.provider, self.seed = provider, seed
        world, self.watched = WORLDS[provider](circuits, seed)
        self.simulator = catalog.spec_of(provider).simulator(world, SystemClock())
        # What the seeders and changers read of a runtime: the simulator, Equinix's generation.
        self.shim = SimpleNamespace(
            sandbox={provider: self.simulator},
            providers={"equinix": SimpleNamespace(api_version="v4")},
            clock=self.simulator.clock,
        )
        if self.watched is None:  # Alibaba: its generated connections, throttled per AccessKey
            self.simulator.rate_per_second = ALIBABA_RATE_PER_SECOND
            self.simulator.burst = int(ALIBABA_RATE_PER_SECOND)
            self.watched = list(self.simulator.connections)[-circuits:]

    def seed_rows(self) -> list[dict[str, Any]]:
        return [
            {"resource_id": s.resource_id, "label": s.label, "snapshot": s.snapshot}
            for s in SEEDERS[self.provider](self.shim, self.watched)
        ]

    def change(self, percent: float, latency_ms: float, page_size: int | None) -> list[str]:
        from circuitbot.sandbox.faults import FaultConfig

        assert self.watched is not None
        rng = random.Random(self.seed)
        changed = rng.sample(self.watched, max(1, round(len(self.watched) * percent / 100)))
        for key in changed:
            CHANGERS[self.provider](self.shim, key)
        if page_size:
            self.simulator.page_size = page_size
        self.simulator.faults = FaultConfig(latency_ms=latency_ms)
        self.simulator.reset_calls()
        throttle = getattr(self.simulator, "throttle", None)
        if throttle is not None:
            throttle.throttled = 0
        return changed

    def figures(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        throttle = getattr(self.simulator, "throttle", None)
        throttled = throttle.throttled if throttle is not None else getattr(self.simulator, "throttled", 0)
        return {
            "requests_by_route": dict(self.simulator.calls),
            "throttled": throttled,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "page_size": getattr(self.simulator, "page_size", None),
        }

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(BENCH_PREFIX):
            await self._bench(scope, receive, send)
            return
        await self.simulator.app(scope, receive, send)

    async def _bench(self, scope: Any, receive: Any, send: Any) -> None:
        from starlette.requests import Request
        from starlette.responses import JSONResponse

        request = Request(scope, receive)
        route = scope["path"].removeprefix(BENCH_PREFIX)
        if route == "seed":
            subscription = self.simulator.world.partner_subscription_id
            answer: Any = {
                "watched": self.watched,
                "seeded": self.seed_rows(),
                "subscription_id": subscription,
            }
        elif route == "change":
            asked = json.loads(await request.body())
            answer = {"changed": self.change(asked["percent"], asked["latency_ms"], asked.get("page_size"))}
        elif route == "change-one":
            key = json.loads(await request.body())["key"]
            answer = {"what": CHANGERS[self.provider](self.shim, key)}
        elif route == "figures":
            answer = self.figures()
        else:
            answer = {"error": f"no route {route}"}
        await JSONResponse(answer)(scope, receive, send)


# -- the benchmark's side: the hosts started and asked -------------------------------------------------


class HostedSimulator:
    """A running ``sim_host`` process, reached over loopback HTTP."""

    def __init__(self, provider: str, url: str) -> None:
        self.provider, self.url = provider, url

    async def call(self, method: str, route: str, body: Any = None) -> Any:
        import aiohttp

        path = "/_sandbox/faults" if route == "faults" else BENCH_PREFIX + route
        timeout = aiohttp.ClientTimeout(total=300)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, self.url + path, json=body) as response,
        ):
            response.raise_for_status()
            return await response.json()


@contextlib.asynccontextmanager
async def hosts_for(
    providers: Sequence[str], circuits: int, seed: int, work: Path
) -> AsyncIterator[dict[str, HostedSimulator]]:
    """A ``sim_host`` process per provider, each over ``circuits`` watched resources."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(provider: str) -> HostedSimulator:
            log = work / f"host-{provider}.log"
            command = [common.python(), __file__, "--provider", provider]
            command += ["--circuits", str(circuits), "--seed", str(seed)]
            process = await stack.enter_async_context(
                common.child_process(
                    command,
                    env=common.child_env(),
                    log=work / f"host-{provider}.log",
                    stdout=asyncio.subprocess.PIPE,
                )
            )
            assert process.stdout is not None
            line = (await asyncio.wait_for(process.stdout.readline(), 600)).decode()
            if not line.startswith("READY "):
                raise RuntimeError(f"the {provider} simulator host did not start{common._tail(log)}")
            return HostedSimulator(provider, line.split()[1])

        started = await asyncio.gather(*(start(name) for name in providers))
        yield dict(zip(providers, started, strict=True))


# -- the host process ----------------------------------------------------------------------------------


async def serve(args: argparse.Namespace) -> int:
    from circuitbot.sandbox.server import SimulatorServer

    host = Host(args.provider, args.circuits, args.seed)
    # the simulator behind the benchmark's own routes, on the server `sandbox serve` uses
    served: Any = SimpleNamespace(app=host.app, provider=args.provider)
    server = SimulatorServer(served, host=common.LOOPBACK, port=0)
    await server.start()
    print(f"READY {server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", required=True, choices=sorted(WORLDS))
    parser.add_argument("--circuits", type=int, required=True)
    parser.add_argument("--seed", type=int, default=6)
    return asyncio.run(serve(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
