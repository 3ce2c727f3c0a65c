"""Prometheus metrics, in one registry of the bot's own (served at GET /metrics)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

commands = Counter(
    "circuitbot_commands_total",
    "Commands handled, by operation and result",
    ["operation", "result"],
    registry=REGISTRY,
)
command_seconds = Histogram(
    "circuitbot_command_seconds",
    "Time from parse to final reply, by operation",
    ["operation"],
    registry=REGISTRY,
)
ack_seconds = Histogram(
    "circuitbot_ack_seconds",
    "Time from request to Slack ack, by kind",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0),
    registry=REGISTRY,
)
approvals = Counter(
    "circuitbot_approval_transitions_total",
    "Approval request transitions, by new status",
    ["status"],
    registry=REGISTRY,
)
provider_calls = Histogram(
    "circuitbot_provider_call_seconds",
    "Provider HTTP attempts and their latency, by provider, operation (circuitbot.context) and "
    "status (an HTTP status, or the transport error)",
    ["provider", "operation", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
approval_requests = Gauge(
    "circuitbot_approval_requests",
    "Approval requests by status (counted each round of the approvals loop)",
    ["status"],
    registry=REGISTRY,
)
approval_decision_seconds = Histogram(
    "circuitbot_approval_decision_seconds",
    "Time from a request to its decision, by decision",
    ["decision"],
    buckets=(10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600),
    registry=REGISTRY,
)
sweep_seconds = Histogram(
    "circuitbot_sweep_seconds",
    "Duration of a watch tick that polled something",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0),
    registry=REGISTRY,
)
sweep_resources = Gauge(
    "circuitbot_sweep_watches",
    "Watches the last tick of this process polled",
    registry=REGISTRY,
)
polls = Counter(
    "circuitbot_polls_total",
    "Watch polls, by provider and result",
    ["provider", "result"],
    registry=REGISTRY,
)
transitions = Counter(
    "circuitbot_transitions_total",
    "State transitions detected, by provider",
    ["provider"],
    registry=REGISTRY,
)
outbox_pending = Gauge(
    "circuitbot_outbox_pending",
    "Notifications waiting for delivery",
    registry=REGISTRY,
)
outbox_oldest_seconds = Gauge(
    "circuitbot_outbox_oldest_seconds",
    "Age of the oldest notification waiting for delivery (0 when none waits)",
    registry=REGISTRY,
)
slack_errors = Counter(
    "circuitbot_slack_errors_total",
    "Slack Web API errors, by method (response_url for answers to one) and error",
    ["method", "error"],
    registry=REGISTRY,
)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def merged(*expositions: str) -> bytes:
    """Several processes' expositions as one (``serve`` with a work process): counters and
    histograms summed by sample and labels; a gauge, and a ``_created`` time, from the last one."""
    families: dict[str, Metric] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for text in expositions:
        for family in text_string_to_metric_families(text):
            families.setdefault(family.name, family)
            samples = values.setdefault(family.name, {})
            summed = family.type in ("counter", "histogram", "summary")
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                add = summed and not sample.name.endswith("_created")
                samples[key] = samples.get(key, 0.0) + sample.value if add else sample.value

    class Merged(Collector):
        def collect(self) -> Iterator[Metric]:
            for name, family in families.items():
                out = Metric(name, family.documentation, family.type, family.unit)
                for (sample, labels), value in values[name].items():
                    out.add_sample(sample, dict(labels), value)
                yield out

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Merged())
    return generate_latest(registry)
