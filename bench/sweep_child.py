"""One poll sweep, in a child process of ``poll_sweep.py``: the watches seeded in bulk, some
circuits changed, one watch-engine tick measured, the outbox delivered to a recording poster and
each changed circuit checked to be announced exactly once."""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import resource
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import common
from sandbox_changes import alibaba_change, azure_change, consoleconnect_change, equinix_change

# providers with a poller today; each is swept on its own
PROVIDERS_POLLED = ("azure", "equinix", "consoleconnect", "alibaba")
# Providers whose batched poller remembers per resource what the listing does not carry (Console
# Connect: peering configs), so its first sweep after a start reads more than the steady ones:
# their batched sweep is measured after one warm-up sweep, whose requests are reported too.
WARMED_UP = frozenset({"consoleconnect"})
# Alibaba publishes no VPC API rate; the sandbox throttles each AccessKey at this rate (burst as
# large), answering Throttling.User with x-acs-retry-after as Alibaba does.
ALIBABA_RATE_PER_SECOND = 50.0
CREATED_BY = "U0BENCH"


# -- the recording poster --------------------------------------------------------------------------


@dataclass
class Posted:
    kind: str  # post | update | ephemeral
    channel: str
    ts: str
    thread_ts: str | None
    text: str


@dataclass
class RecordingPoster:
    """The bot's voice in channels, kept in memory: what the outbox delivered, in order."""

    posted: list[Posted] = field(default_factory=list)
    _counter: int = 0

    def _ts(self) -> str:
        self._counter += 1
        return f"1800000000.{self._counter:06d}"

    async def post(self, channel: str, reply: Any, *, thread_ts: str | None = None) -> str:
        ts = self._ts()
        self.posted.append(Posted("post", channel, ts, thread_ts, reply.text))
        return ts

    async def update(self, channel: str, ts: str, reply: Any) -> None:
        self.posted.append(Posted("update", channel, ts, None, reply.text))

    async def post_ephemeral(
        self, channel: str, user: str, reply: Any, *, thread_ts: str | None = None
    ) -> None:
        self.posted.append(Posted("ephemeral", channel, self._ts(), thread_ts, reply.text))


# -- seeding (per provider) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    resource_id: str
    label: str
    snapshot: dict[str, str]


def azure_seed(runtime: Any, keys: Sequence[str]) -> list[Seeded]:
    """Each cross-connection's snapshot as the poller will read it, taken from the simulator's state
    (rendered as its API would answer) rather than through N requests."""
    from circuitbot.providers.azure import models as m
    from circuitbot.providers.azure.poller import snapshot

    simulator = runtime.sandbox["azure"]
    subscription = simulator.world.partner_subscription_id
    # by name at once: the simulator's own look-up walks every cross-connection (N² at 100,000)
    by_name = {c.name.lower(): c for c in simulator.cross_connections.values()}
    seeded = []
    for key in keys:
        body = simulator._render(by_name[key.lower()], subscription)  # the sandbox's own view
        seeded.append(
            Seeded(key, f"bench {key[:8]}", snapshot(m.ExpressRouteCrossConnection.model_validate(body)))
        )
    return seeded


def alibaba_seed(runtime: Any, ids: Sequence[str]) -> list[Seeded]:
    """Each physical connection's snapshot as the poller will read it, from the simulator's state."""
    from circuitbot.providers.alibaba import models as m
    from circuitbot.providers.alibaba.poller import snapshot

    simulator = runtime.sandbox["alibaba"]
    return [
        Seeded(
            pc_id,
            f"bench {pc_id}",
            snapshot(m.PhysicalConnection.model_validate(simulator.connections[pc_id].wire())),
        )
        for pc_id in ids
    ]


def equinix_seed(runtime: Any, uuids: Sequence[str]) -> list[Seeded]:
    """Each connection's snapshot as the poller reads it, from the simulator's own rendering."""
    from circuitbot.providers.equinix.poller import snapshot

    simulator = runtime.sandbox["equinix"]
    generation = runtime.providers["equinix"].api_version
    seeded = []
    for uuid in uuids:
        connection = simulator.state.connections[uuid]
        render = simulator.state.v4_connection if generation == "v4" else simulator.state.v3_connection
        seeded.append(Seeded(uuid, f"bench {uuid[:8]}", snapshot(render(connection))))
    return seeded


