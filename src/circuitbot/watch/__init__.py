"""Watches: scheduled polling, state transitions, and the outbox that posts them to Slack."""

from circuitbot.watch.engine import TickReport, WatchEngine, WatchInfo
from circuitbot.watch.outbox import OutboxSender, enqueue

__all__ = ["OutboxSender", "TickReport", "WatchEngine", "WatchInfo", "enqueue"]
