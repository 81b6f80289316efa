"""`AccountStore`: what each account must remember across restarts (cookie jar, device id, token, sync position,
last state), one `AccountRecord` row per account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case, update
from sqlmodel import select

from storage.database import Database
from storage.models import AccountRecord
from storage.statements import table_of, upsert_into

_FIELDS = frozenset(AccountRecord.model_fields) - {"account_id", "updated_at_ms"}


class AccountStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, account_id: str) -> AccountRecord | None:
        with self._db.read() as session:
            return session.get(AccountRecord, account_id)

    def all(self) -> list[AccountRecord]:
        with self._db.read() as session:
            return list(session.exec(select(AccountRecord).order_by(AccountRecord.account_id)))

    def update(self, account_id: str, now_ms: int, **fields: Any) -> AccountRecord:
        """Set the given fields, creating the row (other fields at their defaults) when missing; return the row.

        `updated_at_ms` becomes `now_ms`. `state_since_ms` becomes `now_ms` too, but only when `state` changes:
        writing the current state again keeps the moment it was entered."""
        unknown = fields.keys() - _FIELDS
        if unknown:
            raise TypeError(f"unknown AccountRecord fields: {', '.join(sorted(unknown))}")
        new_row = AccountRecord(account_id=account_id, **{"state_since_ms": now_ms, **fields}, updated_at_ms=now_ms)
        stmt = upsert_into(self._db.dialect, AccountRecord).values(new_row.model_dump())
        table = stmt.table
        changes: dict[str, Any] = {name: stmt.excluded[name] for name in (*fields, "updated_at_ms")}
        if "state" in fields and "state_since_ms" not in fields:
            changes["state_since_ms"] = case(
                (table.c.state == stmt.excluded.state, table.c.state_since_ms),
                else_=stmt.excluded.state_since_ms,
            )
        # One statement, so two threads creating the same account cannot collide on the primary key.
        stmt = stmt.on_conflict_do_update(index_elements=["account_id"], set_=changes)
        with self._db.write() as conn:
            row = conn.execute(stmt.returning(*table.c)).one()
        return AccountRecord(**row._mapping)

    def save_progress(self, rows: list[dict[str, Any]], now_ms: int) -> None:
        """Many accounts' `sync_pts`/`state`/`state_since_ms`/`last_error` in ONE transaction: the periodic save
        must not hold the write lock a hundred times over while replies wait for it."""
        if not rows:
            return
        table = table_of(AccountRecord)
        stmt = update(table).where(table.c.account_id == bindparam("row_id"))
        with self._db.write() as conn:
            conn.execute(stmt, [{"row_id": r["account_id"], "sync_pts": r["sync_pts"], "state": r["state"],
                                 "state_since_ms": r["state_since_ms"], "last_error": r["last_error"],
                                 "updated_at_ms": now_ms} for r in rows])
