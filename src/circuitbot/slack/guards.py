"""Checks every Slack request passes before a listener sees it.

Bolt verifies the signature and the five-minute window. These guards add what it leaves out:

- a request is read at most once: a signed request sent again within the window (a replay)
  is refused with 401, remembered in a bounded cache of signatures already seen;
- requests come only from the workspaces and Enterprise Grid orgs the settings allow;
- a payload whose shape the listeners cannot read (no user, ``actions`` not a list, a view's
  ``private_metadata`` that is not a JSON object…) is refused with 400 and one log line,
  instead of failing in a listener with a traceback.

``read_request`` builds Bolt's request from the raw HTTP body: Bolt parses the body in its
request's constructor, before any middleware, so a body that is not JSON is refused there.
The replay cache is per process: across replicas, Slack's own five-minute window still holds.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from circuitbot.settings import Settings

log = logging.getLogger(__name__)

# Bolt refuses timestamps more than five minutes off, so a signature needs remembering that long.
REPLAY_WINDOW_SECONDS = 5 * 60
SEEN_SIGNATURES = 50_000  # far above Slack's traffic for one app in five minutes; bounds memory
FOREIGN_WORKSPACE = "this Slack workspace is not allowed to use circuitbot"


class SeenSignatures:
    """The signatures of requests read in the last ``window`` seconds, at most ``capacity`` of
    them (the oldest are forgotten first)."""

    def __init__(
        self,
        *,
        window: float = REPLAY_WINDOW_SECONDS,
        capacity: int = SEEN_SIGNATURES,
        now: Callable[[], float] = time.time,  # Bolt checks timestamps on the wall clock too
    ) -> None:
        self.window = window
        self.capacity = capacity
        self.now = now
        self._until: OrderedDict[str, float] = OrderedDict()  # signature → when it may be forgotten

    def __len__(self) -> int:
        return len(self._until)

    def first_time(self, signature: str, timestamp: float) -> bool:
        """Remember ``signature``; False when it was seen before (a replay)."""
        now = self.now()
        while self._until and (next(iter(self._until.values())) < now or len(self._until) >= self.capacity):
            self._until.popitem(last=False)
        if signature in self._until:
            return False
        # A timestamp ahead of the clock is accepted by Bolt for as long as one behind it.
        self._until[signature] = max(now, timestamp) + self.window
        return True


def refused(status: int, what: str, reason: str) -> BoltResponse:
    """A refusal: one log line, and a body that tells a caller nothing it did not send."""
    log.warning("refused %s: %s", what, reason)
    return BoltResponse(status=status, body="")


def read_request(
    raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str], signing_secret: str
) -> AsyncBoltRequest | BoltResponse:
    """Bolt's request for an HTTP body, or the refusal of a body Bolt cannot parse: 401 when it
    is not signed either, else 400."""
    try:
        return AsyncBoltRequest(body=raw_body.decode("utf-8"), query=dict(query), headers=dict(headers))
    except (ValueError, TypeError, AttributeError, KeyError) as exc:  # JSON, UTF-8 or its shape
        verifier = SignatureVerifier(signing_secret)
        signed = verifier.is_valid(
            raw_body, headers.get("x-slack-request-timestamp", "0"), headers.get("x-slack-signature", "")
        )
        if not signed:
            return refused(401, "a request", "bad signature")
        return refused(400, "a signed request", f"its body cannot be parsed ({type(exc).__name__})")


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _user_id(body: dict[str, Any]) -> Any:
    user = body.get("user")
    return user.get("id") if isinstance(user, dict) else None


def _action_problem(body: dict[str, Any]) -> str | None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return "actions is not a non-empty list"
    if not all(_is_object(a) and isinstance(a.get("action_id"), str) for a in actions):
        return "an action has no action_id"
    for key in ("container", "message", "channel"):
        if body.get(key) is not None and not _is_object(body[key]):
            return f"{key} is not an object"
    return None


def _view_problem(body: dict[str, Any]) -> str | None:
    view = body.get("view")
    if not isinstance(view, dict):
        return "view is not an object"
    metadata = view.get("private_metadata") or ""
    try:
        parsed = json.loads(metadata) if metadata else {}
    except (TypeError, ValueError):
        parsed = None
    if not _is_object(parsed):  # every view the bot opens carries a JSON object, or nothing
        return "private_metadata is not a JSON object"
    return None


def malformed(body: dict[str, Any]) -> str | None:
    """Why the listeners could not read this payload, or None when they can."""
    if "command" in body:
        user_id = body.get("user_id")
        return None if isinstance(user_id, str) and user_id else "a slash command without user_id"
    kind = body.get("type")
    if kind not in ("block_actions", "view_submission", "view_closed"):
        return None  # not ours to read: Bolt answers what no listener handles
    user_id = _user_id(body)
    if not isinstance(user_id, str) or not user_id:
        return f"{kind} without user.id"
    return _action_problem(body) if kind == "block_actions" else _view_problem(body)


def _enterprise_id(body: dict[str, Any], context: Mapping[str, Any]) -> str | None:
    """The org a request comes from. Bolt reads it from ``enterprise`` and ``enterprise_id``
    but not from a block action's ``team.enterprise_id``, so that is read here."""
    team = body.get("team")
    nested = team.get("enterprise_id") if isinstance(team, dict) else None
    return context.get("enterprise_id") or nested


class RequestGuards(AsyncMiddleware):
    """The guards, as one Bolt middleware placed before every other one of ours: it runs after
    Bolt's signature check, before any listener. A class, not a function: Bolt builds a function
    middleware's arguments from the payload (``body["actions"][0]``…), which a malformed payload
    breaks before the function runs."""

    def __init__(self, settings: Settings, seen: SeenSignatures | None = None) -> None:
        self.seen = seen if seen is not None else SeenSignatures()
        self.teams = set(settings.allowed_team_ids)
        self.orgs = set(settings.allowed_enterprise_ids)

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        if req.mode == "http" and self._replayed(req):  # Socket Mode comes over our own connection
            return refused(401, "a request", "replayed (its signature was seen already)")
        problem = malformed(req.body)
        if problem is not None:
            return refused(400, "a signed request", problem)
        team, org = req.context.team_id, _enterprise_id(req.body, req.context)
        if (self.teams and team not in self.teams) or (self.orgs and org not in self.orgs):
            log.warning("refused a request from team %s, enterprise %s: not allowed", team, org)
            if "command" in req.body:  # a person typed it: tell them why nothing happens
                refusal = {"response_type": "ephemeral", "text": FOREIGN_WORKSPACE}
                return BoltResponse(status=200, body=refusal)
            return BoltResponse(status=403, body="")
        return await next()

    def _replayed(self, req: AsyncBoltRequest) -> bool:
        signature = req.headers.get("x-slack-signature", [""])[0]
        timestamp = req.headers.get("x-slack-request-timestamp", ["0"])[0]
        return not self.seen.first_time(signature, float(timestamp))
