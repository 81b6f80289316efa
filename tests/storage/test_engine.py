"""open_engine: SQLite really in WAL mode, PostgreSQL through psycopg 3, clear errors that hide passwords."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from storage import DEFAULT_DB_URL, DatabaseUnavailable, StorageError, open_engine
from storage.engine import for_writes
from tests.pg_server import free_port

TABLES = {
    "account_state",
    "ai_draft",
    "ai_usage",
    "bargain",
    "chat_flag",
    "inbound_message",
    "reply",
    "chat_pause",
    "seen_message",
    "reply_once",
    "item_cache",
    "order_record",  # orders and delivery (storage/orders.py)
    "order_transition",
    "delivery_unit",
    "stock_code",
    "stock_alert",
    "notify_incident",  # notifications (storage/notices.py)
    "notify_outbox",
}


def test_default_url_is_a_sqlite_file_under_data() -> None:
    assert DEFAULT_DB_URL == "sqlite:///data/xianyu.db"


def test_sqlite_creates_parent_directories_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "x.db"
    engine = open_engine(f"sqlite:///{path}")
    try:
        assert path.is_file()
        assert set(inspect(engine).get_table_names()) == TABLES
    finally:
        engine.dispose()


def test_sqlite_file_is_in_wal_mode_with_the_connection_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    engine = open_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
    finally:
        engine.dispose()
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 5000, "foreign_keys": 1}
    # WAL is a property of the file: a plain sqlite3 connection, no events of ours, sees it too.
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_write_transactions_take_the_lock_at_begin(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with for_writes(engine).begin() as conn:
            # Holding the write lock before any statement ran: another writer cannot even begin.
            other = closing(sqlite3.connect(tmp_path / "x.db", timeout=0, isolation_level=None))
            with other as raw, pytest.raises(sqlite3.OperationalError, match="locked"):
                raw.execute("BEGIN IMMEDIATE")
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def test_postgresql_url_uses_psycopg3_and_creates_tables(clean_postgres_url: str) -> None:
    engine = open_engine(clean_postgres_url)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_unreachable_postgresql_names_the_url_with_the_password_masked() -> None:
    url = f"postgresql://seller:hunter2@127.0.0.1:{free_port()}/xianyu"
    with pytest.raises(DatabaseUnavailable) as caught:
        open_engine(url)
    message = str(caught.value)
    assert "postgresql://seller:***@127.0.0.1" in message
    assert "hunter2" not in message
    assert "refused" in message.lower()


def test_sqlite_path_that_is_a_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="unable to open database file"):
        open_engine(f"sqlite:///{tmp_path}")


def test_sqlite_parent_that_is_a_file_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(DatabaseUnavailable, match="cannot create directory"):
        open_engine(f"sqlite:///{tmp_path / 'file' / 'x.db'}")


def test_a_file_that_is_no_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(b"this is not a SQLite database, just some bytes long enough to have a header" * 20)
    with pytest.raises(StorageError, match="not a database") as caught:
        open_engine(f"sqlite:///{path}")
    assert not isinstance(caught.value, DatabaseUnavailable)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:hunter2@localhost/x", "unsupported database mysql://root:\\*\\*\\*@localhost/x"),
        ("sqlite://", "in-memory SQLite is not supported"),
        ("sqlite:///:memory:", "in-memory SQLite is not supported"),
        ("not a url hunter2", "invalid database URL <unparsable database URL>"),
    ],
)
def test_urls_we_cannot_serve_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message) as caught:
        open_engine(url)
    assert "hunter2" not in str(caught.value)
