"""Schema changes since the first release, applied when a database is opened.

`SQLModel.metadata.create_all` creates missing tables and indexes but never changes a table that exists, so a
database written by an earlier version keeps its old columns. Each step here is idempotent and checks the
table first: a new database has nothing to migrate, an old one is brought up to date in place, data kept.
Both SQLite (3.25 and later) and PostgreSQL rename a column together with the indexes that use it.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect

# (table, old column, new column): the order tables named moments `*_ms` where every other table says `*_at_ms`.
RENAMED_COLUMNS = (
    ("order_record", "created_ms", "created_at_ms"),
    ("order_record", "updated_ms", "updated_at_ms"),
    ("order_record", "next_try_ms", "next_try_at_ms"),
    ("delivery_unit", "reserved_ms", "reserved_at_ms"),
    ("delivery_unit", "sent_ms", "sent_at_ms"),
    ("delivery_unit", "updated_ms", "updated_at_ms"),
    ("stock_code", "added_ms", "added_at_ms"),
    ("stock_code", "used_ms", "used_at_ms"),
)

# (index, table, columns): indexes added to tables that may already exist (create_all only indexes new tables).
ADDED_INDEXES = (
    ("ix_reply_status", "reply", ("status", "account_id")),
)


def migrate(engine: Engine) -> list[str]:
    """Bring an existing database's tables up to date; returns what was changed (nothing for a new one)."""
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    columns = {table: {c["name"] for c in inspector.get_columns(table)}
               for table in {name for name, _, _ in RENAMED_COLUMNS} & tables}
    done = []
    with engine.begin() as conn:
        for table, old, new in RENAMED_COLUMNS:
            present = columns.get(table, set())
            if old in present and new not in present:
                conn.exec_driver_sql(f'ALTER TABLE {table} RENAME COLUMN "{old}" TO "{new}"')
                done.append(f"{table}.{old} → {new}")
        for index, table, indexed in ADDED_INDEXES:
            present = {i["name"] for i in inspector.get_indexes(table)} if table in tables else {index}
            if index not in present:
                conn.exec_driver_sql(f'CREATE INDEX IF NOT EXISTS {index} ON {table} ({", ".join(indexed)})')
                done.append(f"index {index} on {table}")
    return done
