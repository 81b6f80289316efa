"""Fixtures for the order tests: the service end-to-end fixtures (an in-process simulator, accounts.yml,
running Services) and the storage fixtures (every storage test on a SQLite file and on a real PostgreSQL)."""

from __future__ import annotations

from tests.service.conftest import env, make_env, postgres_server, postgres_url  # noqa: F401  (fixtures, re-exported)
from tests.storage.conftest import clean_postgres_url, db_url, store  # noqa: F401
