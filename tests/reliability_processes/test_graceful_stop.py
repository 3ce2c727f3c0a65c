"""SIGTERM to a real ``circuitbot serve`` in the middle of its work: during a sweep whose provider
reads outlast the grace, and during an approved change. It exits 0 and leaves no claimed row
behind: the sweep's watches are due again at once, the change ran to its end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from process_support import APPROVERS, REQUESTER, approve_click, cards, command, request_row, seed_watches
from sqlalchemy import func, select

from circuitbot.approvals.status import RequestStatus
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import World
from circuitbot.store.db import Database
from circuitbot.store.tables import Watch
from circuitbot.testing.fake_slack import FakeSlack
from support.processes import BotProcess, bot_env, wait_until

LEASED = timedelta(seconds=60)  # a claimed watch is due two minutes on; a normal schedule, 30 s at most
WATCH = {
    "watch__tick_seconds": "1",
    "watch__fast_interval_seconds": "15",
    "watch__slow_interval_seconds": "30",
}


async def leased_watches(db: Database) -> int:
    async with db.session() as session:
        later = datetime.now(UTC) + LEASED
        return (
            await session.scalar(select(func.count()).select_from(Watch).where(Watch.next_poll_at > later))
            or 0
        )


async def test_sigterm_during_a_sweep_gives_its_watches_back(
    migrated: str,
    tmp_path,
    fake_slack: FakeSlack,
    slack_api_url: str,
    world: World,
    simulator: AzureSimulator,
    azure_url: str,
) -> None:
    db = Database(migrated)
    try:
        await seed_watches(db, fake_slack, simulator, [c.service_key for c in world.circuits[:20]])
        simulator.faults = FaultConfig(latency_ms=25_000)  # every read outlasts the 10 s grace
        env = bot_env(
            data_dir=tmp_path,
            database_url=migrated,
            slack_api_url=slack_api_url,
            azure_url=azure_url,
            world=world,
            **WATCH,
        )
        bot = await BotProcess.start("stopping", env)
        await wait_until(lambda: leased_watches(db), "a sweep under way")
        code = await bot.stop()
        left = await leased_watches(db)
    finally:
        simulator.faults = FaultConfig()
        await db.dispose()

    assert code == 0, bot.log()
    assert left == 0, "the sweep cut short gave its watches back"
    assert "claimed watch(es) given back" in bot.log()
    assert bot.tracebacks() == []


async def test_sigterm_during_an_approved_change_lets_it_finish(
    migrated: str,
    tmp_path,
    fake_slack: FakeSlack,
    slack_api_url: str,
    world: World,
    simulator: AzureSimulator,
    azure_url: str,
) -> None:
    env = bot_env(
        data_dir=tmp_path,
        database_url=migrated,
        slack_api_url=slack_api_url,
        azure_url=azure_url,
        world=world,
        requesters=REQUESTER,
        approvers=APPROVERS[0],
        approvals_channel="CAPPROVALS",
    )
    key = world.circuits[0].service_key
    bot = await BotProcess.start("stopping", env)
    await bot.send(command(fake_slack, f"az notes {key} before the stop"))
    (request_id, ts), *_ = (await wait_until(lambda: cards(fake_slack), "the approval card")).items()
    simulator.faults = FaultConfig(latency_ms=2_000)  # the change takes several seconds
    db = Database(migrated)
    try:
        await bot.send(approve_click(fake_slack, request_id, APPROVERS[0], ts))

        async def executing() -> bool:
            row = await request_row(db, request_id)
            return row is not None and row.status == RequestStatus.EXECUTING

        await wait_until(executing, "the change under way")
        code = await bot.stop()
        row = await request_row(db, request_id)
    finally:
        simulator.faults = FaultConfig()
        await db.dispose()

    assert code == 0, bot.log()
    assert row is not None and row.status == RequestStatus.SUCCEEDED, "finished within the grace"
    assert simulator.cross_connection(key).notes == "before the stop"
    assert bot.tracebacks() == []
