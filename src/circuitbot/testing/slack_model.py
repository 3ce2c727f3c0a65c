"""The in-memory Slack workspace behind the fake Web API, and the Web API methods over it.

Channels hold messages with threads, edits and deletes; there are ephemeral messages, modals,
users, user groups and channel details. ``FakeSlack`` serves this model over HTTP; the model
itself knows nothing of requests, tokens or faults.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from circuitbot.clock import Clock, SystemClock
from circuitbot.testing.workspace import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, Workspace

# Each generated ts is 100 µs after the previous one: unique, increasing, and Slack-shaped.
_TS_EPOCH = 1_700_000_000
MAX_HOME_BLOCKS = 100  # a Home tab view holds at most 100 blocks
_TS_STEP_MICROS = 100
_DEFAULT_PAGE = 100  # conversations.history / replies page size when no limit is given
_MAX_PAGE = 999


class SlackError(Exception):
    """A Slack API error answer: HTTP 200 with ``{"ok": false, "error": code}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ResponseTarget:
    """What a response_url was issued for, so a POST to it can act on that message."""

    channel: str | None
    message_ts: str | None
    user: str | None


class SlackModel:
    """An in-memory Slack workspace.

    Channels are permissive: any id is a public channel the bot may post to (``chat:write.public``
    needs no membership), except those listed in ``unknown_channels`` (``channel_not_found``) or
    ``archived_channels`` (``is_archived``). A channel in ``private_channels`` is hidden from the
    bot, as Slack hides it (``channel_not_found`` everywhere), until the bot is a member: in
    ``joined_channels``, where an ``/invite`` puts it. All are plain sets a test may change at any
    time.

    Message ts values count up from a fixed epoch, unless a ``clock`` is given: then each is the
    clock's time (at least one step after the previous), so ``oldest``/``latest`` windows in
    ``conversations.history`` and ``conversations.replies`` line up with the test's clock.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        usergroups: Mapping[str, Iterable[str]] | None = None,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        channels: Mapping[str, Mapping[str, Any]] | None = None,
        archived_channels: Iterable[str] = (),
        unknown_channels: Iterable[str] = (),
        private_channels: Iterable[str] = (),
        team_id: str = TEAM_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        app_id: str = APP_ID,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._ts_from_clock = clock is not None
        self._last_ts_micros = 0
        self.workspace = Workspace(team_id=team_id, bot_user_id=bot_user_id, bot_id=bot_id, app_id=app_id)
        self.usergroups: dict[str, list[str]] = {k: list(v) for k, v in (usergroups or {}).items()}
        self.users: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (users or {}).items()}
        self.channels: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (channels or {}).items()}
        self.archived_channels: set[str] = set(archived_channels)
        self.unknown_channels: set[str] = set(unknown_channels)
        self.private_channels: set[str] = set(private_channels)
        self.unknown_users: set[str] = set()
        self.joined_channels: set[str] = set()
        self.views: dict[str, dict[str, Any]] = {}
        self.homes: dict[str, dict[str, Any]] = {}  # user id -> their Home tab as last published

        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._used_trigger_ids: set[str] = set()
        self._ts_counter = itertools.count(1)
        self._view_counter = itertools.count(1)
        self._hash_counter = itertools.count(1)
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
        }

    # ------------------------------------------------------------------ state seen by tests

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages currently in Slack (after edits and deletes), thread replies included, by ts.

        Each is Slack's message object plus a ``channel`` key.
        """
        found = [m for (ch, _), m in self._messages.items() if channel is None or ch == channel]
        return [copy.deepcopy(m) for m in sorted(found, key=lambda m: (m["channel"], m["ts"]))]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        found = self._messages.get((channel, ts))
        return copy.deepcopy(found) if found is not None else None

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies in the thread under ``ts`` (the parent itself excluded), oldest first."""
        return [m for m in self.messages(channel) if m.get("thread_ts") == ts and m["ts"] != ts]

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(e)
            for e in self._ephemerals
            if (channel is None or e["channel"] == channel) and (user is None or e.get("user") == user)
        ]

    # ------------------------------------------------------------------ helpers for the model

    def _next_ts(self) -> str:
        if self._ts_from_clock:
            now = round(self.clock.now().timestamp() * 1_000_000)
            micros = max(now, self._last_ts_micros + _TS_STEP_MICROS)
        else:
            micros = _TS_EPOCH * 1_000_000 + next(self._ts_counter) * _TS_STEP_MICROS
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _writable_channel(self, args: dict[str, Any]) -> str:
        channel = args.get("channel")
        if not channel:
            raise SlackError("channel_not_found")
        self._check_channel(channel)
        return channel

    def _check_channel(self, channel: str) -> None:
        self._check_visible(channel)
        if channel in self.archived_channels:
            raise SlackError("is_archived")

    def _stored_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(args)
        message = self._messages.get((channel, str(args.get("ts", ""))))
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _new_message(self, channel: str, content: Mapping[str, Any]) -> dict[str, Any]:
        if not any(content.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        ws = self.workspace
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": content.get("text") or "",
            "user": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "app_id": ws.app_id,
            "team": ws.team_id,
            "ts": self._next_ts(),
        }
        for key in ("blocks", "attachments", "metadata"):
            if content.get(key) is not None:
                message[key] = content[key]
        thread_ts = content.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            message["parent_user_id"] = ws.bot_user_id
            parent = self._messages.get((channel, str(thread_ts)))
            if parent is not None:
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]
        self._messages[(channel, message["ts"])] = {**message, "channel": channel}
        return message

    def _view_object(self, view: Any, *, view_id: str, previous: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise SlackError("invalid_arguments")
        ws = self.workspace
        return {
            "id": view_id,
            "team_id": ws.team_id,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{_TS_EPOCH}.{next(self._hash_counter):08d}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous.get("previous_view_id") if previous else None,
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "app_id": ws.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": ws.team_id,
            "bot_id": ws.bot_id,
        }

    def _new_view(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger_id = args.get("trigger_id")
        if not trigger_id:
            raise SlackError("invalid_arguments")
        if trigger_id in self._used_trigger_ids:
            raise SlackError("exchanged_trigger_id")
        view_id = f"V{next(self._view_counter):010d}"
        view = self._view_object(args.get("view"), view_id=view_id, previous=None)
        self._used_trigger_ids.add(trigger_id)
        self.views[view_id] = view
        return view

    def _apply_response(self, target: ResponseTarget | None, body: dict[str, Any]) -> None:
        if target is None or target.channel is None:
            return
        original = (target.channel, target.message_ts or "")
        if body.get("delete_original") in (True, "true") and original in self._messages:
            del self._messages[original]
        elif body.get("replace_original") in (True, "true") and original in self._messages:
            message = self._messages[original]
            for key in ("text", "blocks", "attachments"):
                if key in body:
                    message[key] = body[key]
        elif body.get("response_type") == "in_channel":
            self._new_message(target.channel, body)
        else:
            self._ephemerals.append(
                {
                    "channel": target.channel,
                    "user": target.user,
                    "ts": self._next_ts(),
                    "text": body.get("text", ""),
                    **({"blocks": body["blocks"]} if "blocks" in body else {}),
                }
            )

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.workspace
        return {
            "url": f"https://{ws.team_domain}.slack.com/",
            "team": "circuitbot sandbox",
            "user": "circuitbot",
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(args)
        message = self._new_message(channel, args)
        return {"channel": channel, "ts": message["ts"], "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._stored_message(args)
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in args:
                message[key] = args[key]
        message["edited"] = {"user": self.workspace.bot_user_id, "ts": self._next_ts()}
        public = {k: v for k, v in message.items() if k != "channel"}
        return {
            "channel": message["channel"],
            "ts": message["ts"],
            "text": message["text"],
            "message": public,
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(args)
        user = args.get("user")
        if not user:
            raise SlackError("user_not_in_channel")
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        ts = self._next_ts()
        ephemeral = {"channel": channel, "user": user, "ts": ts, "text": args.get("text", "")}
        for key in ("blocks", "attachments", "thread_ts"):
            if args.get(key) is not None:
                ephemeral[key] = args[key]
        self._ephemerals.append(ephemeral)
        return {"message_ts": ts}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._stored_message(args)
        del self._messages[(message["channel"], message["ts"])]
        return {"channel": message["channel"], "ts": message["ts"]}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"view": self._new_view(args)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"view": self._new_view(args)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        """A user's Home tab: a ``home`` view of at most 100 blocks with distinct block ids."""
        user_id, view = args.get("user_id"), args.get("view")
        if not user_id or not isinstance(view, dict) or view.get("type") != "home":
            raise SlackError("invalid_arguments")
        if user_id in self.unknown_users:
            raise SlackError("user_not_found")
        blocks = view.get("blocks") or []
        block_ids = [b["block_id"] for b in blocks if isinstance(b, dict) and "block_id" in b]
        if len(blocks) > MAX_HOME_BLOCKS or len(block_ids) != len(set(block_ids)):
            raise SlackError("invalid_blocks")
        current = self.homes.get(user_id)
        view_id = current["id"] if current else f"V{next(self._view_counter):010d}"
        self.homes[user_id] = self._view_object(view, view_id=view_id, previous=current)
        return {"view": self.homes[user_id]}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        current: dict[str, Any] | None = None
        if args.get("view_id"):
            current = self.views.get(args["view_id"])
        elif args.get("external_id"):
            current = next((v for v in self.views.values() if v["external_id"] == args["external_id"]), None)
        else:
            raise SlackError("invalid_arguments")
        if current is None:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        updated = self._view_object(args.get("view"), view_id=current["id"], previous=current)
        self.views[current["id"]] = updated
        return {"view": updated}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user")
        if not user_id or user_id in self.unknown_users:
            raise SlackError("user_not_found")
        name = str(user_id).lower()
        user = {
            "id": user_id,
            "team_id": self.workspace.team_id,
            "name": name,
            "deleted": False,
            "real_name": name,
            "tz": "Etc/UTC",
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "profile": {"real_name": name, "display_name": name},
        }
        user.update(copy.deepcopy(self.users.get(user_id, {})))
        return {"user": user}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = args.get("usergroup")
        if group not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _check_visible(self, channel: str) -> None:
        """Slack answers channel_not_found for a channel that does not exist and, alike, for a
        private channel the bot is not a member of."""
        if channel in self.unknown_channels or (
            channel in self.private_channels and channel not in self.joined_channels
        ):
            raise SlackError("channel_not_found")

    def _channel_object(self, channel: str) -> dict[str, Any]:
        """The channel as ``conversations.info`` shows it (Slack's documented fields)."""
        self._check_visible(channel)
        private = channel in self.private_channels
        # Private channels made before March 2021 have G ids and are "groups"; later ones are channels.
        group = private and channel.startswith("G")
        empty_text = {"value": "", "creator": "", "last_set": 0}
        info = {
            "id": channel,
            "name": channel.lower(),
            "is_channel": not group,
            "is_group": group,
            "is_im": False,
            "is_mpim": False,
            "is_private": private,
            "created": _TS_EPOCH,
            "is_archived": channel in self.archived_channels,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": channel.lower(),
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.workspace.team_id,
            "updated": _TS_EPOCH * 1000,
            "parent_conversation": None,
            "creator": "",
            "is_ext_shared": False,
            "shared_team_ids": [self.workspace.team_id],
            "pending_connected_team_ids": [],
            "is_member": channel in self.joined_channels,
            "topic": dict(empty_text),
            "purpose": dict(empty_text),
            "previous_names": [],
        }
        info.update(copy.deepcopy(self.channels.get(channel, {})))
        return info

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel_object(str(args.get("channel", "")))}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(args)
        self.joined_channels.add(channel)
        return {"channel": self._channel_object(channel)}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """The channel's messages, newest first; thread replies are not in it (as in Slack)."""
        channel = str(args.get("channel", ""))
        self._channel_object(channel)
        found = [
            m
            for (ch, _), m in self._messages.items()
            if ch == channel and m.get("thread_ts", m["ts"]) == m["ts"]
        ]
        return self._message_page(sorted(found, key=lambda m: float(m["ts"]), reverse=True), args)

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent, then its replies, oldest first."""
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        self._channel_object(channel)
        if (channel, ts) not in self._messages:
            raise SlackError("thread_not_found")
        found = [
            m
            for (ch, _), m in self._messages.items()
            if ch == channel and (m["ts"] == ts or m.get("thread_ts") == ts)
        ]
        return self._message_page(sorted(found, key=lambda m: float(m["ts"])), args)

    def _message_page(self, ordered: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
        """One page of ``ordered`` within ``oldest``/``latest`` (``inclusive``), ``limit`` long,
        continued by ``cursor``. Metadata only with ``include_all_metadata``, as Slack does."""
        inclusive = _flag(args.get("inclusive"))
        oldest = float(args.get("oldest") or 0)
        latest = float(args["latest"]) if args.get("latest") else float("inf")

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        window = [m for m in ordered if within(float(m["ts"]))]
        start = int(args.get("cursor") or 0)
        limit = min(int(args.get("limit") or _DEFAULT_PAGE), _MAX_PAGE)
        page = window[start : start + limit]
        more = start + limit < len(window)
        metadata = _flag(args.get("include_all_metadata"))
        messages = [
            {k: copy.deepcopy(v) for k, v in m.items() if k != "channel" and (metadata or k != "metadata")}
            for m in page
        ]
        return {
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }


def _flag(value: Any) -> bool:
    """A boolean argument as Slack reads it: true, "true" or "1"."""
    return value is True or str(value).lower() in ("true", "1")
