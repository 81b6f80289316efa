"""The order state machine (core/orders/states.py) and the claims (core/orders/units.py) on storage/orders.py,
over SQLite and PostgreSQL: notices, reservations, cancelling, leases, races."""

from __future__ import annotations

import multiprocessing

import pytest

from core.errors import DeliveryFailed
from core.orders import units
from core.orders.states import ACTIVE, DeliveryState, accepts, release
from storage import Store
from tests.orders.race import (
    ACCOUNT,
    STOCK,
    STOCK_RULE,
    notice,
    paid_order,
    race_in_threads,
    reserve_in_process,
)

record = notice


def reserve(store: Store, order_id: str, now_ms: int, rule=STOCK_RULE):
    order = store.orders.get(ACCOUNT, order_id)
    assert order is not None
    return units.reserve(store.orders, order, rule, 1, now_ms)[0]


def claim(store: Store, order_id: str, owner: str, now_ms: int, lease_ms: int, alive: bool):
    return units.claim(store.orders, ACCOUNT, order_id, owner, now_ms, lease_ms=lease_ms, alive=lambda _owner: alive)


def give_back(store: Store, order_id: str, owner: str, now_ms: int, **changes):
    with store.orders.edit(ACCOUNT, order_id) as tx:
        cancelled = release(tx, owner, now_ms, changes)
        return tx.order, cancelled


def mark_sent(store: Store, order_id: str, now_ms: int) -> bool:
    return store.orders.mark_unit_sent(ACCOUNT, order_id, 1, now_ms, from_state=DeliveryState.RESERVED,
                                       to_state=DeliveryState.SENT)


def test_accepts_only_forward_moves() -> None:
    assert accepts(None, "shipped")
    assert accepts("unpaid", "paid") and accepts("paid", "shipped") and accepts("shipped", "refund")
    assert not accepts("paid", "paid")  # a repeat
    assert not accepts("shipped", "paid")  # stale, out of order
    assert not accepts("closed", "refund") and not accepts("refund", "paid")


def test_stale_and_repeated_notices_change_nothing_and_history_is_kept(store: Store) -> None:
    assert record(store, "o1", "unpaid", 1).applied
    paid = record(store, "o1", "paid", 2)
    assert paid.applied and paid.previous == "unpaid" and paid.order.delivery_state == "pending"
    assert not record(store, "o1", "paid", 3).applied
    assert record(store, "o1", "shipped", 4).order.shipment_confirmed
    stale = record(store, "o1", "paid", 5)
    assert not stale.applied and stale.order.status == "shipped"
    history = [(t.previous, t.status, t.at_ms) for t in store.orders.transitions(ACCOUNT, "o1")]
    assert history == [(None, "unpaid", 1), ("unpaid", "paid", 2), ("paid", "shipped", 4)]


def test_paid_without_a_rule_delivers_nothing_and_says_why(store: Store) -> None:
    change = notice(store, "o2", "paid", 1, deliver_at_ms=None)
    assert change.order.delivery_state == "none" and change.order.reason == "no delivery rule for this item"
    assert store.orders.due(10, ACTIVE) == []


def test_a_unit_gets_one_code_only(store: Store) -> None:
    store.stock.import_codes(STOCK, ["A", "B", "C"], 0)
    paid_order(store, "o3")
    first = reserve(store, "o3", 5)
    again = reserve(store, "o3", 6)
    assert first == again and (again.code, again.text, again.reserved_at_ms) == ("A", "code A", 5)
    assert store.stock.counts(STOCK)[STOCK] == {"available": 2, "reserved": 1, "sent": 0}
    assert mark_sent(store, "o3", 7)
    assert store.stock.counts(STOCK)[STOCK] == {"available": 2, "reserved": 0, "sent": 1}


def test_empty_stock_reserves_nothing(store: Store) -> None:
    paid_order(store, "o4")
    with pytest.raises(DeliveryFailed, match="stock cards is empty"):
        reserve(store, "o4", 5)
    assert store.orders.units(ACCOUNT, ["o4"]) == []  # nothing half-written


