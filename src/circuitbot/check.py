"""``circuitbot check``: prove a deployment's configuration before anyone relies on it.

Each item is OK, FAIL (with the reason and the fix) or SKIP (not configured, and nothing needs
it); never a traceback. ``check`` exits non-zero on any FAIL. It changes nothing: the database
is read, not migrated; Slack is asked who the token is, which scopes it has and whether the bot
is in its channels; each configured provider gets one cheap read (``ProviderSpec.probe``).
Errors are scrubbed before they are printed, so no credential reaches the terminal.

``check --sandbox`` runs the same items against the fake Slack (on loopback, with the bot in
the configured channels) and the provider simulators, as ``shell`` and ``serve --sandbox`` use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Literal

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text

from circuitbot.clock import SystemClock
from circuitbot.logs import scrub
from circuitbot.providers import catalog
from circuitbot.providers.spec import ProviderClient, ProviderSpec
from circuitbot.settings import Settings, unknown_environment
from circuitbot.slack.scopes import BOT_SCOPES
from circuitbot.store.db import Database

PROBE_TIMEOUT_SECONDS = 20.0
Status = Literal["OK", "FAIL", "SKIP"]


@dataclass(frozen=True)
class Item:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f" — fix: {self.fix}" if self.fix and self.status == "FAIL" else ""
        return f"{self.status:<4} {self.name}: {scrub(self.detail)}{fix}"


def failed(items: list[Item]) -> bool:
    return any(item.status == "FAIL" for item in items)


async def run_checks(settings: Settings, *, environ: Mapping[str, str], sandbox: bool = False) -> list[Item]:
    items = settings_items(environ)
    items += await database_items(settings)
    async with _slack_for(settings, sandbox) as slack_settings:
        items += await slack_items(slack_settings)
    items += await provider_items(settings, sandbox=sandbox)
    return items


def settings_items(environ: Mapping[str, str]) -> list[Item]:
    problems = unknown_environment(environ)
    if not problems:
        return [Item("settings", "OK", "loaded; every CIRCUITBOT_* variable names a setting")]
    return [
        Item("settings", "FAIL", problem, "rename or remove it (README, Configuration)")
        for problem in problems
    ]


# --- the database ---------------------------------------------------------------------------------


async def database_items(settings: Settings) -> list[Item]:
    db = Database(settings.effective_database_url)
    where = db.url.render_as_string(hide_password=True)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), db.session() as session:
            await session.execute(text("SELECT 1"))
            current, head = await db.revisions()
    except Exception as exc:
        fix = "check CIRCUITBOT_DATABASE_URL and that the database accepts connections"
        return [Item("database", "FAIL", f"{where} unreachable ({type(exc).__name__}: {exc})", fix)]
    finally:
        await db.dispose()
    reachable = Item("database", "OK", f"{where} reachable")
    if current == head:
        return [reachable, Item("migrations", "OK", f"at head ({head})")]
    fix = "run circuitbot db upgrade (serve and shell also apply it at start)"
    return [reachable, Item("migrations", "FAIL", f"at {current or 'no schema'}, head is {head}", fix)]


# --- Slack -----------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _slack_for(settings: Settings, sandbox: bool) -> AsyncIterator[Settings]:
    """``settings`` as they are, or pointed at a fake Slack on loopback for ``--sandbox``."""
    if not sandbox:
        yield settings
        return
    from circuitbot.testing.fake_slack import FakeSlack

    fake = FakeSlack()
    fake.joined_channels.update(c for c in (settings.approvals_channel, settings.notify_channel) if c)
    async with fake.serve() as api_url:
        fake.socket_url = "ws://127.0.0.1:9/never-opened"
        yield settings.model_copy(
            update={
                "slack_api_url": api_url,
                "slack_bot_token": SecretStr("xoxb-sandbox"),
                # Socket Mode, unless HTTP mode is what the settings set up
                "slack_app_token": None if settings.slack_signing_secret else SecretStr("xapp-sandbox"),
            }
        )


async def slack_items(settings: Settings) -> list[Item]:
    if settings.slack_bot_token is None:
        fix = "set SLACK_BOT_TOKEN to the app's xoxb- token (OAuth & Permissions)"
        return [Item("slack", "FAIL", "SLACK_BOT_TOKEN is not set", fix)]
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        fix = "set SLACK_BOT_TOKEN to the installed app's current xoxb- token"
        return [Item("slack", "FAIL", f"Slack refused the bot token ({_code(exc)})", fix)]
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        fix = "check SLACK_API_URL and this host's route to Slack"
        return [Item("slack", "FAIL", f"cannot reach {settings.slack_api_url} ({type(exc).__name__})", fix)]
    items = [Item("slack", "OK", f"signed in as {identity.get('user')} in team {identity.get('team_id')}")]
    items.append(_scopes_item(str(identity.headers.get("x-oauth-scopes", ""))))
    items.append(await _mode_item(settings, client))
    for setting, channel in (
        ("CIRCUITBOT_APPROVALS_CHANNEL", settings.approvals_channel),
        ("CIRCUITBOT_NOTIFY_CHANNEL", settings.notify_channel),
    ):
        items.append(await _channel_item(client, setting, channel))
    return items


def _scopes_item(granted_header: str) -> Item:
    granted = {scope.strip() for scope in granted_header.split(",") if scope.strip()}
    missing = sorted(BOT_SCOPES - granted)
    if missing:
        fix = "add them to the app (app_manifest.yml lists them) and reinstall it to the workspace"
        return Item("slack scopes", "FAIL", f"missing {', '.join(missing)}", fix)
    extra = sorted(granted - BOT_SCOPES)
    unused = f"; granted but unused: {', '.join(extra)}" if extra else ""
    return Item("slack scopes", "OK", f"all {len(BOT_SCOPES)} the bot needs{unused}")


async def _mode_item(settings: Settings, client: AsyncWebClient) -> Item:
    """Socket Mode's app token opens a link (the URL is never used); else HTTP mode's secret is set."""
    if settings.slack_app_token is None:
        if settings.slack_signing_secret is None:
            fix = "set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)"
            return Item("slack mode", "FAIL", "neither Socket Mode nor HTTP mode is set up", fix)
        return Item("slack mode", "OK", "HTTP mode (SLACK_SIGNING_SECRET set; no app token)")
    try:
        await client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
    except SlackApiError as exc:
        fix = "set SLACK_APP_TOKEN to an app-level xapp- token with connections:write"
        return Item("slack mode", "FAIL", f"Slack refused the app token ({_code(exc)})", fix)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Item("slack mode", "FAIL", f"cannot reach Slack ({type(exc).__name__})", "check SLACK_API_URL")
    return Item("slack mode", "OK", "Socket Mode: the app token opens a link")


async def _channel_item(client: AsyncWebClient, setting: str, channel: str | None) -> Item:
    name = f"channel {setting}"
    if not channel:
        return Item(name, "SKIP", "not set")
    try:
        info = (await client.conversations_info(channel=channel))["channel"]
    except SlackApiError as exc:
        fix = "set it to a channel ID (C…) and invite the bot there (/invite @circuitbot)"
        return Item(name, "FAIL", f"{channel}: {_code(exc)}", fix)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Item(name, "FAIL", f"{channel}: {type(exc).__name__}", "check SLACK_API_URL")
    if info.get("is_archived"):
        return Item(name, "FAIL", f"{channel} is archived", "unarchive it or name another channel")
    if not info.get("is_member"):
        fix = f"invite the bot: /invite @circuitbot in {channel}"
        return Item(name, "FAIL", f"the bot is not a member of {channel}", fix)
    return Item(name, "OK", f"{channel}: the bot is a member")


def _code(exc: SlackApiError) -> str:
    from circuitbot.slack.poster import slack_error_code

    return slack_error_code(exc)


# --- providers -------------------------------------------------------------------------------------


async def provider_items(settings: Settings, *, sandbox: bool) -> list[Item]:
    return [await _provider_item(spec, settings, sandbox) for spec in catalog.PROVIDERS]


async def _provider_item(spec: ProviderSpec, settings: Settings, sandbox: bool) -> Item:
    own = settings.provider_settings(spec.name)
    clock = SystemClock()
    client: ProviderClient
    if sandbox:
        from circuitbot.sandbox.world import World

        client = spec.sandbox_client(own, spec.simulator(World.demo(), clock), clock)
    elif spec.configured(own):
        client = spec.client(own, clock)
    else:
        return Item(spec.name, "SKIP", f"not configured (CIRCUITBOT_{spec.name.upper()}__* settings)")
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            seen = await spec.probe(client)
    except Exception as exc:
        fix = f"check {spec.name}'s credentials and base URL (README, Configuration)"
        return Item(spec.name, "FAIL", f"{type(exc).__name__}: {exc}", fix)
    finally:
        await client.aclose()
    return Item(spec.name, "OK", seen)
