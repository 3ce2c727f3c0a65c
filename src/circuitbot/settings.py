"""Settings: environment variables plus an optional TOML file.

Names are part of the deployment contract (deployments script them), so they are stable:
``CIRCUITBOT_*`` for the bot's own settings, Slack's usual ``SLACK_*`` names for Slack, and nested
provider settings as ``CIRCUITBOT_AZURE__SUBSCRIPTION_IDS`` and so on. A TOML file named by
``CIRCUITBOT_CONFIG`` supplies the same keys (``[azure]`` tables for nested ones); environment
variables win over the file.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from circuitbot.providers.catalog import PROVIDERS
from circuitbot.setting_types import ChangeWindows, CsvList, Freezes

CONFIG_ENV = "CIRCUITBOT_CONFIG"
ENV_PREFIX = "CIRCUITBOT_"
# CIRCUITBOT_* variables that are not settings: the test suite's own (e.g. its PostgreSQL URL).
NOT_SETTINGS_PREFIX = "CIRCUITBOT_TEST_"


class ConfigError(Exception):
    """A setting is missing or bad; the message is one line naming the setting."""


def _slack_alias(name: str) -> AliasChoices:
    """Accept Slack's usual variable name, the prefixed one, and the TOML key."""
    return AliasChoices(name, ENV_PREFIX + name, name.lower())


class WatchSettings(BaseModel):
    tick_seconds: float = Field(5.0, gt=0, description="how often each process looks for due watches")
    fast_interval_seconds: float = Field(15.0, gt=0, description="poll interval while a resource is changing")
    slow_interval_seconds: float = Field(300.0, gt=0, description="poll interval while a resource is stable")
    max_backoff_seconds: float = Field(1800.0, gt=0, description="longest wait after repeated poll errors")
    batch_size: int = Field(500, ge=1, description="due watches claimed per tick")
    provider_concurrency: int = Field(4, ge=1, description="provider requests in flight per provider")
    strategy: Literal["batched", "per-resource"] = "batched"


