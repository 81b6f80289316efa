"""One worker per order, and one code per unit: the two claims the delivery's exactly-once rests on.

- `claim`: make a worker the order's only one with a lease, by compare-and-swap on the lease it saw. A lease is
  taken from another holder only when it expired or its process is gone (same host, pid not running) — which is
  what a restart after kill -9 finds.
- `reserve`: the unit's row and (for stock) its code, written in ONE transaction on the locked order; a unit that
  has a row keeps it, so every later pass — a retry, a restart, a second process — sends the very same text.

Both are plain functions over `storage.OrderStore`, so the race tests run exactly what the worker runs.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable

from core.config import DeliveryRule
from core.errors import DeliveryFailed
from core.orders.delivery import template_values, unit_code, unit_text
from core.orders.states import ACTIVE, DeliveryState
from storage import DeliveryUnit, OrderRecord, OrderStore, OrderTx

LEASE_MS = 120_000  # longer than one pass can take (sends time out after http_timeout, API tries are bounded)

_HOST = socket.gethostname()
_PID = os.getpid()


def new_owner() -> str:
    """A lease owner name: host/pid/nonce, so a later process can tell whether the holder still runs."""
    return f"{_HOST}/{_PID}/{uuid.uuid4().hex[:12]}"


def holder_alive(owner: str) -> bool:
    """Whether the process that took a lease still runs. Only a process on this host can be checked; for any
    other the lease's expiry decides."""
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != _HOST or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == _PID:
        return True  # another thread of ours is on it (a lease left by a crashed thread waits for its expiry)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(orders: OrderStore, account_id: str, order_id: str, owner: str, now_ms: int, *, lease_ms: int = LEASE_MS,
          alive: Callable[[str], bool] = holder_alive) -> OrderRecord | None:
    """Make `owner` the order's only worker until now + `lease_ms`; None when another live worker holds it or
    nothing is left to deliver."""
    order = orders.get(account_id, order_id)
    if order is None or order.delivery_state not in ACTIVE:
        return None
    held = order.lease_owner and order.lease_owner != owner
    if held and order.lease_until_ms > now_ms and alive(order.lease_owner):
        return None
    return orders.take_lease(order, owner, now_ms + lease_ms, ACTIVE)


def reserve(orders: OrderStore, order: OrderRecord, rule: DeliveryRule, unit_no: int,
            now_ms: int) -> tuple[DeliveryUnit, bool]:
    """Unit `unit_no`'s row, reserved now if it has none: (the unit, whether this call reserved it).

    A code from elsewhere (an API answer may take an HTTP call) is fetched before the transaction: nothing in it
    may wait on the network (on SQLite it holds the only write lock). A stock code is taken inside it, with the
    row, so a crash leaves both or neither. Raises DeliveryFailed when the stock is empty."""
    existing = next((u for u in orders.units(order.account_id, [order.order_id]) if u.unit == unit_no), None)
    if existing is not None:
        return existing, False
    quantity = order.quantity or 1

    def render(code: str) -> str:
        values = template_values(order.order_id, order.buyer_nick, order.item_title, quantity, unit_no, code)
        return unit_text(rule, values, unit_no == 1, unit_no == quantity)

    code = None if rule.kind == "stock" else unit_code(
        rule, template_values(order.order_id, order.buyer_nick, order.item_title, quantity, unit_no))
    with orders.edit(order.account_id, order.order_id) as tx:
        written = tx.unit(unit_no)  # a concurrent pass may have written it meanwhile: its code stands
        if written is not None:
            return written, False
        return _add_unit(tx, rule, unit_no, code, render, now_ms), True


def _add_unit(tx: OrderTx, rule: DeliveryRule, unit_no: int, code: str | None, render: Callable[[str], str],
              now_ms: int) -> DeliveryUnit:
    """The unit's row, in the order's transaction: with a stock code taken in it, or with `code` from elsewhere
    (a text, an API answer, an image)."""
    if code is not None:
        return tx.add_unit(unit_no, kind=rule.kind, code=code, text=render(code),
                           state=DeliveryState.RESERVED.value, now_ms=now_ms)
    picked = tx.take_code(rule.source, unit_no)
    if picked is None:
        raise DeliveryFailed(f"stock {rule.source} is empty")
    code_id, stock_code = picked
    return tx.add_unit(unit_no, kind="stock", code=stock_code, text=render(stock_code),
                       state=DeliveryState.RESERVED.value, now_ms=now_ms, stock_code_id=code_id)
