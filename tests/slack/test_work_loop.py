"""The work loop: ``serve`` keeps the runtime and the work after each ack on a loop in a thread of
its own, so an ack never waits behind earlier commands' work, even work that holds its thread."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from circuitbot.settings import Settings
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.server import attach_slack
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import app_home_opened_body, signed_request_headers
from circuitbot.workloop import WorkLoop
from support.slack_bot import BOT_TOKEN, REQUESTER, SIGNING_SECRET, SlackBot

SAFETY_SECONDS = 30.0  # a bound on waiting for the other thread, never a measured time
KEY = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


@pytest.fixture
async def work_loop() -> AsyncIterator[WorkLoop]:
    loop = WorkLoop()
    loop.start()
    yield loop
    await loop.stop()


async def test_work_runs_on_the_other_thread_with_the_callers_context(work_loop: WorkLoop) -> None:
    async def where() -> tuple[str, str, bool]:
        return threading.current_thread().name, marker.get(), work_loop.on_loop()

    marker.set("from the request")
    thread, seen, on_loop = await work_loop.run(where())
    assert (thread, seen, on_loop) == ("circuitbot-work", "from the request", True)
    assert not work_loop.on_loop()


async def test_a_failure_of_the_work_reaches_the_caller(work_loop: WorkLoop) -> None:
    async def fail() -> None:
        raise LookupError("no such circuit")

    with pytest.raises(LookupError, match="no such circuit"):
        await work_loop.run(fail())


async def test_stopping_cancels_work_still_running(work_loop: WorkLoop) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    waiter = asyncio.create_task(work_loop.run(forever()))
    assert await asyncio.to_thread(started.wait, SAFETY_SECONDS)
    await work_loop.stop()
    assert cancelled.is_set()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_an_ack_never_waits_behind_work_holding_the_work_loop(
    tmp_path: Path, work_loop: WorkLoop
) -> None:
    """`az show` reaches the provider and holds the work loop's thread there (as CPU-bound work
    would); meanwhile `az ports` and `help` are acked, and both get their final replies once the
    work loop is free again."""
    entered, release, left = threading.Event(), threading.Event(), threading.Event()
    slack = FakeSlack()
    async with slack.serve() as api_url:
        settings = bot_settings(tmp_path, api_url)
        clock = FakeClock()
        runtime = await work_loop.run(build_runtime(settings, sandbox=True, clock=clock))
        hold_the_thread(runtime.sandbox["azure"], entered, release, left)
        work = BackgroundWork()
        bot = SlackBot(
            attach_slack(runtime, settings, work=work, offload=work_loop.run), slack, runtime, work, clock
        )
        try:
            await bot.slash(f"az show {KEY}")
            assert await asyncio.to_thread(entered.wait, SAFETY_SECONDS)
            ports = await bot.slash("az ports")  # acked while the work loop's thread is held
            helped = await bot.slash("help")
            assert not left.is_set() and ports.status == helped.status == 200  # still held
            assert "/circuit" in helped.body
            release.set()
            assert await work.drain(timeout=SAFETY_SECONDS)
        finally:
            release.set()
            await work_loop.run(runtime.close())
    told = bot.told()
    assert f"Azure circuit {KEY}" in told and "4 port pairs" in told


def bot_settings(tmp_path: Path, api_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=api_url,
        requesters=[REQUESTER],
    )


def hold_the_thread(
    simulator: Any, entered: threading.Event, release: threading.Event, left: threading.Event
) -> None:
    """The simulator's first read of a cross-connection blocks its thread until ``release``
    (``left`` once it goes on)."""
    answer = simulator._asgi

    async def held(scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and "expressRouteCrossConnections" in scope["path"]
            and not entered.is_set()
        ):
            entered.set()
            release.wait(SAFETY_SECONDS)  # blocking on purpose: nothing else runs on this loop meanwhile
            left.set()
        await answer(scope, receive, send)

    simulator._asgi = held


async def test_the_home_is_read_on_the_work_loop(tmp_path: Path, work_loop: WorkLoop) -> None:
    """``app_home_opened`` is acked on Slack's loop; the Home is built where the database lives."""
    slack = FakeSlack()
    async with slack.serve() as api_url:
        settings = bot_settings(tmp_path, api_url)
        runtime = await work_loop.run(build_runtime(settings, sandbox=True, clock=FakeClock()))
        threads: list[str] = []

        class Recording(type(runtime.roles)):  # type: ignore[misc]
            async def roles(self, user_id: str, *, cached_only: bool = False) -> Any:
                threads.append(threading.current_thread().name)
                return await super().roles(user_id, cached_only=cached_only)

        work = BackgroundWork()
        app = attach_slack(runtime, settings, work=work, offload=work_loop.run)
        runtime.roles.__class__ = Recording
        try:
            body = app_home_opened_body(REQUESTER)
            headers = signed_request_headers(SIGNING_SECRET, body, content_type="application/json")
            response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
            assert response.status == 200
            for _ in range(int(SAFETY_SECONDS * 100)):
                if REQUESTER in slack.homes:
                    break
                await asyncio.sleep(0.01)
        finally:
            await work_loop.run(runtime.close())
    assert "Your recent requests" in str(slack.homes[REQUESTER]["blocks"])
    assert threads and set(threads) == {"circuitbot-work"}
