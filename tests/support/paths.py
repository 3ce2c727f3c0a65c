"""Where the tests' data lives in the repository."""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
# Official examples, schemas and captured payloads, unchanged; PROVENANCE.md names each source.
CONTRACT_DATA = REPOSITORY / "tests" / "contracts" / "data"
