"""Who may do what: Slack user IDs and user-group IDs from settings, mapped to roles.

User groups (S…) are expanded through a lookup the front end supplies (Slack:
``usergroups.users.list``), cached for a few minutes so a click costs no Slack call; callers
that need a group at the same moment share one look-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from circuitbot.actions.registry import Role
from circuitbot.clock import Clock, SystemClock
from circuitbot.settings import Settings

log = logging.getLogger(__name__)

GroupMembers = Callable[[str], Awaitable[set[str]]]


class RoleResolver:
    def __init__(
        self,
        settings: Settings,
        group_members: GroupMembers | None = None,
        *,
        clock: Clock | None = None,
        cache_seconds: float = 300.0,
    ) -> None:
        self.settings = settings
        self.group_members = group_members
        self.clock = clock or SystemClock()
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, set[str]]] = {}
        self._lookups: dict[str, asyncio.Task[set[str]]] = {}  # look-ups under way, one per group

    async def roles(self, user_id: str, *, cached_only: bool = False) -> frozenset[Role]:
        """The user's roles. ``cached_only`` answers from what is known now, never waiting on
        Slack: for work that must finish before an ack (a cold group counts as not a member for
        this answer, and is looked up in the background for the next one)."""
        roles = {Role.READER}
        s = self.settings
        if await self._member(user_id, s.admins, cached_only):
            roles |= {Role.ADMIN, Role.APPROVER, Role.REQUESTER}
        if await self._member(user_id, s.approvers, cached_only):
            roles.add(Role.APPROVER)
        if not s.requesters or await self._member(user_id, s.requesters, cached_only):
            roles.add(Role.REQUESTER)
        return frozenset(roles)

    async def _member(self, user_id: str, ids: list[str], cached_only: bool) -> bool:
        if user_id in ids:
            return True
        for group in (i for i in ids if i.startswith("S")):
            if user_id in await self._group(group, cached_only):
                return True
        return False

    async def _group(self, group_id: str, cached_only: bool = False) -> set[str]:
        if self.group_members is None:
            return set()
        cached = self._cache.get(group_id)
        if cached and self.clock.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        lookup = self._lookups.get(group_id)
        if lookup is None or lookup.get_loop() is not asyncio.get_running_loop():  # one per loop
            # (``serve`` asks on two loops: cached before the ack, in full on the work loop)
            lookup = asyncio.get_running_loop().create_task(self._look_up(group_id, self.group_members))
            self._lookups[group_id] = lookup
            lookup.add_done_callback(lambda _t: self._lookups.pop(group_id, None))
        if cached_only:
            return cached[1] if cached else set()
        return await asyncio.shield(lookup)  # a caller that gives up leaves the look-up to the rest

    async def _look_up(self, group_id: str, read: GroupMembers) -> set[str]:
        """One read of a group for every caller waiting on it at once; cached for later ones."""
        cached = self._cache.get(group_id)
        now = self.clock.monotonic()
        try:
            members = await read(group_id)
        except Exception as exc:  # a Slack hiccup must not grant or deny forever
            log.warning("could not read user group %s: %s", group_id, exc)
            return cached[1] if cached else set()
        self._cache[group_id] = (now, members)
        return members