def consoleconnect_seed(runtime: Any, ids: Sequence[str]) -> list[Seeded]:
    """Each connection's snapshot as the poller will read it, from the simulator's own view."""
    from circuitbot.providers.base import snapshot_of
    from circuitbot.providers.consoleconnect import models as m
    from circuitbot.providers.consoleconnect.poller import own_snapshot, peering_parts

    simulator = runtime.sandbox["consoleconnect"]
    state, now = simulator.state, simulator.clock.now()
    seeded = []
    for connection_id in ids:
        connection = simulator.connection(connection_id)
        item = state.render(connection, now)
        values = own_snapshot(item)
        if m.same_status(item["status"], "ACTIVE"):
            configs = {
                kind: state.render_peering(record, now) for kind, record in connection.peerings.items()
            }
            values.update(peering_parts(configs))
        seeded.append(Seeded(connection_id, f"bench {connection_id[:8]}", snapshot_of(values)))
    return seeded


def azure_world(circuits: int, seed: int) -> tuple[Any, list[str]]:
    """The demo world with ``circuits`` generated circuits; the watched ones are those."""
    from circuitbot.sandbox.world import World

    world = World.demo(extra_circuits=circuits, seed=seed)
    return world, [c.service_key for c in world.circuits[-circuits:]]


def consoleconnect_world(circuits: int, seed: int) -> tuple[Any, list[str]]:
    """A world of ``circuits`` circuits carried by Console Connect (two in five generated ones
    are), so the simulators hold no more than is watched; the watched ids are their connections."""
    from circuitbot.sandbox.world import World

    world = World.demo(extra_circuits=circuits * 3, seed=seed)
    carried = world.carried_by("consoleconnect")[-circuits:]
    if len(carried) < circuits:
        raise SystemExit(f"the world carries only {len(carried)} Console Connect circuits")
    world.circuits = carried
    return world, [leg.connection_id for c in carried if (leg := c.leg("consoleconnect"))]


def equinix_world(circuits: int, seed: int) -> tuple[Any, list[str]]:
    """A world whose generated circuits carry enough Equinix legs; the watched ids are both
    connections of each leg (about half the circuits have one), newest first."""
    from circuitbot.sandbox.world import World

    world = World.demo(extra_circuits=int(circuits * 1.2) + 20, seed=seed)
    uuids = [
        uuid
        for circuit in world.carried_by("equinix")
        if (leg := circuit.leg("equinix"))
        for uuid in (leg.connection_id, leg.secondary_id)
        if uuid
    ]
    if len(uuids) < circuits:
        raise SystemExit(f"the world carries only {len(uuids)} Equinix connections")
    return world, uuids[-circuits:]


def alibaba_world(circuits: int, seed: int) -> tuple[Any, None]:
    """The demo world with ``circuits`` generated circuits: the Alibaba simulator makes a physical
    connection of each; their ids are known once it runs (``alibaba_ids``)."""
    from circuitbot.sandbox.world import World

    return World.demo(extra_circuits=circuits, seed=seed), None


def alibaba_ids(runtime: Any, count: int) -> list[str]:
    """The generated connections (one per generated circuit of the world), the sandbox throttled
    at ``ALIBABA_RATE_PER_SECOND``."""
    simulator = runtime.sandbox["alibaba"]
    simulator.rate_per_second, simulator.burst = ALIBABA_RATE_PER_SECOND, int(ALIBABA_RATE_PER_SECOND)
    return list(simulator.connections)[-count:]


