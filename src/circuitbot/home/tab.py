"""Keeping each person's Home current.

Opening the Home records the person as a viewer (a row, so every replica knows) and publishes
their Home. After that, every change that could alter a Home already leaves an outbox row (an
approval card edited, a watch's transition): when the sender has delivered rows, the Homes of
the viewers they concern are published again: a request's requester and every viewer who may
approve, a watch's creator. Publishing is best effort and never holds up delivery: a failed
publish is logged, and the Home is built afresh the next time anything changes or it is opened.
Bursts coalesce: one refresh runs at a time and takes every user noted meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from circuitbot.actions.registry import Role
from circuitbot.home.view import home_blocks, home_view
from circuitbot.store.db import rows_changed
from circuitbot.store.tables import ApprovalRequest, HomeViewer, Watch
from circuitbot.watch.delivery import Claimed

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], Awaitable[object]]  # (user id, view) -> views.publish


class HomeTab:
    def __init__(self, runtime: Runtime, publish: Publish) -> None:
        self.runtime = runtime
        self.publish = publish
        self._requests: set[str] = set()
        self._watches: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    async def opened(self, user_id: str) -> None:
        """``user_id`` opened their Home: remember them as a viewer and show it as it stands."""
        await self._remember(user_id)
        await self.show(user_id)

    async def show(self, user_id: str) -> None:
        await self.publish(user_id, home_view(await home_blocks(self.runtime, user_id)))

    def delivered(self, rows: Sequence[Claimed]) -> None:
        """The sender delivered ``rows``: refresh the Homes they concern, in the background."""
        self._requests.update(r.request_id for r in rows if r.request_id)
        self._watches.update(r.watch_id for r in rows if r.watch_id is not None)
        if (self._requests or self._watches) and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._refresh_all(), name="home-refresh")

    async def settle(self) -> None:
        """Wait for the refresh under way, if any (tests; shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _refresh_all(self) -> None:
        while self._requests or self._watches:
            requests, self._requests = self._requests, set()
            watches, self._watches = self._watches, set()
            try:
                users = await self._concerned(requests, watches)
            except Exception:
                log.exception("could not tell whose Home to refresh")
                continue
            for user_id in sorted(users):
                try:
                    await self.show(user_id)
                except Exception as exc:
                    log.warning("could not refresh the Home of %s: %s", user_id, type(exc).__name__)

    async def _concerned(self, requests: Iterable[str], watches: Iterable[int]) -> set[str]:
        requests, watches = list(requests), list(watches)
        async with self.runtime.db.session() as session:
            viewers = set(await session.scalars(select(HomeViewer.user_id)))
            if not viewers:
                return set()
            users: set[str] = set()
            if requests:
                users |= set(
                    await session.scalars(
                        select(ApprovalRequest.requester).where(ApprovalRequest.id.in_(requests))
                    )
                )
            if watches:
                users |= set(await session.scalars(select(Watch.created_by).where(Watch.id.in_(watches))))
        if requests:
            for viewer in viewers - users:
                if Role.APPROVER in await self.runtime.roles.roles(viewer, cached_only=True):
                    users.add(viewer)
        return users & viewers

    async def _remember(self, user_id: str) -> None:
        now = self.runtime.clock.now()
        try:
            async with self.runtime.db.session() as session:
                again = update(HomeViewer).where(HomeViewer.user_id == user_id).values(opened_at=now)
                if not await rows_changed(session, again):
                    session.add(HomeViewer(user_id=user_id, opened_at=now))
        except IntegrityError:  # another replica recorded the same first visit
            pass
