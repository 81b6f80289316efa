"""Every query about orders, their delivery units and the stock lists (issue 6), as `OrderStore` methods.

`Store` builds one (`store.orders`) and lends it its transactions, so the same rules hold: each method is one
short transaction; SQLite writers take the write lock at BEGIN; rows come back detached.

What makes delivery exactly-once lives in the shape of these transactions:

- `reserve_stock_unit` inserts the unit's row and takes its stock code in ONE transaction; the primary key
  (account, order, unit) lets only one such row exist, so a unit can never get a second code, and a crash
  leaves either both (the code is the unit's, to resend) or neither (the code is still in stock).
- `claim` hands an order to one worker by compare-and-swap on its lease; `release` gives it back and, when the
  order was closed or refunded meanwhile, cancels the unsent units and returns their codes in the same
  transaction. A status change that finds the order leased leaves the cancelling to that release.
- Stock codes are picked with `FOR UPDATE SKIP LOCKED` on PostgreSQL (two processes take two different codes);
  SQLite's single writer needs no such clause, and SQLAlchemy leaves it out there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, update
from sqlmodel import Session, select

from storage.models import DeliveryState, DeliveryUnit, OrderRecord, OrderTransition, StockAlert, StockCode
from storage.statements import table_of, upsert_into

ACTIVE_STATES = (DeliveryState.PENDING.value, DeliveryState.RESERVED.value)
UNSENT_UNITS = (DeliveryState.PENDING.value, DeliveryState.RESERVED.value)
ENDED_STATUSES = ("closed", "refund")

Tx = Callable[[], AbstractContextManager[Connection]]


@dataclass(frozen=True)
class StatusChange:
    """What `record_status` did: the order after it, its status before (None: first seen), whether the new
    status was taken, and the units it cancelled (their codes went back to stock)."""

    order: OrderRecord
    previous: str | None
    applied: bool
    cancelled: tuple[DeliveryUnit, ...] = ()


@dataclass(frozen=True)
class Released:
    order: OrderRecord
    cancelled: tuple[DeliveryUnit, ...] = ()


class OrderStore:
    def __init__(self, write: Tx, read: Tx, dialect: str) -> None:
        self._write = write
        self._read = read
        self._dialect = dialect
        self._orders = table_of(OrderRecord)
        self._units = table_of(DeliveryUnit)
        self._codes = table_of(StockCode)

    # -- orders --------------------------------------------------------------------------------------------------

    def record_status(self, *, account_id: str, order_id: str, status: str, at_ms: int,
                      accept: Callable[[str | None, str], bool], deliver_at_ms: int | None,
                      no_rule_reason: str = "", message_id: str = "", **known: Any) -> StatusChange:
        """Apply a status notice if `accept(previous, status)` says it moves the order forward.

        `known` (cid, buyer_id, buyer_nick, item_id, item_title) fills fields still empty. A move to `paid` starts
        the delivery at `deliver_at_ms` (None: nothing to deliver, `no_rule_reason` says why); a move to closed
        or refund cancels the unsent units unless a worker holds the order (its release cancels them)."""
        with self._write() as conn:
            row = self._locked(conn, account_id, order_id)
            if row is None:
                conn.execute(upsert_into(self._dialect, OrderRecord).values(
                    account_id=account_id, order_id=order_id, status=status, created_ms=at_ms, updated_ms=at_ms,
                    delivery_state=DeliveryState.NONE.value).on_conflict_do_nothing())
                row = self._locked(conn, account_id, order_id)
                assert row is not None
                previous = None
            else:
                previous = row["status"]
            fill = {name: value for name, value in known.items() if value and not row[name]}
            applied = previous is None or accept(previous, status)
            changes: dict[str, Any] = dict(fill)
            if applied:
                changes |= {"status": status, "updated_ms": at_ms}
                conn.execute(table_of(OrderTransition).insert().values(
                    account_id=account_id, order_id=order_id, previous=previous, status=status, at_ms=at_ms,
                    message_id=message_id))
                changes |= _delivery_start(row, status, deliver_at_ms, no_rule_reason)
                if status in ("shipped", "completed"):
                    changes["shipment_confirmed"] = True
            if changes:
                self._update(conn, account_id, order_id, changes)
            cancelled: tuple[DeliveryUnit, ...] = ()
            if applied and status in ENDED_STATUSES and row["lease_until_ms"] <= at_ms:
                cancelled = self._cancel(conn, account_id, order_id, status, at_ms)
            return StatusChange(self._load(conn, account_id, order_id), previous, applied, cancelled)

    def claim(self, account_id: str, order_id: str, owner: str, now_ms: int, lease_ms: int,
              holder_alive: Callable[[str], bool]) -> OrderRecord | None:
        """Make `owner` the order's only worker until `now_ms + lease_ms`; None when another live worker holds
        it or there is nothing left to do. Compare-and-swap on the lease seen, so two claimers cannot both win."""
        order = self.get(account_id, order_id)
        if order is None or order.delivery_state not in ACTIVE_STATES:
            return None
        held = order.lease_owner and order.lease_owner != owner
        if held and order.lease_until_ms > now_ms and holder_alive(order.lease_owner):
            return None
        orders = self._orders
        stmt = (update(orders)
                .where(orders.c.account_id == account_id, orders.c.order_id == order_id,
                       orders.c.lease_owner == order.lease_owner, orders.c.lease_until_ms == order.lease_until_ms,
                       orders.c.delivery_state.in_(ACTIVE_STATES))
                .values(lease_owner=owner, lease_until_ms=now_ms + lease_ms)
                .returning(*orders.c))
        with self._write() as conn:
            row = conn.execute(stmt).first()
        return OrderRecord(**row._mapping) if row is not None else None

    def renew(self, account_id: str, order_id: str, owner: str, until_ms: int) -> bool:
        """Extend `owner`'s lease; False when it is no longer the owner (the lease expired and was taken)."""
        orders = self._orders
        with self._write() as conn:
            return conn.execute(update(orders).where(orders.c.account_id == account_id,
                                                     orders.c.order_id == order_id, orders.c.lease_owner == owner)
                                .values(lease_until_ms=until_ms).returning(orders.c.order_id)).first() is not None

    def release(self, account_id: str, order_id: str, owner: str, now_ms: int, **changes: Any) -> Released:
        """Give the order back with `changes` (state, reason, next try …) if `owner` still holds it; cancels what
        is unsent when the order ended while it was held."""
        with self._write() as conn:
            row = self._locked(conn, account_id, order_id)
            assert row is not None, "released an order that does not exist"
            cancelled: tuple[DeliveryUnit, ...] = ()
            if row["lease_owner"] == owner:  # else another worker took over: its outcome counts, not ours
                self._update(conn, account_id, order_id,
                             {**changes, "lease_owner": "", "lease_until_ms": 0, "updated_ms": now_ms})
                if row["status"] in ENDED_STATUSES:
                    cancelled = self._cancel(conn, account_id, order_id, row["status"], now_ms)
            return Released(self._load(conn, account_id, order_id), cancelled)

    def update_order(self, account_id: str, order_id: str, **changes: Any) -> OrderRecord | None:
        """Set fields on an order (no lease involved: retry/resend from the dashboard, the quantity …)."""
        with self._write() as conn:
            if self._locked(conn, account_id, order_id) is None:
                return None
            self._update(conn, account_id, order_id, changes)
            return self._load(conn, account_id, order_id)

    def due(self, now_ms: int, limit: int = 100) -> list[tuple[str, str]]:
        """(account, order) pairs whose delivery has work to do now, the longest waiting first."""
        query = (select(OrderRecord.account_id, OrderRecord.order_id)
                 .where(OrderRecord.delivery_state.in_(ACTIVE_STATES), OrderRecord.next_try_ms <= now_ms)
                 .order_by(OrderRecord.next_try_ms).limit(limit))
        with self._read() as conn:
            return [(row[0], row[1]) for row in conn.execute(query)]

    def get(self, account_id: str, order_id: str) -> OrderRecord | None:
        with self._read() as conn:
            return self._load(conn, account_id, order_id)

    def find(self, order_id: str) -> list[OrderRecord]:
        """The order under every account that saw it (normally one)."""
        with self._read() as conn, Session(conn) as session:
            return list(session.exec(select(OrderRecord).where(OrderRecord.order_id == order_id)))

    def recent(self, account_id: str | None = None, limit: int = 200) -> list[OrderRecord]:
        query = select(OrderRecord)
        if account_id is not None:
            query = query.where(OrderRecord.account_id == account_id)
        query = query.order_by(OrderRecord.updated_ms.desc(), OrderRecord.order_id).limit(limit)
        with self._read() as conn, Session(conn) as session:
            return list(session.exec(query))

    def transitions(self, account_id: str, order_id: str) -> list[OrderTransition]:
        query = (select(OrderTransition)
                 .where(OrderTransition.account_id == account_id, OrderTransition.order_id == order_id)
                 .order_by(OrderTransition.at_ms, OrderTransition.id))
        with self._read() as conn, Session(conn) as session:
            return list(session.exec(query))

    # -- delivery units -------------------------------------------------------------------------------------------

    def units(self, account_id: str, order_ids: Iterable[str]) -> list[DeliveryUnit]:
        wanted = list(order_ids)
        if not wanted:
            return []
        query = (select(DeliveryUnit)
                 .where(DeliveryUnit.account_id == account_id, DeliveryUnit.order_id.in_(wanted))
                 .order_by(DeliveryUnit.order_id, DeliveryUnit.unit))
        with self._read() as conn, Session(conn) as session:
            return list(session.exec(query))

    def reserve_stock_unit(self, account_id: str, order_id: str, unit: int, stock: str,
                           render: Callable[[str], str], now_ms: int) -> DeliveryUnit | None:
        """The unit's row with a code taken from `stock`, in one transaction; the existing row when the unit
        has one already; None when the list has no code left (nothing written)."""
        with self._write() as conn:
            existing = self._unit(conn, account_id, order_id, unit)
            if existing is not None:
                return existing
            picked = conn.execute(
                select(StockCode.id, StockCode.code)
                .where(StockCode.stock == stock, StockCode.state == "available")
                .order_by(StockCode.id).limit(1).with_for_update(skip_locked=True)).first()
            if picked is None:
                return None
            code_id, code = picked
            conn.execute(update(self._codes).where(self._codes.c.id == code_id).values(
                state="reserved", account_id=account_id, order_id=order_id, unit=unit))
            return self._insert_unit(conn, account_id, order_id, unit, "stock", code, render(code), now_ms,
                                     stock_code_id=code_id)

    def reserve_unit(self, account_id: str, order_id: str, unit: int, kind: str, code: str, text: str,
                     now_ms: int) -> DeliveryUnit:
        """The unit's row for a code that came from elsewhere (a text, an API answer, an image): written once;
        a unit that has a row already keeps it (and its first code)."""
        with self._write() as conn:
            existing = self._unit(conn, account_id, order_id, unit)
            if existing is not None:
                return existing
            return self._insert_unit(conn, account_id, order_id, unit, kind, code, text, now_ms)

    def is_delivery(self, account_id: str, cid: str, text: str, image_url: str | None) -> bool:
        """Is this own message in chat `cid` one of our deliveries (a unit's text, or an image unit's URL)?"""
        units = self._units
        matches = units.c.text == text
        if image_url:
            matches = matches | ((units.c.kind == "image") & (units.c.code == image_url))
        query = (select(units.c.unit)
                 .join(self._orders, (self._orders.c.account_id == units.c.account_id)
                       & (self._orders.c.order_id == units.c.order_id))
                 .where(self._orders.c.account_id == account_id, self._orders.c.cid == cid, matches).limit(1))
        with self._read() as conn:
            return conn.execute(query).first() is not None

    def note_attempt(self, account_id: str, order_id: str, unit: int, now_ms: int) -> None:
        """Counted BEFORE each send: after a crash, attempts > 0 means "ask the chat before sending again"."""
        units = self._units
        with self._write() as conn:
            conn.execute(update(units).where(*self._unit_key(account_id, order_id, unit))
                         .values(attempts=units.c.attempts + 1, updated_ms=now_ms))

    def mark_unit_sent(self, account_id: str, order_id: str, unit: int, now_ms: int) -> bool:
        """The server acknowledged the unit's message: the unit and its stock code are sent. False when the unit
        was no longer reserved (cancelled meanwhile)."""
        units = self._units
        with self._write() as conn:
            row = conn.execute(update(units)
                               .where(*self._unit_key(account_id, order_id, unit),
                                      units.c.state == DeliveryState.RESERVED.value)
                               .values(state=DeliveryState.SENT.value, sent_ms=now_ms, updated_ms=now_ms)
                               .returning(units.c.stock_code_id)).first()
            if row is not None and row[0] is not None:
                conn.execute(update(self._codes).where(self._codes.c.id == row[0])
                             .values(state="sent", used_ms=now_ms))
            return row is not None

    # -- stock ----------------------------------------------------------------------------------------------------

    def import_codes(self, stock: str, codes: Sequence[str], now_ms: int) -> tuple[int, int]:
        """Add codes to a stock list; (added, duplicates). A code already in the list is not added again."""
        insert = upsert_into(self._dialect, StockCode).on_conflict_do_nothing()
        with self._write() as conn:
            before = self._count(conn, stock)
            if codes:
                conn.execute(insert, [{"stock": stock, "code": code, "state": "available", "added_ms": now_ms}
                                      for code in codes])
            added = self._count(conn, stock) - before
        return added, len(codes) - added

    def stock_counts(self, stock: str | None = None) -> dict[str, dict[str, int]]:
        """{list: {available, reserved, sent}} for one list or all."""
        query = select(StockCode.stock, StockCode.state, func.count()).group_by(StockCode.stock, StockCode.state)
        if stock is not None:
            query = query.where(StockCode.stock == stock)
        counts: dict[str, dict[str, int]] = {}
        with self._read() as conn:
            for name, state, count in conn.execute(query):
                counts.setdefault(name, {"available": 0, "reserved": 0, "sent": 0})[state] = count
        return counts

    def available(self, stock: str) -> int:
        with self._read() as conn:
            return self._count(conn, stock, "available")

    def set_low(self, stock: str, low: bool) -> bool:
        """Record whether the list is low; True only when it just became low, or stopped being low (a
        crossing). A list seen for the first time crossed nothing unless it is low already."""
        alert = table_of(StockAlert)
        with self._write() as conn:
            before = conn.execute(select(alert.c.low).where(alert.c.stock == stock).with_for_update()).first()
            if before is None:
                conn.execute(upsert_into(self._dialect, StockAlert).values(stock=stock, low=low)
                             .on_conflict_do_nothing())
                return low
            if bool(before[0]) == low:
                return False
            conn.execute(update(alert).where(alert.c.stock == stock).values(low=low))
            return True

    def codes(self, stock: str | None = None) -> list[StockCode]:
        """Every code (for the crash test's accounting and `stock list`); callers mask what they print."""
        query = select(StockCode).order_by(StockCode.stock, StockCode.id)
        if stock is not None:
            query = query.where(StockCode.stock == stock)
        with self._read() as conn, Session(conn) as session:
            return list(session.exec(query))

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _count(self, conn: Connection, stock: str, state: str | None = None) -> int:
        query = select(func.count()).where(StockCode.stock == stock)
        if state is not None:
            query = query.where(StockCode.state == state)
        return conn.execute(query).scalar_one()

    def _locked(self, conn: Connection, account_id: str, order_id: str) -> Any:
        """The order's row, locked for the rest of the transaction on PostgreSQL (SQLite's BEGIN IMMEDIATE
        already holds the only write lock)."""
        orders = self._orders
        return conn.execute(select(*orders.c).where(orders.c.account_id == account_id,
                                                    orders.c.order_id == order_id).with_for_update()
                            ).mappings().first()

    def _load(self, conn: Connection, account_id: str, order_id: str) -> OrderRecord | None:
        orders = self._orders
        row = conn.execute(select(*orders.c).where(orders.c.account_id == account_id,
                                                   orders.c.order_id == order_id)).mappings().first()
        return OrderRecord(**row) if row is not None else None

    def _update(self, conn: Connection, account_id: str, order_id: str, changes: dict[str, Any]) -> None:
        orders = self._orders
        conn.execute(update(orders).where(orders.c.account_id == account_id, orders.c.order_id == order_id)
                     .values(**changes))

    def _unit_key(self, account_id: str, order_id: str, unit: int) -> tuple[Any, ...]:
        units = self._units
        return units.c.account_id == account_id, units.c.order_id == order_id, units.c.unit == unit

    def _unit(self, conn: Connection, account_id: str, order_id: str, unit: int) -> DeliveryUnit | None:
        row = conn.execute(select(*self._units.c).where(*self._unit_key(account_id, order_id, unit))
                           ).mappings().first()
        return DeliveryUnit(**row) if row is not None else None

    def _insert_unit(self, conn: Connection, account_id: str, order_id: str, unit: int, kind: str, code: str,
                     text: str, now_ms: int, stock_code_id: int | None = None) -> DeliveryUnit:
        values = {"account_id": account_id, "order_id": order_id, "unit": unit, "kind": kind,
                  "stock_code_id": stock_code_id, "code": code, "text": text,
                  "state": DeliveryState.RESERVED.value, "attempts": 0, "reserved_ms": now_ms,
                  "updated_ms": now_ms}
        # A plain INSERT: a concurrent twin fails on the primary key and its transaction (with any code it
        # took) rolls back, which is the point.
        conn.execute(self._units.insert().values(**values))
        return DeliveryUnit(**values)

    def _cancel(self, conn: Connection, account_id: str, order_id: str, status: str,
                now_ms: int) -> tuple[DeliveryUnit, ...]:
        """Cancel the order's unsent units and put their codes back in stock; settle the order's state."""
        units = self._units
        unsent = [DeliveryUnit(**row) for row in conn.execute(
            select(*units.c).where(units.c.account_id == account_id, units.c.order_id == order_id,
                                   units.c.state.in_(UNSENT_UNITS))).mappings()]
        code_ids = [u.stock_code_id for u in unsent if u.stock_code_id is not None]
        if code_ids:
            conn.execute(update(self._codes).where(self._codes.c.id.in_(code_ids)).values(
                state="available", account_id=None, order_id=None, unit=None))
        if unsent:
            conn.execute(update(units).where(units.c.account_id == account_id, units.c.order_id == order_id,
                                             units.c.state.in_(UNSENT_UNITS))
                         .values(state=DeliveryState.CANCELLED.value, code=None, stock_code_id=None, text="",
                                 updated_ms=now_ms))
        row = self._locked(conn, account_id, order_id)
        if row["delivery_state"] in ACTIVE_STATES or row["delivery_state"] == DeliveryState.FAILED.value:
            sent = conn.execute(select(func.count()).where(
                units.c.account_id == account_id, units.c.order_id == order_id,
                units.c.state == DeliveryState.SENT.value)).scalar_one()
            state = DeliveryState.SENT.value if sent else DeliveryState.CANCELLED.value
            reason = f"order {status} before delivery" + (f"; {sent} unit(s) had been sent" if sent else "")
            self._update(conn, account_id, order_id, {"delivery_state": state, "reason": reason,
                                                      "updated_ms": now_ms})
        return tuple(unsent)


def _delivery_start(row: Any, status: str, deliver_at_ms: int | None, no_rule_reason: str) -> dict[str, Any]:
    """The delivery fields a newly accepted `paid` sets (only on an order whose delivery never started)."""
    if status != "paid" or row["delivery_state"] != DeliveryState.NONE.value:
        return {}
    if deliver_at_ms is None:
        return {"reason": no_rule_reason}
    return {"delivery_state": DeliveryState.PENDING.value, "next_try_ms": deliver_at_ms, "reason": "",
            "attempts": 0}