SEEDERS = {
    "azure": azure_seed,
    "equinix": equinix_seed,
    "consoleconnect": consoleconnect_seed,
    "alibaba": alibaba_seed,
}
CHANGERS = {
    "azure": azure_change,
    "equinix": equinix_change,
    "consoleconnect": consoleconnect_change,
    "alibaba": alibaba_change,
}
WORLDS = {
    "azure": azure_world,
    "equinix": equinix_world,
    "consoleconnect": consoleconnect_world,
    "alibaba": alibaba_world,
}


def card_ts(number: int) -> str:
    """The ts of the n-th watch's status card, which is also its thread."""
    return f"1700000000.{number:06d}"


async def insert_watches(
    runtime: Any, provider: str, seeded: Sequence[Seeded], channels: int, *, first_card: int = 0
) -> dict[str, str]:
    """The watch rows, in bulk, due now, each one's card and thread already posted; returns the
    resource of each card ts."""
    from sqlalchemy import insert

    from circuitbot.store.tables import Watch

    now = runtime.clock.now()
    rows = []
    for number, item in enumerate(seeded, start=first_card):
        rows.append(
            {
                "provider": provider,
                "resource_id": item.resource_id,
                "label": item.label,
                "channel": f"C0SWEEP{number % channels:04d}",
                "thread_ts": card_ts(number),
                "status_ts": card_ts(number),
                "created_by": CREATED_BY,
                "request_id": None,
                "snapshot": item.snapshot,
                "version": 0,
                "status": "active",
                "status_reason": None,
                "next_poll_at": now - timedelta(seconds=1),
                "error_count": 0,
                "unreachable": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    async with runtime.db.session() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Watch), rows[start : start + 1000])
    return {card_ts(number): item.resource_id for number, item in enumerate(seeded, start=first_card)}


# -- one sweep, in a child process -------------------------------------------------------------------


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Sweep:
    """What one watch-engine tick cost, measured around it."""

    completed: bool
    report: Any  # the tick's TickReport, None when it was stopped
    wall: float
    cpu: float
    rss_before: float | None
    peak: float | None
    requests: dict[str, int]
    throttled: int = 0
    simulator_cpu: float = 0.0
    replicas: list[dict[str, Any]] = field(default_factory=list)  # what each replica claimed


async def child(args: argparse.Namespace) -> dict[str, Any]:
    """Seed, change, sweep once and deliver, in this process, each provider's simulator served by a
    process of its own (``sim_host``); the figures of the run."""
    from sim_host import hosts_for

    started = time.perf_counter()
    providers = (args.provider or PROVIDERS_POLLED[0]).split(",")
    each = args.circuits // len(providers)
    with tempfile.TemporaryDirectory(prefix="circuitbot-sweep-") as data_dir:
        async with hosts_for(providers, each, args.seed, Path(data_dir)) as hosts:
            seeds = {name: await host.call("GET", "seed") for name, host in hosts.items()}
            runtime = await sweep_runtime(args, Path(data_dir), hosts, seeds)
            poster = RecordingPoster()
            runtime.poster = poster
            try:
                cards, changed, warm_up = await prepare(runtime, args, hosts, seeds)
                seeded_seconds = time.perf_counter() - started
                sweep = await sweep_once(runtime, hosts, args, others=await other_replicas(args))
                for host in hosts.values():
                    await host.call("PUT", "faults", {})
                transitions = await count_transitions(runtime)
                delivery = await deliver(runtime, poster, args.delivery_timeout) if sweep.completed else None
                announced = announcements(poster, cards, changed)
                page_sizes = {
                    name: (await host.call("GET", "figures"))["page_size"] for name, host in hosts.items()
                }
            finally:
                await runtime.close()
    return {
        "provider": ",".join(providers),
        "strategy": args.strategy,
        "circuits": each * len(providers),
        "providers": {name: each for name in providers},
        "simulator_page_size": page_sizes[providers[0]] if len(providers) == 1 else page_sizes,
        "changed": len(changed),
        **sweep_figures(sweep, args.sweep_timeout),
        "seed_seconds": seeded_seconds,
        "warm_up_requests": warm_up,
        "transitions_found": transitions,
        "outbox_rows_written": sweep.report.messages if sweep.report else None,
        "delivery": delivery,
        **announced,
    }


