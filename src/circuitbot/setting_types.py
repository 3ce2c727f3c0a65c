"""Field types shared by the bot's settings and each provider's settings model.

Kept apart from ``settings`` because that module builds its model from the provider catalog,
whose settings models use these types too.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_settings import NoDecode

from circuitbot.approvals.windows import Freeze, Window, parse_freezes, parse_windows


def split_csv(value: Any) -> Any:
    """``"a, b,,c"`` → ``["a", "b", "c"]``; lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# A list given as comma-separated text in an environment variable (NoDecode: not as JSON).
CsvList = Annotated[list[str], NoDecode, BeforeValidator(split_csv)]

# Change windows and freezes, as text in the environment (approvals.windows reads them).
ChangeWindows = Annotated[list[Window], NoDecode, BeforeValidator(parse_windows)]
Freezes = Annotated[list[Freeze], NoDecode, BeforeValidator(parse_freezes)]
