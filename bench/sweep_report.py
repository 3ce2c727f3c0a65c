"""Poll sweep's report: a row per sweep, the per-resource/batched ratios, the targets at 10,000
circuits, and the JSON results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common

NAME = "poll_sweep"
TARGET_CIRCUITS = 10_000  # the size the call-count and wall-time targets are set at
LARGE_CIRCUITS = 100_000  # the size of the all-providers targets
LARGE_WALL_SECONDS = 10.0
LARGE_RSS_MB = 400
REPLICA_SPEEDUP = 1.6
RUN_HEADERS = [
    "db",
    "provider",
    "circuits",
    "strategy",
    "requests",
    "429s",
    "wall s",
    "CPU s",
    "sim CPU s",
    "peak MB",
    "sweep MB",
    "changed",
    "found",
    "posted once",
    "delivery s",
]
RATIO_HEADERS = [
    "db",
    "provider",
    "circuits",
    "requests per-resource/batched",
    "wall per-resource/batched",
    "CPU per-resource/batched",
]


def report(runs: list[dict[str, Any]], parameters: dict[str, Any], output: Path | None) -> None:
    common.print_table(
        RUN_HEADERS,
        [run_row(run) for run in runs],
        title=(
            "One full sweep (provider requests and 429s counted at the simulators, each its own process;"
            " CPU and peak MB: the bot's process)"
        ),
        left_columns=4,
    )
    comparisons = compare(runs)
    common.print_table(
        RATIO_HEADERS,
        [
            [
                c["database"],
                c["provider"],
                f"{c['circuits']:,}",
                common.times(c["requests_ratio"]) + ("" if c["both_completed"] else " (incomplete)"),
                common.times(c["wall_ratio"]),
                common.times(c["cpu_ratio"]),
            ]
            for c in comparisons
        ],
        title="Ratios (how many times more the per-resource sweep costs)",
        left_columns=2,
    )
    targets = []
    for database in dict.fromkeys(r["database"] for r in runs):
        for provider in dict.fromkeys(r["provider"] for r in runs):
            mine = [r for r in runs if r["provider"] == provider]
            theirs = [c for c in comparisons if c["provider"] == provider]
            targets += database_targets(database, mine, theirs, parameters["circuits"], provider)
    targets += replica_targets(runs)
    common.print_targets(targets)
    common.write_results(NAME, parameters, {"runs": runs, "ratios": comparisons, "targets": targets}, output)


def provider_of(run: dict[str, Any]) -> str:
    """The provider a sweep watched (runs written before there were several say it in ``providers``)."""
    return run.get("provider") or next(iter(run.get("providers") or {"azure": 0}))


def run_row(run: dict[str, Any]) -> list[str]:
    delivery = run["delivery"] or {}
    twice = run["announced_more_than_once"]
    return [
        run["database"],
        run["provider"],
        f"{run['circuits']:,}",
        run["strategy"],
        f"{run['provider_requests']:,}" + ("" if run["completed"] else "+"),
        f"{run.get('throttled_requests', 0):,}",
        f"{run['wall_seconds']:.2f}" + ("" if run["completed"] else " (stopped)"),
        f"{run['cpu_seconds']:.2f}",
        f"{run.get('simulator_cpu_seconds', 0):.2f}",
        f"{run['peak_rss_process_mb']:.0f}",
        f"{run['peak_rss_sweep_mb']:.0f}" if run["peak_rss_sweep_mb"] else "—",
        f"{run['changed']}",
        f"{run['transitions_found']}",
        f"{run['announced_once']}" + (f" (+{twice} twice)" if twice else ""),
        f"{delivery.get('seconds', 0):.1f}" if delivery else "—",
    ]


def compare(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per database, provider and size, how many times more the per-resource sweep cost than the
    batched."""
    comparisons = []
    by_key = {(r["database"], r["provider"], r["circuits"], r["strategy"]): r for r in runs}
    for (database, provider, circuits, strategy), batched in by_key.items():
        if strategy != "batched":
            continue
        single = by_key.get((database, provider, circuits, "per-resource"))
        if single is None:
            continue
        comparisons.append(
            {
                "database": database,
                "provider": provider,
                "circuits": circuits,
                "requests_ratio": common.ratio(single["provider_requests"], batched["provider_requests"]),
                "wall_ratio": common.ratio(single["wall_seconds"], batched["wall_seconds"]),
                "cpu_ratio": common.ratio(single["cpu_seconds"], batched["cpu_seconds"]),
                "both_completed": batched["completed"] and single["completed"],
            }
        )
    return comparisons


