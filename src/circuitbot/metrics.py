"""Prometheus metrics, in one registry of the bot's own (served at GET /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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
provider_requests = Counter(
    "circuitbot_provider_requests_total",
    "Provider HTTP requests, by provider and status class",
    ["provider", "status"],
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
slack_errors = Counter(
    "circuitbot_slack_errors_total",
    "Slack Web API errors, by error",
    ["error"],
    registry=REGISTRY,
)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
