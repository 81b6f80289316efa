"""Race helpers for orders: threads and processes claiming one order and reserving its unit at once.

A module of its own so spawned processes can import `reserve_in_process` by name.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from core.orders.worker import holder_alive
from storage import Store

ACCOUNT = "shop-a"
STOCK = "cards"


def paid_order(store: Store, order_id: str) -> None:
    store.orders.record_status(account_id=ACCOUNT, order_id=order_id, status="paid", at_ms=1,
                               accept=lambda *_: True, deliver_at_ms=0, cid="c1", buyer_id="b1")


def claim_and_reserve(store: Store, order_id: str, owner: str) -> str | None:
    """What a delivery worker does first: claim the order, then reserve unit 1. The code it got, or None."""
    claimed = store.orders.claim(ACCOUNT, order_id, owner, 10, 60_000, holder_alive)
    if claimed is None:
        return None
    unit = store.orders.reserve_stock_unit(ACCOUNT, order_id, 1, STOCK, lambda code: code, 10)
    return unit.code if unit is not None else None


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
