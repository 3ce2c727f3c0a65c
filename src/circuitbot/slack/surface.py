"""One Slack interaction as a chat Surface: where its answers and modals go.

Answers go through the interaction's response_url (Bolt's ``respond``), which reaches the
caller even in channels the bot has not joined. Without one (view submissions), or when it
fails (used up, expired), the answer is posted with ``chat.*`` instead.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from circuitbot import metrics
from circuitbot.chat.reply import Reply
from circuitbot.slack.poster import SlackPoster, slack_error_code

log = logging.getLogger(__name__)

# A trigger_id lives 3 s and opens one view: past that, only a new command can open the form.
TRIGGER_GONE = frozenset({"expired_trigger_id", "exchanged_trigger_id"})
RESPONSE_URL = "response_url"  # the "method" of an answer to a response_url, in metrics
TRIGGER_GONE_TEXT = "Slack gave the form too little time to open; run the command again"


class SlackSurface:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        user_id: str,
        channel_id: str | None,
        respond: AsyncRespond | None = None,
        trigger_id: str | None = None,
        thread_ts: str | None = None,
        message_ts: str | None = None,
    ) -> None:
        self.client = client
        self.poster = SlackPoster(client)
        self.user_id = user_id
        self.channel_id = channel_id
        self.respond = respond if respond is not None and respond.response_url else None
        self.trigger_id = trigger_id
        self.thread_ts = thread_ts
        self.message_ts = message_ts

    async def reply(self, reply: Reply) -> None:
        if self.respond is not None and await self._respond(self.respond, reply):
            return
        await self._post(reply)

    async def _respond(self, respond: AsyncRespond, reply: Reply) -> bool:
        try:
            response = await respond(
                **reply.as_message(),
                response_type="ephemeral" if reply.ephemeral else "in_channel",
                # Explicit either way: Slack's default differs between message kinds.
                replace_original=reply.replace,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("response_url unreachable (%s); posting instead", type(exc).__name__)
            metrics.slack_errors.labels(RESPONSE_URL, "unreachable").inc()
            return False
        if response.status_code == 200:
            return True
        log.warning("response_url answered %s %r; posting instead", response.status_code, response.body[:100])
        metrics.slack_errors.labels(RESPONSE_URL, f"http_{response.status_code}").inc()
        return False

    async def _post(self, reply: Reply) -> None:
        if self.channel_id is None:
            # No conversation to answer in (e.g. a modal opened from a shortcut): the app's DM.
            await self.poster.post(self.user_id, reply)
        elif reply.replace and self.message_ts:
            await self.poster.update(self.channel_id, self.message_ts, reply)
        elif reply.ephemeral:
            await self.poster.post_ephemeral(self.channel_id, self.user_id, reply, thread_ts=self.thread_ts)
        else:
            await self.poster.post(self.channel_id, reply, thread_ts=self.thread_ts)

    async def open_modal(self, view: dict[str, Any]) -> str | None:
        if not self.trigger_id:
            await self.reply(Reply.error("a form cannot be opened from here; give every parameter instead"))
            return None
        trigger_id, self.trigger_id = self.trigger_id, None  # Slack accepts a trigger_id once
        try:
            response = await self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            code = slack_error_code(exc)
            if code not in TRIGGER_GONE:
                raise
            log.warning("could not open a form: %s", code)
            metrics.slack_errors.labels("views.open", code).inc()
            await self.reply(Reply.error(TRIGGER_GONE_TEXT))
            return None
        return str(response["view"]["id"])

    async def update_modal(self, view_id: str, view: dict[str, Any]) -> None:
        await self.client.views_update(view_id=view_id, view=view)
