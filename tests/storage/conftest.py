"""Fixtures: every storage test runs against a SQLite file and against a real PostgreSQL server.

The server starts once per test session (tests/pg_server.py). Missing server binaries fail the run with the
package to install; XIANYU_SKIP_PG=1 skips the PostgreSQL half instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlmodel import SQLModel

from storage import KEY_ENV, Store, open_engine
from tests import pg_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if os.environ.get("XIANYU_SKIP_PG") == "1":
        pytest.skip("XIANYU_SKIP_PG=1: PostgreSQL tests skipped")
    with ExitStack() as stack:
        try:
            url = stack.enter_context(pg_server.running_postgres())
        except pg_server.PostgresNotInstalled as exc:
            pytest.fail(str(exc), pytrace=False)
        yield url


@pytest.fixture
def clean_postgres_url(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The session server's database, left with no tables: one database serves every test, with the tests' key
    (pg_server.SECRET_KEY) in XIANYU_SECRET_KEY, for this process and the ones it starts."""
    monkeypatch.setenv(KEY_ENV, pg_server.SECRET_KEY)
    yield postgres_url
    engine = open_engine(postgres_url)
    try:
        SQLModel.metadata.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database no other test has written to: a new SQLite file, or the cleaned PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/data/xianyu.db"
    return request.getfixturevalue("clean_postgres_url")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as opened:
        yield opened