def test_refund_before_sending_returns_the_code(store: Store) -> None:
    store.stock.import_codes(STOCK, ["A", "B"], 0)
    paid_order(store, "o5")
    reserve(store, "o5", 5)
    change = record(store, "o5", "refund", 9)
    assert [u.code for u in change.cancelled] == ["A"]
    assert change.order.delivery_state == "cancelled"
    assert store.stock.counts(STOCK)[STOCK]["available"] == 2
    assert [u.state for u in store.orders.units(ACCOUNT, ["o5"])] == ["cancelled"]
    assert not mark_sent(store, "o5", 10)  # a late ACK cannot resurrect it


def test_a_refund_while_a_worker_holds_the_order_is_settled_by_its_release(store: Store) -> None:
    store.stock.import_codes(STOCK, ["A"], 0)
    paid_order(store, "o6")
    assert claim(store, "o6", "w/1", 10, 60_000, True) is not None
    reserve(store, "o6", 11)
    assert record(store, "o6", "refund", 12).cancelled == ()  # the worker may be sending right now
    order, cancelled = give_back(store, "o6", "w/1", 13)
    assert [u.code for u in cancelled] == ["A"] and order.delivery_state == "cancelled"
    assert store.stock.available(STOCK) == 1


def test_a_lease_is_stolen_only_from_a_dead_or_expired_holder(store: Store) -> None:
    paid_order(store, "o7")
    assert claim(store, "o7", "w/1", 10, 1_000, True) is not None
    assert claim(store, "o7", "w/2", 20, 1_000, True) is None
    assert claim(store, "o7", "w/2", 20, 1_000, False) is not None  # holder died
    assert claim(store, "o7", "w/3", 500, 1_000, True) is None
    assert claim(store, "o7", "w/3", 1_021, 1_000, True) is not None  # expired


def test_import_counts_duplicates(store: Store) -> None:
    assert store.stock.import_codes(STOCK, ["A", "B"], 0) == (2, 0)
    assert store.stock.import_codes(STOCK, ["B", "C", "A"], 0) == (1, 2)


def test_low_stock_fires_once_per_crossing(store: Store) -> None:
    assert store.stock.set_low(STOCK, False) is False  # first sight, not low: nothing crossed
    assert store.stock.set_low(STOCK, True) is True
    assert store.stock.set_low(STOCK, True) is False
    assert store.stock.set_low(STOCK, False) is True
    assert store.stock.set_low(STOCK, True) is True


def test_threads_racing_on_one_order_reserve_one_code(store: Store) -> None:
    store.stock.import_codes(STOCK, [f"C{n}" for n in range(20)], 0)
    paid_order(store, "o8")
    assert len(race_in_threads(store, "o8", threads=8, tag="t")) == 1
    assert store.stock.counts(STOCK)[STOCK]["reserved"] == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_processes_racing_on_one_order_reserve_one_code(db_url: str) -> None:
    with Store(db_url) as store:
        store.stock.import_codes(STOCK, [f"C{n}" for n in range(20)], 0)
        paid_order(store, "o9")
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=reserve_in_process, args=(db_url, "o9", 4, f"p{n}", start, results))
               for n in range(2)]
    for worker in workers:
        worker.start()
    won = [code for _ in workers for code in results.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=30)
    assert len(won) == 1
    with Store(db_url) as store:
        assert store.stock.counts(STOCK)[STOCK] == {"available": 19, "reserved": 1, "sent": 0}
        assert [u.code for u in store.orders.units(ACCOUNT, ["o9"])] == won


def test_a_worker_whose_lease_was_taken_over_changes_nothing(store: Store) -> None:
    paid_order(store, "o10")
    assert claim(store, "o10", "w/1", 10, 1_000, True) is not None
    assert claim(store, "o10", "w/2", 2_000, 1_000, True) is not None  # expired
    assert not store.orders.renew_lease(ACCOUNT, "o10", "w/1", 5_000)
    order, _ = give_back(store, "o10", "w/1", 2_100, delivery_state="failed", reason="late")
    assert (order.delivery_state, order.lease_owner) == ("pending", "w/2")
    assert store.orders.renew_lease(ACCOUNT, "o10", "w/2", 5_000)
