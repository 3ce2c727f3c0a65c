"""Settings: environment variables plus an optional TOML file.

Names are part of the deployment contract (deployments script them), so they are stable:
``CIRCUITBOT_*`` for the bot's own settings, Slack's usual ``SLACK_*`` names for Slack, and nested
provider settings as ``CIRCUITBOT_AZURE__SUBSCRIPTION_IDS`` and so on. A TOML file named by
``CIRCUITBOT_CONFIG`` supplies the same keys (``[azure]`` tables for nested ones); environment
variables win over the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "CIRCUITBOT_CONFIG"
ENV_PREFIX = "CIRCUITBOT_"


class ConfigError(Exception):
    """A setting is missing or bad; the message is one line naming the setting."""


def _slack_alias(name: str) -> AliasChoices:
    """Accept Slack's usual variable name, the prefixed one, and the TOML key."""
    return AliasChoices(name, ENV_PREFIX + name, name.lower())


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CsvList = Annotated[list[str], NoDecode]


class AzureSettings(BaseModel):
    base_url: str = "https://management.azure.com"
    token_scope: str = "https://management.azure.com/.default"
    subscription_ids: CsvList = Field(default_factory=list)
    cross_connection_api_version: str = "2025-07-01"
    provider_ports_api_version: str = "2025-05-01"

    _csv = field_validator("subscription_ids", mode="before")(_split_csv)

    @property
    def configured(self) -> bool:
        return bool(self.subscription_ids)


class EquinixSettings(BaseModel):
    base_url: str = "https://api.equinix.com"
    client_id: str | None = None
    client_secret: SecretStr | None = None

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


class ConsoleConnectSettings(BaseModel):
    base_url: str = "https://api.consoleconnect.com"
    api_key: SecretStr | None = None
    company: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.api_key)


class AlibabaSettings(BaseModel):
    base_url: str = "https://vpc.aliyuncs.com"
    region_id: str = "cn-hangzhou"
    access_key_id: str | None = None
    access_key_secret: SecretStr | None = None

    @property
    def configured(self) -> bool:
        return bool(self.access_key_id and self.access_key_secret)


class WatchSettings(BaseModel):
    tick_seconds: float = Field(5.0, gt=0, description="how often each process looks for due watches")
    fast_interval_seconds: float = Field(15.0, gt=0, description="poll interval while a resource is changing")
    slow_interval_seconds: float = Field(300.0, gt=0, description="poll interval while a resource is stable")
    max_backoff_seconds: float = Field(1800.0, gt=0, description="longest wait after repeated poll errors")
    batch_size: int = Field(500, ge=1, description="due watches claimed per tick")
    provider_concurrency: int = Field(4, ge=1, description="provider requests in flight per provider")
    strategy: Literal["batched", "per-resource"] = "batched"


class Settings(BaseSettings):
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

    secret_key: SecretStr | None = Field(
        None, description="Fernet key that encrypts secret parameters at rest (generated in the sandbox)"
    )

    work_concurrency: int = Field(
        8, ge=1, description="commands doing their work (after the ack) at once; the rest wait their turn"
    )

    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    azure: AzureSettings = Field(default_factory=AzureSettings)
    equinix: EquinixSettings = Field(default_factory=EquinixSettings)
    consoleconnect: ConsoleConnectSettings = Field(default_factory=ConsoleConnectSettings)
    alibaba: AlibabaSettings = Field(default_factory=AlibabaSettings)
    watch: WatchSettings = Field(default_factory=WatchSettings)

    _csv = field_validator("requesters", "approvers", "admins", mode="before")(_split_csv)

    @field_validator("requesters", "approvers", "admins")
    @classmethod
    def _slack_ids(cls, ids: list[str]) -> list[str]:
        for item in ids:
            if item[:1] not in {"U", "W", "S"} or not item.isalnum():
                raise ValueError(f"{item!r} is not a Slack user ID (U…/W…) or user-group ID (S…)")
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


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning a validation failure into a one-line ConfigError."""
    config_file = os.environ.get(CONFIG_ENV)
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"{CONFIG_ENV}: expected a readable TOML file, got {config_file!r}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = _setting_name(tuple(error.get("loc", ())))
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
    except ValueError as exc:  # malformed TOML
        raise ConfigError(f"{CONFIG_ENV}: {exc}") from None
