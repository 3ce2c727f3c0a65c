"""A fresh clone must work with nothing beside it.

The data the tests read lives in ``tests/contracts/data`` and the architecture in
``docs/architecture.md``. No tracked file may point at a sibling folder of the repository, which
a user's clone does not have.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from support.paths import REPOSITORY

THIS_FILE = Path(__file__).resolve().relative_to(REPOSITORY).as_posix()

# The sibling folder itself (as text or as a path joined onto "shared"), or the parts of it
# the project once read.
OUTSIDE_REFERENCE = re.compile(
    r"\.\./shared\b|/\s*[\"']shared[\"']|\bshared/(?:contracts|seeds|research|DESIGN\.md)"
)


def tracked_files() -> list[str]:
    if not (REPOSITORY / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPOSITORY, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listing.split("\0") if name]


def text_of(name: str) -> str | None:
    """The file's text, or None for a binary file (or one deleted from the working tree)."""
    path = REPOSITORY / name
    if not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_the_pattern_catches_each_kind_of_outside_reference() -> None:
    joined = 'Path(__file__).parents[1].parent / "shared"'
    for text in ("see ../shared", joined, "shared/contracts/azure", "shared/seeds/", "shared/DESIGN.md"):
        assert OUTSIDE_REFERENCE.search(text), text
    for text in ("tests/contracts/data", "the shared key", "shared/ is a word", "docs/architecture.md"):
        assert not OUTSIDE_REFERENCE.search(text), text


def test_no_tracked_file_refers_to_a_folder_beside_the_repository() -> None:
    files = tracked_files()
    assert "README.md" in files  # the listing is the repository's, not an empty one
    offenders = []
    for name in files:
        text = text_of(name)
        if name == THIS_FILE or text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE_REFERENCE.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "these lines point outside the repository:\n" + "\n".join(offenders)