async def sweep_runtime(
    args: argparse.Namespace, data_dir: Path, hosts: dict[str, Any], seeds: dict[str, Any]
) -> Any:
    """The bot's runtime with its providers' ordinary settings pointing at the served simulators."""
    import os

    from sandbox_processes import provider_settings

    from circuitbot.bootstrap import build_runtime
    from circuitbot.clock import SystemClock
    from circuitbot.settings import Settings, WatchSettings

    subscription = next((seed["subscription_id"] for seed in seeds.values()), "")
    os.environ.update(provider_settings({name: host.url for name, host in hosts.items()}, subscription))
    settings = Settings(
        data_dir=data_dir,
        database_url=args.database_url,
        watch=WatchSettings(strategy=args.strategy),
    )
    return await build_runtime(settings, sandbox=False, clock=SystemClock())


async def prepare(
    runtime: Any, args: argparse.Namespace, hosts: dict[str, Any], seeds: dict[str, Any]
) -> tuple[dict[str, str], list[str], int | None]:
    """The watches inserted, the pollers warmed up where they need to be, some resources changed,
    latency injected and the request counts at zero; returns the resource of each card ts, the
    changed resources and the warm-up's requests."""
    cards: dict[str, str] = {}
    changed: list[str] = []
    warm_ups: list[int] = []
    for provider, host in hosts.items():
        if provider not in runtime.pollers:
            raise SystemExit(f"no {provider} poller is wired: nothing to sweep")
        seeded = [Seeded(**row) for row in seeds[provider]["seeded"]]
        cards |= await insert_watches(runtime, provider, seeded, args.channels, first_card=len(cards))
        warm_up = await warm_up_sweep(runtime, args, provider, host, seeds[provider]["watched"])
        if warm_up is not None:
            warm_ups.append(warm_up)
    for host in hosts.values():
        asked = {"percent": args.changed_percent, "latency_ms": args.latency_ms, "page_size": args.page_size}
        changed += (await host.call("POST", "change", asked))["changed"]
    return cards, changed, sum(warm_ups) if warm_ups else None


async def warm_up_sweep(
    runtime: Any, args: argparse.Namespace, provider: str, host: Any, ids: Sequence[str]
) -> int | None:
    """One sweep of the poller alone (no watch engine) before the measured one, for the batched
    pollers of ``WARMED_UP``; the requests it made (None: no warm-up)."""
    if args.strategy != "batched" or provider not in WARMED_UP:
        return None
    poller = runtime.pollers[provider]
    before = sum((await host.call("GET", "figures"))["requests_by_route"].values())
    poller.begin_sweep()
    size = runtime.settings.watch.batch_size
    await asyncio.gather(*(poller.snapshot_many(ids[i : i + size]) for i in range(0, len(ids), size)))
    return sum((await host.call("GET", "figures"))["requests_by_route"].values()) - before


@contextlib.contextmanager
def profiled(path: str | None) -> Iterator[None]:
    """pyinstrument around the sweep (``--profile PATH``: its text report goes there)."""
    if not path:
        yield
        return
    from pyinstrument import Profiler  # the `bench` extra

    profiler = Profiler(async_mode="enabled", interval=0.001)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        Path(path).write_text(profiler.output_text(unicode=True, color=False, show_all=False))


async def other_replicas(args: argparse.Namespace) -> Any:
    """The other replicas of ``--replicas N`` (processes of their own), ready to tick; or None."""
    if args.replicas < 2:
        return None
    if not args.database_url:
        raise SystemExit("--replicas needs a shared database: PostgreSQL (--postgres)")
    from sweep_replicas import start_replicas

    return await start_replicas(args.replicas - 1, args.database_url, args.strategy)


