"""Fixtures shared across the test folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim.llm import FakeModel


@pytest.fixture
def model() -> Iterator[FakeModel]:
    """A fake OpenAI-compatible model on 127.0.0.1 (sim/llm.py), closed after the test."""
    with FakeModel() as fake:
        yield fake
