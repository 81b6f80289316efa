"""`StockStore`: the card-code lists a delivery takes its codes from, and their low-stock marks.

A code's life (`CodeState`: available → reserved → sent, or back to available when its order is cancelled)
is storage's own; the transactions that move a code together with a delivery unit are `OrderTx`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, update
from sqlmodel import select

from storage.database import Database
from storage.models import CodeState, StockAlert, StockCode
from storage.statements import table_of, upsert_into


class StockStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def import_codes(self, stock: str, codes: Sequence[str], now_ms: int) -> tuple[int, int]:
        """Add codes to a stock list; (added, duplicates). A code already in the list is not added again."""
        insert = upsert_into(self._db.dialect, StockCode).on_conflict_do_nothing()
        with self._db.write() as conn:
            before = _count(conn, stock)
            if codes:
                conn.execute(insert, [{"stock": stock, "code": code, "state": CodeState.AVAILABLE.value,
                                       "added_at_ms": now_ms} for code in codes])
            added = _count(conn, stock) - before
        return added, len(codes) - added

    def counts(self, stock: str | None = None) -> dict[str, dict[str, int]]:
        """{list: {available, reserved, sent}} for one list or all."""
        query = select(StockCode.stock, StockCode.state, func.count()).group_by(StockCode.stock, StockCode.state)
        if stock is not None:
            query = query.where(StockCode.stock == stock)
        counts: dict[str, dict[str, int]] = {}
        with self._db.transaction() as conn:
            for name, state, count in conn.execute(query):
                counts.setdefault(name, {s.value: 0 for s in CodeState})[state] = count
        return counts

    def available(self, stock: str) -> int:
        with self._db.transaction() as conn:
            return _count(conn, stock, CodeState.AVAILABLE.value)

    def set_low(self, stock: str, low: bool) -> bool:
        """Record whether the list is low; True only when it just became low, or stopped being low (a
        crossing). A list seen for the first time crossed nothing unless it is low already."""
        alert = table_of(StockAlert)
        with self._db.write() as conn:
            before = conn.execute(select(alert.c.low).where(alert.c.stock == stock).with_for_update()).first()
            if before is None:
                conn.execute(upsert_into(self._db.dialect, StockAlert).values(stock=stock, low=low)
                             .on_conflict_do_nothing())
                return low
            if bool(before[0]) == low:
                return False
            conn.execute(update(alert).where(alert.c.stock == stock).values(low=low))
            return True

    def codes(self, stock: str | None = None) -> list[StockCode]:
        """Every code (for `stock list` and the crash test's accounting); callers mask what they print."""
        query = select(StockCode).order_by(StockCode.stock, StockCode.id)
        if stock is not None:
            query = query.where(StockCode.stock == stock)
        with self._db.read() as session:
            return list(session.exec(query))


def _count(conn: Connection, stock: str, state: str | None = None) -> int:
    query = select(func.count()).where(StockCode.stock == stock)
    if state is not None:
        query = query.where(StockCode.state == state)
    return conn.execute(query).scalar_one()