class CoreSettings(BaseSettings):
    """The bot's own settings; :data:`Settings` adds one field per provider of the catalog."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(Path("data"), description="where the default SQLite database lives")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL: sqlite+aiosqlite:///path.db or postgresql+asyncpg://…",
        repr=False,  # it may carry a password
    )

    # Slack. The usual Slack names are accepted as they are.
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_slack_alias("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None,
        validation_alias=_slack_alias("SLACK_SIGNING_SECRET"),
    )
    slack_app_token: SecretStr | None = Field(None, validation_alias=_slack_alias("SLACK_APP_TOKEN"))
    slack_api_url: str = Field(
        "https://slack.com/api/",
        validation_alias=_slack_alias("SLACK_API_URL"),
        description="Slack Web API base URL (GovSlack, tests)",
    )

    # Which Slack workspaces and Enterprise Grid orgs may send requests (T…, E…); empty: any.
    allowed_team_ids: CsvList = Field(default_factory=list, description="empty means any workspace")
    allowed_enterprise_ids: CsvList = Field(default_factory=list, description="empty means any org")

    # Roles: comma-separated Slack user IDs (U…/W…) and user-group IDs (S…).
    requesters: CsvList = Field(default_factory=list, description="empty means everyone may request")
    approvers: CsvList = Field(default_factory=list)
    admins: CsvList = Field(default_factory=list)
    allow_self_approval: bool = False

    approvals_channel: str | None = None
    notify_channel: str | None = None
    approval_ttl_hours: float = Field(24.0, gt=0)
    # Per-operation number of distinct approvals, e.g. {"alibaba.delete": 2}.
    approvals_required: dict[str, int] = Field(default_factory=dict)

    # When approved changes may run (see approvals.windows for the formats).
    change_windows: ChangeWindows = Field(
        default_factory=list, description="'[provider:] <cron> <duration>' entries, ';'-separated"
    )
    freezes: Freezes = Field(
        default_factory=list, description="'<from>/<to> [reason]' entries, ';'-separated"
    )

    secret_key: SecretStr | None = Field(
        None, description="Fernet key that encrypts secret parameters at rest (generated in the sandbox)"
    )

    work_concurrency: int = Field(
        8, ge=1, description="commands doing their work (after the ack) at once; the rest wait their turn"
    )
    work_process: bool = Field(
        False, description="serve: acknowledge in this process, do the work in a second one (README)"
    )
    work_backlog: int = Field(
        2000, ge=1, description="with work_process: commands owed work at most; past it, a busy reply"
    )
    work_niceness: int = Field(
        10, ge=0, le=19, description="with work_process: how much lower the work process's priority is"
    )

    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    watch: WatchSettings = Field(default_factory=WatchSettings)

    @field_validator("requesters", "approvers", "admins")
    @classmethod
    def _slack_ids(cls, ids: list[str]) -> list[str]:
        for item in ids:
            if item[:1] not in {"U", "W", "S"} or not item.isalnum():
                raise ValueError(f"{item!r} is not a Slack user ID (U…/W…) or user-group ID (S…)")
        return ids

    @field_validator("allowed_team_ids", "allowed_enterprise_ids")
    @classmethod
    def _workspace_ids(cls, ids: list[str], info: ValidationInfo) -> list[str]:
        prefix, kind = ("T", "team") if info.field_name == "allowed_team_ids" else ("E", "enterprise")
        for item in ids:
            if not item.startswith(prefix) or not item.isalnum():
                raise ValueError(f"{item!r} is not a Slack {kind} ID ({prefix}…)")
        return ids

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            return "postgresql+asyncpg://" + url.split("://", 1)[1]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB")
        return url

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'circuitbot.db'}"

    def approvals_needed(self, operation: str, default: int) -> int:
        return self.approvals_required.get(operation, default)

    def provider_settings(self, provider: str) -> BaseModel:
        """A provider's own settings model (the field named after it)."""
        value = getattr(self, provider, None)
        if not isinstance(value, BaseModel):
            raise LookupError(f"no settings for provider {provider!r}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def _with_providers(core: type[CoreSettings]) -> type[CoreSettings]:
    """``core`` plus a field per provider: ``azure: AzureSettings`` read from
    ``CIRCUITBOT_AZURE__<FIELD>`` and the TOML file's ``[azure]`` table."""
    fields: dict[str, Any] = {
        spec.name: (spec.settings_model, Field(default_factory=spec.settings_model)) for spec in PROVIDERS
    }
    return create_model("Settings", __base__=core, __module__=__name__, **fields)


if TYPE_CHECKING:
    Settings = CoreSettings
else:
    Settings = _with_providers(CoreSettings)


def _setting_name(loc: tuple[Any, ...]) -> str:
    """The environment variable a deployment would set for a validation error's location."""
    head = str(loc[0]) if loc else "?"
    aliases = {
        "slack_bot_token": "SLACK_BOT_TOKEN",
        "slack_signing_secret": "SLACK_SIGNING_SECRET",
        "slack_app_token": "SLACK_APP_TOKEN",
        "slack_api_url": "SLACK_API_URL",
    }
    if head in aliases or head.startswith("SLACK_"):
        return aliases.get(head, head)
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return ENV_PREFIX + "__".join(parts).upper()


def _groups() -> dict[str, type[BaseModel] | None]:
    """Each top-level setting, with its nested model (a TOML table, ``__`` in a variable) or None."""
    groups: dict[str, type[BaseModel] | None] = {}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        nested = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        groups[name] = nested
    return groups


def _unknown(kind: str, name: str, known: set[str], shown: str = "{}") -> str:
    """``kind name`` is not a setting, with the closest known one when there is one."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean {shown.format(close[0])}?" if close else ""
    return f"unknown {kind} {shown.format(name)}{hint}"


def unknown_environment(environ: Mapping[str, str]) -> list[str]:
    """``CIRCUITBOT_*`` variables that name no setting (misspelt, or left over), one line each."""
    known = {CONFIG_ENV}
    for name, nested in _groups().items():
        known.add(ENV_PREFIX + name.upper())  # a nested group also takes a JSON object
        if nested is not None:
            known.update(f"{ENV_PREFIX}{name.upper()}__{sub.upper()}" for sub in nested.model_fields)
    suffixes = {name.removeprefix(ENV_PREFIX) for name in known}
    return [
        _unknown("variable", variable.removeprefix(ENV_PREFIX), suffixes, ENV_PREFIX + "{}")
        for variable in sorted(environ)
        if variable.startswith(ENV_PREFIX)
        and not variable.startswith(NOT_SETTINGS_PREFIX)
        and variable not in known
    ]


def unknown_toml_keys(document: Mapping[str, Any]) -> list[str]:
    """Keys and tables of a TOML settings file that name no setting, one line each."""
    groups = _groups()
    aliases = {"slack_bot_token", "slack_signing_secret", "slack_app_token", "slack_api_url"}
    problems = []
    for key, value in document.items():
        nested = groups.get(key)
        if key not in groups and key.lower() not in aliases:
            if isinstance(value, dict):
                tables = {name for name, model in groups.items() if model is not None}
                problems.append(_unknown("table", key, tables, "[{}]"))
            else:
                problems.append(_unknown("key", key, set(groups)))
        elif nested is not None and isinstance(value, dict):
            fields = set(nested.model_fields)
            problems.extend(
                _unknown("key", f"{sub}", fields, f"{{}} in [{key}]") for sub in value if sub not in fields
            )
    return problems


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{CONFIG_ENV}: {path}: {exc}") from None


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning a validation failure into a one-line ConfigError.

    A key or table of the TOML file that names no setting is an error too: a misspelt
    ``approvals_chanel`` would otherwise leave the setting at its default without a word.
    Unknown ``CIRCUITBOT_*`` variables are only reported (``unknown_environment``): the
    environment is shared with other programs, the file is the bot's alone.
    """
    config_file = os.environ.get(CONFIG_ENV)
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"{CONFIG_ENV}: expected a readable TOML file, got {config_file!r}")
    if config_file:
        problems = unknown_toml_keys(_read_toml(Path(config_file)))
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ConfigError(f"{CONFIG_ENV}: {config_file}: {problems[0]}{more}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = _setting_name(tuple(error.get("loc", ())))
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
    except ValueError as exc:  # malformed TOML
        raise ConfigError(f"{CONFIG_ENV}: {exc}") from None
