"""Secret parameters at rest: sealed with Fernet in the request row, masked everywhere else.

An operation's ``SecretStr`` parameters (BGP shared keys and the like) are encrypted before the
request is stored and decrypted only by the executor, just before ``execute``. Everything shown
(Slack, audit rows, logs) uses ``Params.public_dump()`` or :class:`Masker`, which replaces any
clear-text occurrence of a secret with ``••••``.

The key is ``CIRCUITBOT_SECRET_KEY``. Without one, a local run (sandbox, shell) keeps a generated
key in ``data_dir/secret.key`` (mode 0600); a deployment refuses secret parameters instead of
storing them in a way it cannot read back after a restart.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, SecretStr

from circuitbot.actions.registry import OperationError, Params
from circuitbot.settings import ConfigError, Settings

MASK = "••••"
SEALED = "$secret"  # {"$secret": "<fernet token>"} in the stored params
KEY_FILE = "secret.key"


class SecretKeyMissing(OperationError):
    """A request carries secret parameters but no key is configured to seal them."""


def secret_fields(params: Params) -> dict[str, str]:
    """Field name → clear value of every non-empty secret parameter."""
    out = {}
    for name in type(params).model_fields:
        value = getattr(params, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            out[name] = value.get_secret_value()
    return out


def load_or_create_key(path: Path) -> bytes:
    """The key kept at ``path``, created (readable by this user only) when there is none.

    A new key is written to a private temporary file and linked into place, so a process starting
    at the same moment finds either no key or a whole one, never an empty or partial file."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # atomic, and never replaces a key another process placed
        except FileExistsError:
            return path.read_bytes().strip()
        return key
    finally:
        os.unlink(temporary)


def _holds_secret(value: Any) -> bool:
    if isinstance(value, SecretStr):
        return True
    if isinstance(value, BaseModel):
        return any(_holds_secret(getattr(value, name)) for name in type(value).model_fields)
    if isinstance(value, dict):
        return any(_holds_secret(item) for item in value.values())
    if isinstance(value, list | tuple | set):
        return any(_holds_secret(item) for item in value)
    return False


class SecretBox:
    """Seals and opens the secret parameters of requests."""

    def __init__(self, settings: Settings, *, local: bool) -> None:
        self.settings = settings
        self.local = local  # may keep a generated key in data_dir
        self._fernet: Fernet | None = None
        if settings.secret_key is not None:
            try:
                self._fernet = Fernet(settings.secret_key.get_secret_value().encode())
            except (ValueError, TypeError):
                raise ConfigError(
                    "CIRCUITBOT_SECRET_KEY: not a Fernet key (32 url-safe base64 bytes); make one with "
                    "python -c "
                    "'from cryptography.fernet import Fernet as F; print(F.generate_key().decode())'"
                ) from None

    @property
    def key_file(self) -> Path:
        return Path(self.settings.data_dir) / KEY_FILE

    def _key(self, *, create: bool) -> Fernet | None:
        if self._fernet is None and self.local and (create or self.key_file.exists()):
            self._fernet = Fernet(load_or_create_key(self.key_file))
        return self._fernet

    def seal(self, params: Params) -> dict[str, Any]:
        """The parameters as stored: JSON values, each secret replaced by its Fernet token."""
        secrets = secret_fields(params)
        for name in type(params).model_fields:
            if name not in secrets and _holds_secret(getattr(params, name)):
                # Dumped, it would become "**********" and run with that as the key: refuse instead.
                raise OperationError(f"{name}: secrets are supported as top-level parameters only")
        data = params.model_dump(mode="json", exclude={"page"})
        if not secrets:
            return data
        fernet = self._key(create=True)
        if fernet is None:
            names = ", ".join(name.replace("_", "-") for name in secrets)
            raise SecretKeyMissing(
                f"this request has secret parameters ({names}) and no key to encrypt them at rest: "
                "an admin must set CIRCUITBOT_SECRET_KEY before it can be requested"
            )
        for name, clear in secrets.items():
            data[name] = {SEALED: fernet.encrypt(clear.encode()).decode()}
        return data

    def open(self, model: type[Params], stored: dict[str, Any]) -> Params:
        """The parameters to execute with, secrets in clear (only ever handed to ``execute``)."""
        data = dict(stored)
        for name, value in stored.items():
            if isinstance(value, dict) and set(value) == {SEALED}:
                fernet = self._key(create=False)
                if fernet is None:
                    raise OperationError("secret parameters cannot be read: no secret key is configured")
                try:
                    data[name] = fernet.decrypt(value[SEALED].encode()).decode()
                except InvalidToken:
                    raise OperationError(
                        "secret parameters cannot be read: the secret key changed since the request; "
                        "request it again"
                    ) from None
        return model.model_validate(data)


class Masker:
    """Replaces clear-text secrets inside strings of any JSON-like value (keys are left alone)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, MASK)
        return value

    def __call__(self, value: Any) -> Any:
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self(item) for item in value]
        return value
