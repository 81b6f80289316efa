"""Shared fixtures for the Goofish protocol tests: the real captured vectors from shared/."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

_VECTORS = "goofish-vectors.json"


def vectors_path() -> Path:
    """A copy of shared/goofish-vectors.json lives in tests/data, so a bare checkout runs the suite."""
    return Path(__file__).resolve().parents[2] / "data" / _VECTORS


@pytest.fixture(scope="session")
def vectors() -> dict[str, dict[str, Any]]:
    """Every vector by name."""
    data = json.loads(vectors_path().read_text(encoding="utf-8"))
    return {vector["name"]: vector for vector in data["vectors"]}


@pytest.fixture(scope="session")
def payload_bytes(vectors: dict[str, dict[str, Any]]) -> list[bytes]:
    """The raw (base64-decoded) bytes of every vector that has a payload: seeds for mutation fuzzing."""
    payloads = [v["data_b64"] for v in vectors.values() if "data_b64" in v]
    return [base64.b64decode(p + "=" * (-len(p) % 4)) for p in payloads]
