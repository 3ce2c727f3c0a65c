"""Ack latency's report: the open-loop acks against the floor at each offered rate, the closed-loop
capacity against the floor and the generator's ceiling, the final replies per verb and rate, the
targets, and the JSON results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common
from ack_load import APPROVALS_CHANNEL, MIX

NAME = "ack_latency"
# The floor sustains a rate when it answers at least this share of it, within Slack's deadline.
SUSTAINED_SHARE = 0.95
SLACK_DEADLINE_SECONDS = 3.0

App = tuple[str, dict[str, Any]]  # (the run's name, that circuitbot run's figures)
# Each database, with the work after the ack in a thread of the serving process (the default) and
# in a work process of its own (CIRCUITBOT_WORK_PROCESS).
APP_RUNS = (
    ("SQLite", "circuitbot_sqlite"),
    ("SQLite, work process", "circuitbot_sqlite_work_process"),
    ("PostgreSQL", "circuitbot_postgres"),
    ("PostgreSQL, work process", "circuitbot_postgres_work_process"),
)


def report(results: dict[str, Any], parameters: dict[str, Any], output: Path | None) -> None:
    apps = [(name, results[key]) for name, key in APP_RUNS if key in results]
    floor = results["floor"]
    ratios = print_open_loop(floor, apps)
    print_closed_loop(results["generator"], floor, apps)
    for name, figures in apps:
        print_finals(name, figures)
    targets = [t for name, figures in apps for t in app_targets(name, figures, floor)]
    if "circuitbot_postgres" not in results:
        targets.append(
            common.target("PostgreSQL run", "with --postgres or $" + common.POSTGRES_ENV, "skipped", None)
        )
    common.print_targets(targets)
    common.write_results(
        NAME, parameters, {"results": results, "ratios_to_floor": ratios, "targets": targets}, output
    )


def sustained(phase: dict[str, Any]) -> bool:
    """Whether an app kept up with an offered rate: answered it, within Slack's deadline."""
    rate = phase["throughput_per_second"] or 0.0
    p99 = phase["ack"]["p99"]
    return rate >= SUSTAINED_SHARE * phase["offered_per_second"] and p99 is not None and p99 < 3.0


def print_open_loop(floor: dict[str, Any], apps: Sequence[App]) -> dict[str, dict[str, Any]]:
    headers = ["offered/s", "floor p50", "floor p99", "floor kept up"]
    for name, _ in apps:
        headers += [f"{name} p50", f"{name} p99", "p99 ratio", f"{name} answered/s"]
    rows, ratios = [], {}
    for rate, phase in floor["open_loop"].items():
        row: list[Any] = [rate, common.ms(phase["ack"]["p50"]), common.ms(phase["ack"]["p99"])]
        row.append("yes" if sustained(phase) else "no")
        for name, figures in apps:
            mine = figures["open_loop"][rate]
            quotient = common.ratio(mine["ack"]["p99"], phase["ack"]["p99"])
            ratios.setdefault(name.lower(), {})[rate] = quotient
            row += [common.ms(mine["ack"]["p50"]), common.ms(mine["ack"]["p99"]), common.times(quotient)]
            row.append(f"{mine['throughput_per_second']:.0f}")
        rows.append(row)
    common.print_table(
        headers, rows, title="Open loop: ack latency in ms at each offered rate (from when due)"
    )
    return ratios


def print_closed_loop(generator: dict[str, Any], floor: dict[str, Any], apps: Sequence[App]) -> None:
    rows = [_closed_row("generator ceiling (null server)", generator["closed_loop"], None)]
    rows.append(_closed_row("floor (bare Bolt)", floor["closed_loop"], None))
    for name, figures in apps:
        rows.append(_closed_row(f"circuitbot {name}", figures["closed_loop"], floor["closed_loop"]))
    common.print_table(
        ["closed loop", "answered/s", "ack p50 ms", "ack p99 ms", "non-200", "refused as busy", "vs floor"],
        rows,
        title="Closed loop: capacity",
    )


def _closed_row(label: str, phase: dict[str, Any], floor: dict[str, Any] | None) -> list[Any]:
    rate = phase["throughput_per_second"]
    versus = common.times(common.ratio(rate, floor["throughput_per_second"])) if floor else ""
    acks = phase["ack"]
    busy = phase.get("refused_as_busy", 0)
    refused = f"{busy} ({busy / phase['requests']:.0%})" if phase.get("requests") else str(busy)
    return [
        label,
        f"{rate:.0f}",
        common.ms(acks["p50"]),
        common.ms(acks["p99"]),
        phase["non_200"],
        refused,
        versus,
    ]


