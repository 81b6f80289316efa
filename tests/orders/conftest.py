"""Fixtures for the order tests: the service end-to-end fixtures (an in-process simulator, accounts.yml,
running Services), plus a seller with a listing and a stock list."""

from __future__ import annotations

from tests.service.conftest import env, make_env, postgres_url  # noqa: F401  (fixtures, re-exported)