def database_targets(
    database: str,
    runs: Sequence[dict[str, Any]],
    comparisons: Sequence[dict[str, Any]],
    sizes: Sequence[int],
    provider: str,
) -> list[dict[str, Any]]:
    """The targets of one provider on one database: the two at 10,000 circuits, peak memory,
    exactness. Each target's name says the provider and the database."""
    mine = [r for r in runs if r["database"] == database]
    if not mine:
        return []
    largest = max(r["circuits"] for r in mine)
    peak = max(r["peak_rss_process_mb"] for r in mine if r["circuits"] == largest)
    where = f"{provider}, {database}"
    limit = LARGE_RSS_MB if largest >= LARGE_CIRCUITS else 200
    targets = [
        *target_size_targets(where, database, mine, comparisons, at_target=TARGET_CIRCUITS in sizes),
        common.target(f"peak RSS at {largest:,} ({where})", f"≤ {limit} MB", f"{peak:.0f} MB", peak <= limit),
        exactness_target(where, mine),
    ]
    if largest >= LARGE_CIRCUITS:
        large = [r for r in mine if r["circuits"] == largest and r["strategy"] == "batched"]
        wall = max(r["wall_seconds"] for r in large) if large else None
        targets.append(
            common.target(
                f"batched sweep wall at {largest:,} ({where})",
                f"≤ {LARGE_WALL_SECONDS:g} s",
                f"{wall:.2f} s" if wall is not None else "not run",
                None if wall is None else wall <= LARGE_WALL_SECONDS and all(r["completed"] for r in large),
            )
        )
    return targets


def replica_targets(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where several replicas swept together: each took about its share, and the sweep was faster
    than one replica's on the same database by at least ``REPLICA_SPEEDUP``."""
    targets = []
    for run in runs:
        claims = [r["claimed"] or 0 for r in run.get("replicas") or []]
        if len(claims) < 2:
            continue
        alone = next(
            (
                r
                for r in runs
                if len(r.get("replicas") or []) < 2
                and r["database"] == run["database"].split(" ×")[0]
                and (r["provider"], r["circuits"], r["strategy"])
                == (run["provider"], run["circuits"], run["strategy"])
            ),
            None,
        )
        where = f"{run['provider']}, {run['circuits']:,}, {run['database']}"
        share = min(claims) / max(1, sum(claims)) * len(claims)
        targets.append(
            common.target(
                f"replicas split the sweep ({where})",
                "each about its share",
                " + ".join(f"{c:,}" for c in claims) + " claimed",
                share >= 0.8,
            )
        )
        speedup = common.ratio(alone["wall_seconds"], run["wall_seconds"]) if alone else None
        targets.append(
            common.target(
                f"replicas faster than one ({where})",
                f"≥ {REPLICA_SPEEDUP}× one replica's wall",
                f"{common.times(speedup)}" if speedup else "no single-replica run",
                None if speedup is None else speedup >= REPLICA_SPEEDUP,
            )
        )
    return targets


def target_size_targets(
    where: str,
    database: str,
    runs: Sequence[dict[str, Any]],
    comparisons: Sequence[dict[str, Any]],
    *,
    at_target: bool,
) -> list[dict[str, Any]]:
    """Requests saved and batched wall time, measured at TARGET_CIRCUITS."""
    comparison = next(
        (c for c in comparisons if c["database"] == database and c["circuits"] == TARGET_CIRCUITS), None
    )
    batched = next(
        (r for r in runs if r["circuits"] == TARGET_CIRCUITS and r["strategy"] == "batched"),
        None,
    )
    not_run = f"not run at {TARGET_CIRCUITS:,} circuits"
    quotient = comparison["requests_ratio"] if comparison else None
    complete = bool(comparison and comparison["both_completed"])
    return [
        common.target(
            f"batched requests at {TARGET_CIRCUITS:,} ({where})",
            "≥ 50× fewer than per-resource",
            (f"{common.times(quotient)} fewer" + ("" if complete else " (a sweep did not finish)"))
            if comparison
            else not_run,
            quotient >= 50 if quotient is not None and complete and at_target else None,
        ),
        common.target(
            f"batched sweep wall at {TARGET_CIRCUITS:,} ({where})",
            "≤ 2 s",
            (f"{batched['wall_seconds']:.2f} s" + ("" if batched["completed"] else " (stopped, unfinished)"))
            if batched
            else not_run,
            (batched["completed"] and batched["wall_seconds"] <= 2.0) if batched else None,
        ),
    ]


def exactness_target(where: str, runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every finished sweep announced each changed circuit once and no other."""
    finished = [r for r in runs if r["completed"]]
    exact = all(
        r["announced_once"] == r["changed"]
        and not r["announced_unchanged"]
        and not r["announced_more_than_once"]
        for r in finished
    )
    return common.target(
        f"every change announced exactly once ({where})",
        "each changed circuit once, no other",
        f"{len(finished)} of {len(runs)} sweeps finished; " + ("all exact" if exact else "NOT exact"),
        exact if finished else None,
    )
