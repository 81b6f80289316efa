"""A database written by the release before the `*_at_ms` renames opens with its data (storage/migrations.py)."""

from __future__ import annotations

from sqlalchemy import text

from storage import Store, open_engine
from storage.migrations import RENAMED_COLUMNS, migrate


def test_an_old_database_is_renamed_in_place_and_keeps_its_rows(db_url: str) -> None:
    with Store(db_url) as store:
        store.stock.import_codes("cards", ["A-1", "B-2"], 5)
    engine = open_engine(db_url)
    try:  # turn the tables back into the old release's: the columns under their old names
        with engine.begin() as conn:
            for table, old, new in RENAMED_COLUMNS:
                conn.exec_driver_sql(f'ALTER TABLE {table} RENAME COLUMN "{new}" TO "{old}"')
            assert conn.execute(text("SELECT count(*) FROM stock_code WHERE added_ms = 5")).scalar_one() == 2
    finally:
        engine.dispose()
    with Store(db_url) as store:  # opening migrates
        assert store.stock.counts("cards")["cards"] == {"available": 2, "reserved": 0, "sent": 0}
        assert store.stock.import_codes("cards", ["A-1", "C-3"], 6) == (1, 1)
    engine = open_engine(db_url)
    try:
        assert migrate(engine) == []  # idempotent: nothing left to do
        with engine.begin() as conn:
            assert conn.execute(text("SELECT min(added_at_ms) FROM stock_code")).scalar_one() == 5
    finally:
        engine.dispose()
