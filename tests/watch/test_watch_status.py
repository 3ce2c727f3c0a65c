"""Watch statuses: every move the engine and the outbox make is an allowed one, and a move the
table forbids is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from watch_support import FakePoller, drain, poll_when_due

from circuitbot.actions.registry import WatchTarget
from circuitbot.clock import FakeClock
from circuitbot.store.tables import Watch
from circuitbot.watch.engine import WatchEngine
from circuitbot.watch.status import TRANSITIONS, ForbiddenTransition, WatchStatus
from support.poster import RecordingPoster

CHANNEL = "COPS"
ACTIVE, PAUSED, ENDED = WatchStatus.ACTIVE, WatchStatus.PAUSED, WatchStatus.ENDED


@pytest.fixture
def moves(monkeypatch) -> list[tuple[WatchStatus, WatchStatus]]:
    """Every status move asked for while the test runs, allowed or not."""
    asked: list[tuple[WatchStatus, WatchStatus]] = []
    become = WatchStatus.become

    def recording(self: WatchStatus, new: WatchStatus) -> WatchStatus:
        asked.append((self, new))
        return become(self, new)

    monkeypatch.setattr(WatchStatus, "become", recording)
    return asked


async def stored(engine: WatchEngine) -> dict[str, str]:
    async with engine.runtime.db.session() as session:
        return {w.resource_id: w.status for w in (await session.execute(select(Watch))).scalars()}


async def test_each_move_the_engine_makes_is_allowed(
    engine: WatchEngine,
    poller: FakePoller,
    poster: RecordingPoster,
    clock: FakeClock,
    moves: list[tuple[WatchStatus, WatchStatus]],
) -> None:
    async def watch(resource_id: str) -> None:
        await engine.watch(WatchTarget("azure", resource_id), CHANNEL, created_by="UREQ")
        await drain(engine, clock)

    poller.set("xc1", provisioningState="Creating")
    poller.set("xc2", provisioningState="Creating")
    poller.set("xc3", provisioningState="Creating")
    for resource_id in ("xc1", "xc2", "xc3"):
        await watch(resource_id)
    poster.gone_channels.add(CHANNEL)  # the channel goes: the watches with news there pause
    poller.update("xc1", provisioningState="Updating")
    poller.update("xc2", provisioningState="Updating")
    await poll_when_due(engine, clock, 60)
    await drain(engine, clock)
    assert await stored(engine) == {"xc1": PAUSED, "xc2": PAUSED, "xc3": ACTIVE}

    poster.gone_channels.clear()
    await watch("xc1")  # resumed
    await engine.unwatch("azure", "xc2", CHANNEL, by="UREQ")  # paused, then stopped
    await engine.unwatch("azure", "xc3", CHANNEL, by="UREQ")  # active, then stopped
    poller.update("xc1", provisioningState="Deprovisioned")  # active, then at its end
    await poll_when_due(engine, clock, 600)

    assert await stored(engine) == {"xc1": ENDED, "xc2": ENDED, "xc3": ENDED}
    assert set(moves) == {(ACTIVE, PAUSED), (PAUSED, ACTIVE), (PAUSED, ENDED), (ACTIVE, ENDED)}
    assert all(new in TRANSITIONS[old] for old, new in moves)


async def test_an_ended_watch_stays_ended_and_watching_again_starts_a_new_one(
    engine: WatchEngine, poller: FakePoller
) -> None:
    poller.set("xc1", provisioningState="Succeeded")
    first = await engine.watch(WatchTarget("azure", "xc1"), CHANNEL, created_by="UREQ")
    await engine.unwatch("azure", "xc1", CHANNEL, by="UREQ")
    again = await engine.watch(WatchTarget("azure", "xc1"), CHANNEL, created_by="UREQ")
    assert again.created and again.id != first.id and again.status == ACTIVE


@pytest.mark.parametrize(
    ("old", "new"), [(ENDED, ACTIVE), (ENDED, PAUSED), (ACTIVE, ACTIVE), (PAUSED, PAUSED)]
)
def test_a_forbidden_move_is_refused(old: WatchStatus, new: WatchStatus) -> None:
    assert not old.may_become(new)
    with pytest.raises(ForbiddenTransition, match=f"from {old} to {new}"):
        old.become(new)


def test_the_stored_strings_stay_the_same() -> None:
    assert [s.value for s in WatchStatus] == ["active", "paused", "ended"]
