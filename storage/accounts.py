"""`AccountStore`: what each account must remember across restarts (cookie jar, device id, token, sync position,
last state), one `AccountRecord` row per account.

The cookie jar and the access token are sealed here on the way in and opened on the way out (sealing.py), so the
rows callers see hold plain values and the database holds none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, case, update
from sqlmodel import select

from storage.database import Database
from storage.models import AccountRecord
from storage.sealing import Sealer, is_sealed
from storage.statements import table_of, upsert_into

_FIELDS = frozenset(AccountRecord.model_fields) - {"account_id", "updated_at_ms"}
SECRET_COLUMNS = ("cookie_jar", "access_token")


class AccountStore:
    def __init__(self, db: Database, sealer: Sealer) -> None:
        self._db = db
        self._sealer = sealer

    def get(self, account_id: str) -> AccountRecord | None:
        with self._db.read() as session:
            row = session.get(AccountRecord, account_id)
        return None if row is None else self._opened(row.model_dump())

    def all(self) -> list[AccountRecord]:
        with self._db.read() as session:
            rows = [row.model_dump() for row in session.exec(select(AccountRecord).order_by(AccountRecord.account_id))]
        return [self._opened(row) for row in rows]

    def update(self, account_id: str, now_ms: int, **fields: Any) -> AccountRecord:
        """Set the given fields, creating the row (other fields at their defaults) when missing; return the row.

        `updated_at_ms` becomes `now_ms`. `state_since_ms` becomes `now_ms` too, but only when `state` changes:
        writing the current state again keeps the moment it was entered."""
        unknown = fields.keys() - _FIELDS
        if unknown:
            raise TypeError(f"unknown AccountRecord fields: {', '.join(sorted(unknown))}")
        sealed = {**fields, **{name: self._sealer.seal(fields[name]) for name in SECRET_COLUMNS if name in fields}}
        new_row = AccountRecord(account_id=account_id, **{"state_since_ms": now_ms, **sealed}, updated_at_ms=now_ms)
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
        return self._opened(dict(row._mapping))

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

    def seal_plaintext(self) -> int:
        """Seal the values written before encryption existed, in place; the number of rows sealed (0 the second
        time). Every sealed value must open first: a database sealed with another key raises SecretKeyError and
        nothing is written."""
        rows = _secrets(self._db)
        for _, *values in rows:
            for value in values:
                self._sealer.open(value)
        if not any(value and not is_sealed(value) for _, *values in rows for value in values):
            return 0  # the usual start: a read, no write transaction (a read-only database opens too)
        return self._rewrite(self._sealer.seal)

    def reseal(self, new: Sealer) -> int:
        """Every row's values opened with this store's key and sealed with ``new``, in one transaction; the
        number of rows rewritten. Raises SecretKeyError (nothing written) when a value does not open."""
        return self._rewrite(lambda value: new.seal(self._sealer.open(value)))

    def _rewrite(self, change: Callable[[str | None], str | None]) -> int:
        table = table_of(AccountRecord)
        columns = [table.c[name] for name in SECRET_COLUMNS]
        with self._db.write() as conn:
            # FOR UPDATE: on PostgreSQL no other writer changes a row between this read and its rewrite
            # (SQLite's write transaction already excludes them; the clause is not rendered there).
            rows = conn.execute(select(table.c.account_id, *columns).with_for_update()).all()
            changed = []
            for account_id, *values in rows:
                new = [change(value) for value in values]
                if new != values:
                    changed.append({"row_id": account_id, **{f"new_{name}": value
                                                             for name, value in zip(SECRET_COLUMNS, new, strict=True)}})
            if changed:
                conn.execute(update(table).where(table.c.account_id == bindparam("row_id"))
                             .values({name: bindparam(f"new_{name}") for name in SECRET_COLUMNS}), changed)
        return len(changed)

    def _opened(self, values: dict[str, Any]) -> AccountRecord:
        return AccountRecord(**{**values, **{name: self._sealer.open(values[name]) for name in SECRET_COLUMNS}})


def any_sealed(db: Database) -> bool:
    """Does any row hold a sealed value (so this database has a key somewhere)?"""
    return any(is_sealed(value) for _, *values in _secrets(db) for value in values)


def _secrets(db: Database) -> list[tuple[str, str | None, str | None]]:
    table = table_of(AccountRecord)
    with db.transaction() as conn:
        return [tuple(row) for row in conn.execute(
            select(table.c.account_id, *(table.c[name] for name in SECRET_COLUMNS)))]
