"""End to end against the simulator: a buyer pays, the code arrives and the order is shipped."""

from __future__ import annotations

from core import events as ev
from tests.orders.support import SELLER, codes_sent, fill_stock, place_paid, shipments, stock_seller, wait_delivered
from tests.service.conftest import Env
from tests.service.support import wait_until


def test_paid_order_gets_one_code_and_is_confirmed_shipped(env: Env) -> None:
    run = env.start([stock_seller(env, 5)])
    codes = fill_stock(run, "cards", 5)
    order_id = place_paid(env)
    wait_delivered(run, order_id)
    wait_until(lambda: order_id in shipments(env))
    assert codes_sent(env, codes) == [codes[0]]
    assert run.store.orders.stock_counts("cards")["cards"] == {"available": 4, "reserved": 0, "sent": 1}
    changed = run.events.of(ev.DeliveryChanged, SELLER, order_id=order_id, state="sent")
    assert [e.unit for e in changed] == [1] and codes[0] not in changed[0].code
    statuses = [t.status for t in run.store.orders.transitions(SELLER, order_id)]
    wait_until(lambda: [t.status for t in run.store.orders.transitions(SELLER, order_id)][-1] == "shipped")
    assert statuses[:2] == ["unpaid", "paid"]