async def sweep_once(runtime: Any, hosts: dict[str, Any], args: argparse.Namespace, others: Any) -> Sweep:
    """One tick of the watch engine (and the other replicas' at once), stopped after
    ``--sweep-timeout``, with what it cost."""
    timeout, profile = args.sweep_timeout, args.profile
    simulator_cpu_before = sum([(await h.call("GET", "figures"))["cpu_seconds"] for h in hosts.values()])
    rss_before = common.rss_mb()
    common.reset_peak_rss()
    cpu_before, wall_before = cpu_seconds(), time.perf_counter()
    completed, report = True, None
    elsewhere = asyncio.create_task(others.tick()) if others is not None else None
    with profiled(profile):
        try:
            report = await asyncio.wait_for(runtime.watches.tick(), timeout)
        except TimeoutError:
            completed = False
    replicas = [
        {"claimed": report.claimed if report else None, "wall_seconds": time.perf_counter() - wall_before}
    ]
    if elsewhere is not None:
        replicas += await elsewhere
        await others.stop()
    wall = time.perf_counter() - wall_before  # until the last replica is done
    cpu = cpu_seconds() - cpu_before
    peak = common.peak_rss_mb()
    figures = {name: await host.call("GET", "figures") for name, host in hosts.items()}
    requests = {
        (route if len(hosts) == 1 else f"{provider} {route}"): count
        for provider, found in figures.items()
        for route, count in found["requests_by_route"].items()
    }
    throttled = sum(found["throttled"] for found in figures.values())
    simulator_cpu = sum(found["cpu_seconds"] for found in figures.values()) - simulator_cpu_before
    return Sweep(completed, report, wall, cpu, rss_before, peak, requests, throttled, simulator_cpu, replicas)


def sweep_figures(sweep: Sweep, timeout: float) -> dict[str, Any]:
    report = sweep.report
    return {
        "completed": sweep.completed,
        "sweep_timeout_seconds": timeout,
        "provider_requests": sum(sweep.requests.values()),
        "provider_requests_by_route": sweep.requests,
        "throttled_requests": sweep.throttled,
        "replicas": sweep.replicas,
        "load_average": common.load_average(),
        "simulator_cpu_seconds": sweep.simulator_cpu,
        "poller_calls": dict(report.calls) if report else None,
        "claimed": report.claimed if report else None,
        "wall_seconds": sweep.wall,
        "cpu_seconds": sweep.cpu,
        "rss_before_sweep_mb": sweep.rss_before,
        "peak_rss_sweep_mb": sweep.peak,
        "peak_rss_process_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


async def count_transitions(runtime: Any) -> int:
    from sqlalchemy import func, select

    from circuitbot.store.tables import WatchTransition

    async with runtime.db.session() as session:
        return (await session.execute(select(func.count()).select_from(WatchTransition))).scalar_one()


async def deliver(runtime: Any, poster: RecordingPoster, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
    """Run the outbox sender until nothing is pending (or ``timeout``); how long it took."""
    sender = runtime.watches.sender
    began = time.perf_counter()
    await sender.start()
    try:
        # The outbox has no event to wait on from outside; its pending count is what is measured.
        while await sender.pending() and time.perf_counter() - began < timeout:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        pending = await sender.pending()
    finally:
        await sender.stop()
    return {"seconds": time.perf_counter() - began, "posted": len(poster.posted), "still_pending": pending}


def announcements(poster: RecordingPoster, cards: dict[str, str], changed: Sequence[str]) -> dict[str, Any]:
    """Thread replies per watch (a watch's thread is its card's ts): changed ones once, others never."""
    thread_of = cards
    replies = collections.Counter(
        thread_of[p.thread_ts] for p in poster.posted if p.kind == "post" and p.thread_ts in thread_of
    )
    cards = collections.Counter(
        thread_of[p.ts] for p in poster.posted if p.kind == "update" and p.ts in thread_of
    )
    wanted = set(changed)
    return {
        "announced_once": sum(1 for key in wanted if replies[key] == 1),
        "announced_more_than_once": sum(1 for key in wanted if replies[key] > 1),
        "not_announced": sum(1 for key in wanted if replies[key] == 0),
        "announced_unchanged": sum(1 for key, n in replies.items() if key not in wanted and n),
        "cards_updated": sum(1 for key in wanted if cards[key] >= 1),
    }