def print_finals(name: str, figures: dict[str, Any]) -> None:
    """Time to the final reply per verb at each offered rate (p50 / p99, seconds)."""
    rates = list(figures["open_loop"])
    rows = []
    for verb in MIX:
        row: list[Any] = [verb.name, "ack" if verb.acked_with_answer else "response_url"]
        for rate in rates:
            final = figures["open_loop"][rate]["final_reply_by_verb"].get(verb.name) or common.distribution(
                []
            )
            row.append(_seconds(final["p50"]) + " / " + _seconds(final["p99"]))
        rows.append(row)
    common.print_table(
        ["verb", "via", *(f"at {rate}/s p50 / p99 s" for rate in rates)],
        rows,
        title=f"circuitbot on {name}: time to the final reply (until it reached the fake Slack)",
        left_columns=2,
    )
    for rate in rates:
        phase = figures["open_loop"][rate]
        print(
            f"at {rate}/s: approval requests {phase['approval_requests_sent']} sent, "
            f"{phase['approval_messages_posted']} posted to {APPROVALS_CHANNEL}; final replies missing "
            f"{phase['missing_final_replies']}; errors {sum(phase['error_replies_by_verb'].values())}; "
            f"refused as busy {sum(phase.get('busy_replies_by_verb', {}).values())}; "
            f"non-200 acks {phase['non_200']}"
        )
    problems = figures["server_log"]
    print(
        f"server log: {problems['tracebacks']} tracebacks, {problems['database_locked']} 'database is locked'"
    )
    rest = figures.get("at_rest") or {}
    print(
        f"at rest: first ack {rest.get('first_ack_seconds', 0):.2f} s after the process started; RSS "
        f"{rest.get('idle_rss_mb') or 0:.0f} MB idle, "
        f"{rest.get('rss_after_load_mb') or 0:.0f} MB after the load"
    )


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def app_targets(name: str, figures: dict[str, Any], floor: dict[str, Any]) -> list[dict[str, Any]]:
    """Ack p99 ≤ 1.5× the floor's at every rate the floor sustains; capacity ≥ 2/3 the floor's;
    every command answered; no server errors."""
    targets = []
    for rate, phase in floor["open_loop"].items():
        mine = figures["open_loop"][rate]
        quotient = common.ratio(mine["ack"]["p99"], phase["ack"]["p99"])
        kept_up = sustained(phase)
        targets.append(
            common.target(
                f"ack p99 at {rate}/s ({name})",
                "≤ 1.5× floor p99" + ("" if kept_up else " (the floor did not keep up)"),
                f"{common.ms(mine['ack']['p99'])} vs {common.ms(phase['ack']['p99'])} ms"
                f" = {common.times(quotient)}",
                None if quotient is None or not kept_up else quotient <= 1.5,
            )
        )
    capacity = common.ratio(
        figures["closed_loop"]["throughput_per_second"], floor["closed_loop"]["throughput_per_second"]
    )
    closed = figures["closed_loop"]
    refused = closed.get("refused_as_busy", 0) / closed["requests"] if closed.get("requests") else 0.0
    targets.append(
        common.target(
            f"closed-loop capacity ({name})",
            "≥ 2/3 of the floor's requests/s",
            f"{common.times(capacity)} of the floor ({refused:.0%} of them refused as busy)",
            None if capacity is None else capacity >= 2 / 3,
        )
    )
    phases = figures["open_loop"].values()
    missing = sum(p["missing_final_replies"] for p in phases)
    errors = sum(sum(p["error_replies_by_verb"].values()) for p in phases)
    bad_acks = sum(p["non_200"] for p in phases)
    busy = sum(sum(p.get("busy_replies_by_verb", {}).values()) for p in phases)
    targets.append(
        common.target(
            f"every command answered ({name})",
            "no missing or error replies in the open loops (a busy refusal is an answer)",
            f"{missing} missing, {errors} errors, {busy} refused as busy, {bad_acks} non-200",
            missing == errors == bad_acks == 0,
        )
    )
    problems = figures["server_log"]
    targets.append(
        common.target(
            f"no server errors under load ({name})",
            "no tracebacks in the server log",
            f"{problems['tracebacks']} tracebacks ({problems['database_locked']} database is locked)",
            problems["tracebacks"] == 0,
        )
    )
    return targets
