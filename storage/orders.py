"""`OrderStore`: orders, their transitions and delivery units. Core decides; this module stores.

The order state machine and the delivery's exactly-once rules live in `core/orders/`. What storage gives them is
the shape of the transactions those rules need:

- `edit(account, order)` is ONE write transaction with the order's row locked (FOR UPDATE on PostgreSQL; SQLite's
  BEGIN IMMEDIATE already holds the only write lock), handed to the caller as an `OrderTx`: read the row, then
  create, update, add a transition, reserve a unit and its stock code, cancel units — all or nothing. A unit's
  row and its stock code are written in the same transaction, and the primary key (account, order, unit) lets
  only one such row exist, so a unit can never get a second code, and a crash leaves either both (the code is
  the unit's, to resend) or neither (the code is still in stock).
- `take_lease` hands an order to one worker by compare-and-swap on the lease the caller saw.
- Stock codes are picked with `FOR UPDATE SKIP LOCKED` on PostgreSQL (two processes take two different codes);
  SQLite's single writer needs no such clause, and SQLAlchemy leaves it out there.

State values (`delivery_state`, a unit's `state`) are whatever the caller passes; the stock code's own lifecycle
(`CodeState`) is storage's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, bindparam, func, update
from sqlmodel import select

from storage.database import Database
from storage.models import CodeState, DeliveryUnit, OrderRecord, OrderTransition, StockCode
from storage.statements import table_of, upsert_into

_ORDERS = OrderRecord.__table__.c  # type: ignore[attr-defined]
# Built once: every AI reply asks it (a Core statement costs a third of an ORM query).
_CHAT_STATUSES = select(_ORDERS.status).where(_ORDERS.account_id == bindparam("acc"), _ORDERS.cid == bindparam("chat"))


class OrderTx:
    """One open write transaction on one order (see `OrderStore.edit`). `order` is the locked row, or None."""

    def __init__(self, conn: Connection, dialect: str, account_id: str, order_id: str) -> None:
        self._conn = conn
        self._dialect = dialect
        self.account_id = account_id
        self.order_id = order_id
        self._orders, self._units, self._codes = table_of(OrderRecord), table_of(DeliveryUnit), table_of(StockCode)
        self.order: OrderRecord | None = self._locked()

    def create(self, **fields: Any) -> OrderRecord:
        """Insert the order (a concurrent creator's row wins; this one is then ignored) and lock it."""
        self._conn.execute(upsert_into(self._dialect, OrderRecord).values(
            account_id=self.account_id, order_id=self.order_id, **fields).on_conflict_do_nothing())
        self.order = self._locked()
        assert self.order is not None
        return self.order

    def update(self, **changes: Any) -> OrderRecord:
        if changes:
            orders = self._orders
            self._conn.execute(update(orders).where(*self._order_key()).values(**changes))
        self.order = self._locked()
        assert self.order is not None, "updated an order that does not exist"
        return self.order

    def add_transition(self, previous: str | None, status: str, at_ms: int, message_id: str) -> None:
        self._conn.execute(table_of(OrderTransition).insert().values(
            account_id=self.account_id, order_id=self.order_id, previous=previous, status=status, at_ms=at_ms,
            message_id=message_id))

    # -- units ---------------------------------------------------------------------------------------------------

    def unit(self, unit: int) -> DeliveryUnit | None:
        row = self._conn.execute(select(*self._units.c).where(*self._unit_key(unit))).mappings().first()
        return DeliveryUnit(**row) if row is not None else None

    def units(self, states: Iterable[str]) -> list[DeliveryUnit]:
        units = self._units
        rows = self._conn.execute(select(*units.c).where(
            units.c.account_id == self.account_id, units.c.order_id == self.order_id,
            units.c.state.in_(list(states))).order_by(units.c.unit)).mappings()
        return [DeliveryUnit(**row) for row in rows]

    def take_code(self, stock: str, unit: int) -> tuple[int, str] | None:
        """Reserve the oldest available code of `stock` for this order's `unit`: (code id, code), or None when
        the list is empty."""
        picked = self._conn.execute(
            select(StockCode.id, StockCode.code)
            .where(StockCode.stock == stock, StockCode.state == CodeState.AVAILABLE.value)
            .order_by(StockCode.id).limit(1).with_for_update(skip_locked=True)).first()
        if picked is None:
            return None
        code_id, code = picked
        self._conn.execute(update(self._codes).where(self._codes.c.id == code_id).values(
            state=CodeState.RESERVED.value, account_id=self.account_id, order_id=self.order_id, unit=unit))
        return code_id, code

    def add_unit(self, unit: int, *, kind: str, code: str, text: str, state: str, now_ms: int,
                 stock_code_id: int | None = None) -> DeliveryUnit:
        values = {"account_id": self.account_id, "order_id": self.order_id, "unit": unit, "kind": kind,
                  "stock_code_id": stock_code_id, "code": code, "text": text, "state": state, "attempts": 0,
                  "reserved_at_ms": now_ms, "updated_at_ms": now_ms}
        # A plain INSERT: a concurrent twin fails on the primary key and its transaction (with any code it
        # took) rolls back, which is the point.
        self._conn.execute(self._units.insert().values(**values))
        return DeliveryUnit(**values)

    def cancel_units(self, cancelled: Sequence[DeliveryUnit], state: str, now_ms: int) -> None:
        """Give `cancelled` the `state` and put their stock codes back in their lists."""
        code_ids = [u.stock_code_id for u in cancelled if u.stock_code_id is not None]
        if code_ids:
            self._conn.execute(update(self._codes).where(self._codes.c.id.in_(code_ids)).values(
                state=CodeState.AVAILABLE.value, account_id=None, order_id=None, unit=None))
        units = self._units
        for unit in cancelled:
            self._conn.execute(update(units).where(*self._unit_key(unit.unit)).values(
                state=state, code=None, stock_code_id=None, text="", updated_at_ms=now_ms))

    def count_units(self, state: str) -> int:
        units = self._units
        return self._conn.execute(select(func.count()).where(
            units.c.account_id == self.account_id, units.c.order_id == self.order_id,
            units.c.state == state)).scalar_one()

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _locked(self) -> OrderRecord | None:
        row = self._conn.execute(select(*self._orders.c).where(*self._order_key()).with_for_update()
                                 ).mappings().first()
        return OrderRecord(**row) if row is not None else None

    def _order_key(self) -> tuple[Any, ...]:
        return self._orders.c.account_id == self.account_id, self._orders.c.order_id == self.order_id

    def _unit_key(self, unit: int) -> tuple[Any, ...]:
        return _unit_key(self.account_id, self.order_id, unit)


class OrderStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._orders = table_of(OrderRecord)
        self._units = table_of(DeliveryUnit)
        self._codes = table_of(StockCode)

    @contextmanager
    def edit(self, account_id: str, order_id: str) -> Iterator[OrderTx]:
        """One write transaction on the order (see the module docstring). Nothing inside it may wait on the
        network: on SQLite it holds the only write lock."""
        with self._db.write() as conn:
            yield OrderTx(conn, self._db.dialect, account_id, order_id)

    def take_lease(self, seen: OrderRecord, owner: str, until_ms: int, states: Iterable[str]) -> OrderRecord | None:
        """Make `owner` the order's only worker until `until_ms` if its lease is still the one the caller saw in
        `seen` and its delivery is in one of `states`; the order after that, or None (another claimer won)."""
        orders = self._orders
        stmt = (update(orders)
                .where(orders.c.account_id == seen.account_id, orders.c.order_id == seen.order_id,
                       orders.c.lease_owner == seen.lease_owner, orders.c.lease_until_ms == seen.lease_until_ms,
                       orders.c.delivery_state.in_(list(states)))
                .values(lease_owner=owner, lease_until_ms=until_ms)
                .returning(*orders.c))
        with self._db.write() as conn:
            row = conn.execute(stmt).first()
        return OrderRecord(**row._mapping) if row is not None else None

    def renew_lease(self, account_id: str, order_id: str, owner: str, until_ms: int) -> bool:
        """Extend `owner`'s lease; False when it is no longer the owner (the lease expired and was taken)."""
        orders = self._orders
        with self._db.write() as conn:
            return conn.execute(update(orders).where(orders.c.account_id == account_id,
                                                     orders.c.order_id == order_id, orders.c.lease_owner == owner)
                                .values(lease_until_ms=until_ms).returning(orders.c.order_id)).first() is not None

    def update(self, account_id: str, order_id: str, **changes: Any) -> OrderRecord | None:
        """Set fields on an order outside any lease (retry from the dashboard, the quantity …); None if absent."""
        with self.edit(account_id, order_id) as tx:
            return tx.update(**changes) if tx.order is not None else None

    def due(self, now_ms: int, states: Iterable[str], limit: int = 100) -> list[tuple[str, str]]:
        """(account, order) pairs whose delivery is in one of `states` and due by `now_ms`, the longest waiting
        first."""
        query = (select(OrderRecord.account_id, OrderRecord.order_id)
                 .where(OrderRecord.delivery_state.in_(list(states)), OrderRecord.next_try_at_ms <= now_ms)
                 .order_by(OrderRecord.next_try_at_ms).limit(limit))
        with self._db.transaction() as conn:
            return [(row[0], row[1]) for row in conn.execute(query)]

    def get(self, account_id: str, order_id: str) -> OrderRecord | None:
        with self._db.read() as session:
            return session.get(OrderRecord, (account_id, order_id))

    def find(self, order_id: str) -> list[OrderRecord]:
        """The order under every account that saw it (normally one)."""
        with self._db.read() as session:
            return list(session.exec(select(OrderRecord).where(OrderRecord.order_id == order_id)))

    def statuses_in_chat(self, account_id: str, cid: str) -> set[str]:
        """The statuses of the orders seen in one chat (uses the chat index)."""
        with self._db.transaction() as conn:
            return set(conn.execute(_CHAT_STATUSES, {"acc": account_id, "chat": cid}).scalars())

    def recent(self, account_id: str | None = None, limit: int = 200) -> list[OrderRecord]:
        query = select(OrderRecord)
        if account_id is not None:
            query = query.where(OrderRecord.account_id == account_id)
        query = query.order_by(OrderRecord.updated_at_ms.desc(), OrderRecord.order_id).limit(limit)
        with self._db.read() as session:
            return list(session.exec(query))

    def transitions(self, account_id: str, order_id: str) -> list[OrderTransition]:
        query = (select(OrderTransition)
                 .where(OrderTransition.account_id == account_id, OrderTransition.order_id == order_id)
                 .order_by(OrderTransition.at_ms, OrderTransition.id))
        with self._db.read() as session:
            return list(session.exec(query))

    # -- delivery units -------------------------------------------------------------------------------------------

    def units(self, account_id: str, order_ids: Iterable[str]) -> list[DeliveryUnit]:
        wanted = list(order_ids)
        if not wanted:
            return []
        query = (select(DeliveryUnit)
                 .where(DeliveryUnit.account_id == account_id, DeliveryUnit.order_id.in_(wanted))
                 .order_by(DeliveryUnit.order_id, DeliveryUnit.unit))
        with self._db.read() as session:
            return list(session.exec(query))

    def is_delivery(self, account_id: str, cid: str, text: str, image_url: str | None) -> bool:
        """Is this own message in chat `cid` one of our deliveries (a unit's text, or an image unit's URL)?"""
        units, orders = self._units, self._orders
        matches = units.c.text == text
        if image_url:
            matches = matches | ((units.c.kind == "image") & (units.c.code == image_url))
        query = (select(units.c.unit)
                 .join(orders, (orders.c.account_id == units.c.account_id) & (orders.c.order_id == units.c.order_id))
                 .where(orders.c.account_id == account_id, orders.c.cid == cid, matches).limit(1))
        with self._db.transaction() as conn:
            return conn.execute(query).first() is not None

    def note_attempt(self, account_id: str, order_id: str, unit: int, now_ms: int) -> None:
        """Counted BEFORE each send: after a crash, attempts > 0 means "ask the chat before sending again"."""
        units = self._units
        with self._db.write() as conn:
            conn.execute(update(units).where(*_unit_key(account_id, order_id, unit))
                         .values(attempts=units.c.attempts + 1, updated_at_ms=now_ms))

    def mark_unit_sent(self, account_id: str, order_id: str, unit: int, now_ms: int, *, from_state: str,
                       to_state: str) -> bool:
        """The server acknowledged the unit's message: the unit goes `from_state` → `to_state` and its stock code
        is sent. False when the unit was no longer in `from_state` (cancelled meanwhile)."""
        units = self._units
        with self._db.write() as conn:
            row = conn.execute(update(units)
                               .where(*_unit_key(account_id, order_id, unit), units.c.state == from_state)
                               .values(state=to_state, sent_at_ms=now_ms, updated_at_ms=now_ms)
                               .returning(units.c.stock_code_id)).first()
            if row is not None and row[0] is not None:
                conn.execute(update(self._codes).where(self._codes.c.id == row[0])
                             .values(state=CodeState.SENT.value, used_at_ms=now_ms))
            return row is not None


def _unit_key(account_id: str, order_id: str, unit: int) -> tuple[Any, ...]:
    units = table_of(DeliveryUnit)
    return units.c.account_id == account_id, units.c.order_id == order_id, units.c.unit == unit
