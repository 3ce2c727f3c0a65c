"""Placeholder simulators until each provider's own model exists.

They serve no resources: every path answers 404 in the provider's error shape, and injected
faults use the same shape, so clients and fault handling can be wired end to end already.
``simulator_class`` falls back to these while ``circuitbot.sandbox.<provider>`` is missing.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from starlette.routing import BaseRoute

from circuitbot.sandbox.base import Simulator


class _Placeholder(Simulator):
    def routes(self) -> list[BaseRoute]:
        return []


class EquinixPlaceholder(_Placeholder):
    """Equinix Fabric v3 errors: a list of ``{errorCode, errorMessage, moreInfo, property}``."""

    provider: ClassVar[str] = "equinix"

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        return [{"errorCode": f"IC-{code}", "errorMessage": message, "moreInfo": "", "property": None}], {}


class ConsoleConnectPlaceholder(_Placeholder):
    """Console Connect's error shape is not documented; a status/error/message object is assumed."""

    provider: ClassVar[str] = "consoleconnect"

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        return {"statusCode": status, "error": code, "message": message}, {}


_ALIBABA_CODES = {
    404: "InvalidAction.NotFound",
    429: "Throttling.User",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class AlibabaPlaceholder(_Placeholder):
    """Alibaba Cloud RPC errors: ``{RequestId, HostId, Code, Message, Recommend}``."""

    provider: ClassVar[str] = "alibaba"
    host: ClassVar[str] = "vpc.aliyuncs.com"

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        provider_code = _ALIBABA_CODES.get(status, code)
        body = {
            "RequestId": str(uuid.uuid4()).upper(),
            "HostId": self.host,
            "Code": provider_code,
            "Message": message,
            "Recommend": f"https://next.api.aliyun.com/troubleshoot?q={provider_code}&product=Vpc",
        }
        return body, {}


PLACEHOLDERS: dict[str, type[Simulator]] = {
    cls.provider: cls for cls in (EquinixPlaceholder, ConsoleConnectPlaceholder, AlibabaPlaceholder)
}
