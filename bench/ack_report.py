"""Ack latency's report: the ack table against the floor, a table per app and verb, the targets,
and the JSON results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common
from ack_load import APPROVALS_CHANNEL, MIX

NAME = "ack_latency"
STATS = ("p50", "p95", "p99", "max")
VERB_HEADERS = [
    "verb",
    "n",
    "ack p50",
    "ack p99",
    "final p50",
    "final p95",
    "final p99",
    "final max",
    "via",
    "errors",
]

App = tuple[str, dict[str, Any]]  # (database name, that circuitbot run's figures)


def report(results: dict[str, Any], parameters: dict[str, Any], output: Path | None) -> None:
    apps = [
        (name, results[key])
        for name, key in (("SQLite", "circuitbot_sqlite"), ("PostgreSQL", "circuitbot_postgres"))
        if key in results
    ]
    ratios = print_ack_table(results["floor"], apps, parameters)
    for name, figures in apps:
        print_verb_table(name, figures)
    floor_p99 = results["floor"]["ack"]["p99"]
    targets = [t for name, figures in apps for t in app_targets(name, figures, floor_p99)]
    if not any(key == "circuitbot_postgres" for key in results):
        targets.append(
            common.target("PostgreSQL run", "with --postgres or $" + common.POSTGRES_ENV, "skipped", None)
        )
    common.print_targets(targets)
    common.write_results(
        NAME, parameters, {"results": results, "ratios_to_floor": ratios, "targets": targets}, output
    )


def print_ack_table(
    floor_figures: dict[str, Any], apps: Sequence[App], parameters: dict[str, Any]
) -> dict[str, dict[str, float | None]]:
    """The ack percentiles of the floor and of each app, with each app's ratio to the floor."""
    floor = floor_figures["ack"]
    headers = ["ack (ms)", "floor"]
    for name, _ in apps:
        headers += [f"circuitbot {name}", "ratio"]
    rows = []
    ratios: dict[str, dict[str, float | None]] = {}
    for stat in STATS:
        row: list[Any] = [stat, common.ms(floor[stat])]
        for name, figures in apps:
            value = figures["ack"][stat]
            quotient = common.ratio(value, floor[stat])
            ratios.setdefault(name.lower(), {})[stat] = quotient
            row += [common.ms(value), common.times(quotient)]
        rows.append(row)
    throughput: list[Any] = ["requests/s", f"{floor_figures['throughput_per_second']:.0f}"]
    for _, figures in apps:
        throughput += [f"{figures['throughput_per_second']:.0f}", ""]
    rows.append(throughput)
    print_title = f"Ack latency: {parameters['requests']} requests at concurrency {parameters['concurrency']}"
    common.print_table(headers, rows, title=print_title)
    return ratios


def print_verb_table(name: str, figures: dict[str, Any]) -> None:
    """One app's ack and final reply per verb, then its approvals, misses and server log."""
    verb_rows = []
    for verb in MIX:
        ack = figures["ack_by_verb"].get(verb.name) or common.distribution([])
        final = figures["final_reply_by_verb"].get(verb.name) or common.distribution([])
        verb_rows.append(
            [
                verb.name,
                ack["count"],
                common.ms(ack["p50"]),
                common.ms(ack["p99"]),
                common.ms(final["p50"]),
                common.ms(final["p95"]),
                common.ms(final["p99"]),
                common.ms(final["max"]),
                "ack" if verb.acked_with_answer else "response_url",
                figures["error_replies_by_verb"].get(verb.name, 0),
            ]
        )
    common.print_table(
        VERB_HEADERS,
        verb_rows,
        title=f"circuitbot on {name}: per verb, ms (final = until the reply reached the fake Slack)",
    )
    print(
        f"approval requests: {figures['approval_requests_sent']} sent, "
        f"{figures['approval_messages_posted']} posted to {APPROVALS_CHANNEL}; "
        f"final replies missing: {figures['missing_final_replies']}; non-200 acks: {figures['non_200']}"
    )
    problems = figures["server_log"]
    locked = problems["database_locked"]
    print(f"server log: {problems['tracebacks']} tracebacks, {locked} 'database is locked'")


def app_targets(name: str, figures: dict[str, Any], floor_p99: float | None) -> list[dict[str, Any]]:
    """The targets one app is held to: ack p99 against the floor and Slack, every command answered."""
    p99 = figures["ack"]["p99"]
    quotient = common.ratio(p99, floor_p99)
    errors = figures["error_replies_by_verb"]
    clean = figures["missing_final_replies"] == 0 and not errors and figures["non_200"] == 0
    problems = figures["server_log"]
    return [
        common.target(
            f"ack p99 vs floor ({name})",
            "≤ 1.5× floor p99",
            f"{common.ms(p99)} ms vs {common.ms(floor_p99)} ms = {common.times(quotient)}",
            None if quotient is None else quotient <= 1.5,
        ),
        common.target(
            f"ack p99 absolute ({name})",
            "far under Slack's 3 s",
            f"{common.ms(p99)} ms",
            None if p99 is None else p99 < 3.0,
        ),
        common.target(
            f"every command answered ({name})",
            "no missing or error replies",
            f"{figures['missing_final_replies']} missing, {sum(errors.values())} errors",
            clean,
        ),
        common.target(
            f"no server errors under load ({name})",
            "no tracebacks in the server log",
            f"{problems['tracebacks']} tracebacks ({problems['database_locked']} database is locked)",
            problems["tracebacks"] == 0,
        ),
    ]
