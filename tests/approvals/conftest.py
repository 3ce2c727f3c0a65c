"""Fixtures of the approvals tests: settings with many approvers, the in-test provider, harnesses."""

from __future__ import annotations

from typing import Any

import pytest
from approvals_support import Harness, PortProvider, approvals_settings, register_demo

from circuitbot.approvals.engine import ApprovalEngine
from circuitbot.bootstrap import build_registry
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.store.db import Database
from support.poster import RecordingPoster


@pytest.fixture
def settings(tmp_path) -> Settings:
    return approvals_settings(tmp_path, secret_key="Wy6ZanrTq0XRhhKQG27XBf_LcrRuBaN4ztnkq4UNYeE=")


@pytest.fixture
def provider() -> PortProvider:
    return PortProvider()


@pytest.fixture
async def make_harness(clock, provider):
    """Harnesses on one database: each is a replica with its own engine (and poster)."""
    runtimes: list[Runtime] = []

    def make(
        db: Database,
        settings: Settings,
        *,
        instance_id: str = "replica-a",
        poster: RecordingPoster | None = None,  # replicas share one Slack workspace
        **engine_args: Any,
    ) -> Harness:
        registry = build_registry()
        register_demo(registry)
        poster = poster or RecordingPoster()
        runtime = Runtime(
            settings=settings,
            db=db,
            registry=registry,
            clock=clock,
            providers={"demo": provider},
            poster=poster,
        )
        runtime.approvals = ApprovalEngine(runtime, instance_id=instance_id, **engine_args)
        runtimes.append(runtime)
        return Harness(runtime, poster, provider)

    yield make
    for runtime in runtimes:
        await runtime.approvals.stop()


@pytest.fixture
def harness(make_harness, database, settings) -> Harness:
    return make_harness(database, settings)
