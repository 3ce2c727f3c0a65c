"""Alibaba's settings: ``CIRCUITBOT_ALIBABA__<FIELD>`` or the TOML file's ``[alibaba]`` table."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from circuitbot.setting_types import CsvList

# Where a physical connection may be deleted. The SDK text of 2023 lists these four; that of 2026
# adds Allocated and Confirmed. The documentation changed, so it is a setting.
DELETE_STATES_2023 = ("Rejected", "Canceled", "AllocationFailed", "Terminated")
DELETE_STATES_2026 = ("Allocated", "Confirmed", *DELETE_STATES_2023)


class AlibabaSettings(BaseModel):
    # The region commands use when none is given; ``regions`` are those listed and watched.
    region: str = "cn-hangzhou"
    regions: CsvList = Field(default_factory=list)
    # None: vpc.aliyuncs.com or vpc.<region>.aliyuncs.com as the region needs; set it for a
    # private endpoint or a sandbox (e.g. http://127.0.0.1:8700).
    endpoint: str | None = None
    access_key_id: str | None = None
    access_key_secret: SecretStr | None = Field(None, repr=False)
    security_token: SecretStr | None = Field(None, repr=False)  # STS: a temporary key's token
    signature_version: Literal["v3", "v1"] = "v3"
    delete_states: CsvList = Field(default_factory=lambda: list(DELETE_STATES_2023))

    @field_validator("signature_version", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def configured(self) -> bool:
        return bool(self.access_key_id and self.access_key_secret)

    @property
    def watched_regions(self) -> list[str]:
        """The regions listed and polled: ``regions``, or the one ``region``."""
        return list(dict.fromkeys(self.regions or [self.region]))
