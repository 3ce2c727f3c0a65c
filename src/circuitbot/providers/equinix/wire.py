"""What the Equinix wire models of both generations share: the base, the OAuth2 token and errors.

Every model keeps fields it does not declare (``extra="allow"``) and is dumped with
``by_alias=True, exclude_unset=True``, so a round trip gives back the JSON as Equinix sent it.
Enumerations are typed ``str``: the live API answers with values its spec lacks (connection
``state`` ``PROVISIONED`` and ``REPROVISIONING``, ``providerStatus`` ``"PENDING DELETE"`` with a
space), so the ``StrEnum`` classes only name the values for comparisons. Numbers that the spec
calls ``number`` are ``int | float`` so an integer stays an integer.

Token pitfalls (``POST /oauth2/v1/token``, a JSON body, not a form):

* ``token_timeout`` is a *string* of seconds (``"3600"``); there is no ``expires_in``. One that
  does not parse counts as 3600 s, as Equinix's own Go client does.
* ``refresh_token`` is documented as not returned for client credentials, yet fixtures carry
  one: optional.
* Token errors come snake_case (the spec, HTTP 400) or camelCase (Equinix's Go client and its
  fixture, HTTP 500): both are read.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

DEFAULT_TOKEN_SECONDS = 3600.0


class Wire(BaseModel):
    """Base of every Equinix wire model: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    def dump(self) -> dict[str, Any]:
        """The JSON as received (or as built), with nothing added."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class TokenRequest(BaseModel):
    grant_type: str = "client_credentials"
    client_id: str
    client_secret: str


class TokenResponse(BaseModel):
    """``Oauth2TokenResponse``; snake_case on the wire."""

    model_config = ConfigDict(extra="allow")

    access_token: str
    token_timeout: str | int | None = None
    token_type: str | None = None
    user_name: str | None = None
    refresh_token: str | None = None
    refresh_token_timeout: str | None = None

    @property
    def lifetime_seconds(self) -> float:
        try:
            seconds = float(self.token_timeout) if self.token_timeout is not None else DEFAULT_TOKEN_SECONDS
        except ValueError:
            return DEFAULT_TOKEN_SECONDS
        return seconds if seconds > 0 else DEFAULT_TOKEN_SECONDS


def _both(name: str) -> Any:
    return Field(None, validation_alias=AliasChoices(name, to_camel(name)))


class TokenError(BaseModel):
    """A token error in either casing (``error_code`` or ``errorCode``)."""

    model_config = ConfigDict(extra="allow")

    error_domain: str | None = _both("error_domain")
    error_title: str | None = _both("error_title")
    error_code: str | None = _both("error_code")
    developer_message: str | None = _both("developer_message")
    error_message: str | None = _both("error_message")


class V3Error(Wire):
    """One v3 error; an answer carries one such object or an array of them."""

    error_code: str | None = None
    error_message: str | None = None
    more_info: str | None = None
    error_message_key: str | None = None
    property: str | None = None


class V4ErrorInfo(Wire):
    property: str | None = None
    reason: str | None = None


class V4Error(Wire):
    """One entry of a v4 ``ErrorList``: ``errorCode`` is ``EQ-`` and seven digits."""

    error_code: str | None = None
    error_message: str | None = None
    correlation_id: str | None = None
    details: str | None = None
    help: str | None = None
    additional_info: list[V4ErrorInfo] | None = None
