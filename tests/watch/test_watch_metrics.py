"""What /metrics says of the watch engine and its outbox: a sweep's duration and size, the
outbox's depth and the age of its oldest waiting message; and JSON log lines carry the
correlation id and operation of the work that wrote them."""

from __future__ import annotations

import io
import json
import logging

from watch_support import FakePoller, drain

from circuitbot import metrics
from circuitbot.actions.registry import WatchTarget
from circuitbot.chat.reply import PostError, Reply
from circuitbot.clock import FakeClock
from circuitbot.context import ContextFilter, correlated, doing
from circuitbot.logs import JsonFormatter
from circuitbot.store.db import Database
from circuitbot.watch.engine import WatchEngine
from circuitbot.watch.outbox import enqueue
from support.poster import RecordingPoster


def gauge(name: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(name)


async def test_a_sweep_reports_its_duration_and_how_many_it_polled(
    engine: WatchEngine, poller: FakePoller, clock: FakeClock
) -> None:
    for n in range(5):
        poller.set(f"xc{n}", provisioningState="Updating")
        await engine.watch(WatchTarget("azure", f"xc{n}"), "C1", created_by="UREQ")
    await drain(engine, clock)
    await clock.advance(15)
    sweeps = gauge("circuitbot_sweep_seconds_count") or 0.0

    await engine.scheduled_tick()

    assert gauge("circuitbot_sweep_watches") == 5
    assert gauge("circuitbot_sweep_seconds_count") == sweeps + 1


async def test_the_outbox_reports_its_depth_and_the_age_of_its_oldest_message(
    engine: WatchEngine, poster: RecordingPoster, clock: FakeClock, database: Database
) -> None:
    async with database.session() as session:
        enqueue(session, kind="post", channel="C1", reply=Reply.plain("waits"), at=clock.now())
    await clock.advance(30)
    poster.failures.append(PostError("ratelimited", retry_after=60))

    await engine.sender.run_once()

    assert gauge("circuitbot_outbox_pending") == 1
    assert gauge("circuitbot_outbox_oldest_seconds") == 30


def test_json_log_lines_carry_the_correlation_id_and_operation() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("circuitbot.test.correlation")
    log.addHandler(handler)
    try:
        with correlated("c-0123456789ab"), doing("azure.show"):
            log.warning("inside")
        log.warning("outside")
    finally:
        log.removeHandler(handler)

    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (inside["correlation_id"], inside["operation"]) == ("c-0123456789ab", "azure.show")
    assert "correlation_id" not in outside and "operation" not in outside
