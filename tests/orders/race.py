"""Order helpers for the storage-level tests: notices applied the way the worker applies them, and threads and
processes claiming one order and reserving its unit at once (core/orders/units.py, as the worker runs it).

A module of its own so spawned processes can import `reserve_in_process` by name.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from core.config import DeliveryRule
from core.orders import units
from core.orders.states import StatusChange, apply_notice
from storage import Store

ACCOUNT = "shop-a"
STOCK = "cards"
STOCK_RULE = DeliveryRule(kind="stock", source=STOCK, message="code {code}")


def notice(store: Store, order_id: str, status: str, at_ms: int, deliver_at_ms: int | None = 0,
           no_rule_reason: str = "no delivery rule for this item") -> StatusChange:
    """A trade notice for `order_id`, applied in the order's transaction (as `Orders.on_notice` does)."""
    with store.orders.edit(ACCOUNT, order_id) as tx:
        return apply_notice(tx, status, at_ms, deliver_at_ms, no_rule_reason, f"mid-{order_id}-{status}",
                            {"cid": "c1", "buyer_id": "b1"})


def paid_order(store: Store, order_id: str) -> None:
    notice(store, order_id, "paid", 1)


def claim_and_reserve(store: Store, order_id: str, owner: str) -> str | None:
    """What a delivery worker does first: claim the order, then reserve unit 1. The code it got, or None."""
    claimed = units.claim(store.orders, ACCOUNT, order_id, owner, 10, lease_ms=60_000)
    if claimed is None:
        return None
    unit, _ = units.reserve(store.orders, claimed, STOCK_RULE, 1, 10)
    return unit.code


def race_in_threads(store: Store, order_id: str, threads: int, tag: str,
                    before_start: threading.Barrier | None = None) -> list[str]:
    start = threading.Barrier(threads, action=(lambda: before_start.wait(timeout=60)) if before_start else None)

    def run(n: int) -> str | None:
        store.stock.available(STOCK)  # warm the connection so no thread gets a head start
        start.wait(timeout=60)
        return claim_and_reserve(store, order_id, f"{tag}/{n}")

    with ThreadPoolExecutor(threads) as pool:
        return [code for code in pool.map(run, range(threads)) if code]


def reserve_in_process(url: str, order_id: str, threads: int, tag: str, start: Barrier,
                       results: Queue[list[str]]) -> None:
    with Store(url) as store:
        results.put(race_in_threads(store, order_id, threads, tag, before_start=start))
