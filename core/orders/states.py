"""The order state machine, in one place: what a status notice does to an order, when its delivery starts, and what
an order that ended before delivery does to its units. Storage runs these inside one `OrderTx` (the order's row
locked); it decides nothing itself.

    unpaid → paid → shipped → completed          closed / refund end it from anywhere
             └ delivery: none → pending → reserved → sent        (failed: tries used up; cancelled: ended first)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from storage import DeliveryUnit, OrderRecord, OrderTx


class OrderStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CLOSED = "closed"
    REFUND = "refund"


class DeliveryState(StrEnum):
    """An order's delivery as a whole (`OrderRecord.delivery_state`) and one unit's (`DeliveryUnit.state`)."""

    NONE = "none"  # nothing to deliver (not paid, or no delivery rule for the item)
    PENDING = "pending"  # waiting: its delay, a retry, stock, or a unit without a code yet
    RESERVED = "reserved"  # the code is held for this order/unit; sending (or resending after a crash)
    SENT = "sent"  # the server acknowledged the message carrying the code
    FAILED = "failed"  # tries used up; `reason` says why; the seller may retry
    CANCELLED = "cancelled"  # closed or refunded before delivery: codes went back to stock


ACTIVE = (DeliveryState.PENDING.value, DeliveryState.RESERVED.value)  # a worker has something to do
UNSENT = ACTIVE  # units that may still be cancelled
ENDED = (OrderStatus.CLOSED.value, OrderStatus.REFUND.value)
# Later states rank higher; a notice moves an order only forward. closed and refund end it either way.
RANK = {"unpaid": 0, "paid": 1, "shipped": 2, "completed": 3, "closed": 4, "refund": 4}


def accepts(previous: str | None, status: str) -> bool:
    """Does a notice saying `status` move an order that is `previous`? (Repeats and stale ones do not.)"""
    return previous is None or RANK.get(status, -1) > RANK.get(previous, -1)


@dataclass(frozen=True)
class StatusChange:
    """What a notice did: the order after it, its status before (None: first seen), whether the new status was
    taken, and the units it cancelled (their codes went back to stock)."""

    order: OrderRecord
    previous: str | None
    applied: bool
    cancelled: tuple[DeliveryUnit, ...] = ()


def apply_notice(tx: OrderTx, status: str, at_ms: int, deliver_at_ms: int | None, no_rule_reason: str,
                 message_id: str, known: dict[str, Any]) -> StatusChange:
    """Apply a status notice to the locked order (created when first seen). `known` (cid, buyer …) fills fields
    still empty. A move to paid starts the delivery at `deliver_at_ms` (None: nothing to deliver, `no_rule_reason`
    says why); a move to closed or refund cancels the unsent units unless a worker holds the order (its release
    cancels them)."""
    row = tx.order
    previous = None if row is None else row.status
    if row is None:
        row = tx.create(status=status, created_at_ms=at_ms, updated_at_ms=at_ms,
                        delivery_state=DeliveryState.NONE.value)
    changes: dict[str, Any] = {name: value for name, value in known.items() if value and not getattr(row, name)}
    applied = accepts(previous, status)
    if applied:
        changes |= {"status": status, "updated_at_ms": at_ms}
        tx.add_transition(previous, status, at_ms, message_id)
        changes |= _delivery_start(row, status, deliver_at_ms, no_rule_reason)
        if status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED):
            changes["shipment_confirmed"] = True
    row = tx.update(**changes)
    cancelled: tuple[DeliveryUnit, ...] = ()
    if applied and status in ENDED and row.lease_until_ms <= at_ms:
        cancelled = cancel_unsent(tx, status, at_ms)
    return StatusChange(tx.order or row, previous, applied, cancelled)


def release(tx: OrderTx, owner: str, now_ms: int, changes: dict[str, Any]) -> tuple[DeliveryUnit, ...]:
    """Give the order back with `changes` if `owner` still holds it; cancel what is unsent when the order ended
    while it was held. The cancelled units."""
    row = tx.order
    assert row is not None, "released an order that does not exist"
    if row.lease_owner != owner:  # another worker took over: its outcome counts, not ours
        return ()
    row = tx.update(**changes, lease_owner="", lease_until_ms=0, updated_at_ms=now_ms)
    return cancel_unsent(tx, row.status, now_ms) if row.status in ENDED else ()


def cancel_unsent(tx: OrderTx, status: str, now_ms: int) -> tuple[DeliveryUnit, ...]:
    """Cancel the order's unsent units (codes back to stock) and settle the delivery's state and reason."""
    unsent = tx.units(UNSENT)
    tx.cancel_units(unsent, DeliveryState.CANCELLED.value, now_ms)
    row = tx.order
    assert row is not None
    if row.delivery_state in ACTIVE or row.delivery_state == DeliveryState.FAILED:
        sent = tx.count_units(DeliveryState.SENT.value)
        state = DeliveryState.SENT if sent else DeliveryState.CANCELLED
        reason = f"order {status} before delivery" + (f"; {sent} unit(s) had been sent" if sent else "")
        tx.update(delivery_state=state.value, reason=reason, updated_at_ms=now_ms)
    return tuple(unsent)


def _delivery_start(row: OrderRecord, status: str, deliver_at_ms: int | None, no_rule_reason: str) -> dict[str, Any]:
    """The delivery fields a newly accepted paid sets (only on an order whose delivery never started)."""
    if status != OrderStatus.PAID or row.delivery_state != DeliveryState.NONE:
        return {}
    if deliver_at_ms is None:
        return {"reason": no_rule_reason}
    return {"delivery_state": DeliveryState.PENDING.value, "next_try_at_ms": deliver_at_ms, "reason": "",
            "attempts": 0}
