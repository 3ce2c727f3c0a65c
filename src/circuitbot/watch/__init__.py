"""Watches: scheduled polling, state transitions, and the outbox that posts them to Slack."""

from circuitbot.watch.engine import WatchEngine
from circuitbot.watch.model import TickReport, WatchInfo
from circuitbot.watch.outbox import enqueue
from circuitbot.watch.sender import OutboxSender

__all__ = ["OutboxSender", "TickReport", "WatchEngine", "WatchInfo", "enqueue"]
