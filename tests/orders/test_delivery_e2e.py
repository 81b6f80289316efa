"""End to end against the simulator: a buyer pays, the code arrives and the order is shipped."""

from __future__ import annotations

from core import events as ev
from core.config import DeliveryRule
from core.orders import units
from core.orders.states import apply_notice
from storage import Store
from tests.orders.support import (
    SELLER,
    codes_sent,
    fill_stock,
    place_paid,
    shipments,
    stock_seller,
    wait_delivered,
)
from tests.service.conftest import BUYER, ITEM, Env
from tests.service.support import stays, wait_until


def test_paid_order_gets_one_code_and_is_confirmed_shipped(env: Env) -> None:
    run = env.start([stock_seller(env, 5)])
    codes = fill_stock(run, "cards", 5)
    order_id = place_paid(env)
    wait_delivered(run, order_id)
    wait_until(lambda: order_id in shipments(env))
    assert codes_sent(env, codes) == [codes[0]]
    assert run.store.stock.counts("cards")["cards"] == {"available": 4, "reserved": 0, "sent": 1}
    changed = run.events.of(ev.DeliveryChanged, SELLER, order_id=order_id, state="sent")
    assert [e.unit for e in changed] == [1] and codes[0] not in changed[0].code
    statuses = [t.status for t in run.store.orders.transitions(SELLER, order_id)]
    wait_until(lambda: [t.status for t in run.store.orders.transitions(SELLER, order_id)][-1] == "shipped")
    assert statuses[:2] == ["unpaid", "paid"]


def test_quantity_three_sends_three_distinct_codes(env: Env) -> None:
    run = env.start([stock_seller(env, 5)])
    codes = fill_stock(run, "cards", 5)
    order_id = place_paid(env, quantity=3)
    wait_delivered(run, order_id)
    sent = codes_sent(env, codes)
    assert sorted(sent) == codes[:3]
    assert [u.state for u in run.store.orders.units(SELLER, [order_id])] == ["sent"] * 3
    assert run.svc.orders.recent(SELLER)[0].units[2].state == "sent"


def test_paid_pushed_twice_delivers_once(env: Env) -> None:
    run = env.start([stock_seller(env, 5)])
    codes = fill_stock(run, "cards", 5)
    order_id = place_paid(env)
    env.ctl.order(order_id=order_id, status="paid")  # the platform re-pushes the paid card
    wait_delivered(run, order_id)
    wait_until(lambda: len(run.events.of(ev.OrderNotice, SELLER, order_id=order_id)) >= 3)
    assert stays(lambda: codes_sent(env, codes) == [codes[0]], 1.0)
    assert len(run.events.of(ev.OrderChanged, SELLER, order_id=order_id, status="paid")) == 1


def test_refund_before_delivery_consumes_no_code(env: Env) -> None:
    run = env.start([stock_seller(env, 5, delay=1.0)])
    codes = fill_stock(run, "cards", 5)
    order_id = place_paid(env)
    run.events.wait_for(ev.OrderChanged, SELLER, order_id=order_id, status="paid")
    env.ctl.order(order_id=order_id, status="refund")
    run.events.wait_for(ev.OrderChanged, SELLER, order_id=order_id, status="refund")
    assert stays(lambda: not codes_sent(env, codes), 1.5)
    order = run.store.orders.get(SELLER, order_id)
    assert order.delivery_state == "cancelled" and "refund" in order.reason
    assert run.store.stock.counts("cards")["cards"]["available"] == 5
    assert order_id not in shipments(env)


def test_restart_resends_a_reserved_code_not_a_new_one(env: Env) -> None:
    """A crash between reserving and sending: the next run sends the SAME code."""
    account = stock_seller(env, 5)
    env.write([account])
    run = env.launch()
    codes = fill_stock(run, "cards", 5)
    run.stop()
    order_id = place_paid(env)  # the seller is offline: queued by the platform
    # What a killed process leaves: the order recorded as paid, unit 1 reserved (code taken), never sent.
    with Store(env.db_url) as store:
        with store.orders.edit(SELLER, order_id) as tx:  # chat and buyer come with the trade card replayed
            apply_notice(tx, "paid", 1, 0, "", "", {})
        order = store.orders.update(SELLER, order_id, lease_owner="elsewhere/1/dead", lease_until_ms=1)
        assert order is not None
        units.reserve(store.orders, order, DeliveryRule(kind="stock", source="cards", message="卡密：{code}"), 1, 1)
    run = env.restart(run)
    wait_delivered(run, order_id)
    assert stays(lambda: codes_sent(env, codes) == [codes[0]], 1.0)


def test_the_echo_of_a_delivery_is_not_taken_for_the_seller_typing(env: Env) -> None:
    """Delivery messages come back as own echoes like any send; they must not pause the chat (as a hand-typed
    message would) nor enter the chat history as the seller's words (with the code in full)."""
    account = stock_seller(env, 3)
    account["default_reply"] = "在的"
    run = env.start([account])
    codes = fill_stock(run, "cards", 3)
    order_id = place_paid(env)
    wait_delivered(run, order_id)
    cid = run.store.orders.get(SELLER, order_id).cid
    wait_until(lambda: any(codes[0] in m.text for m in run.store.messages.recent(SELLER, cid))
               or env.ctl.account_state(env.unb(SELLER))["unacked"] == 0)
    env.ctl.message(env.unb(SELLER), BUYER, "收到了，谢谢", item_id=ITEM)
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(env.unb(SELLER), cid)][-1:] == ["在的"])
    assert run.events.of(ev.ChatPaused, SELLER) == []
    assert not any(codes[0] in line.text for line in run.store.chats.history(SELLER, cid))


def test_a_refund_after_the_code_was_reserved_returns_it_to_stock(env: Env) -> None:
    run = env.start([stock_seller(env, 3)], settings={"delivery_retry_seconds": 0.3})
    codes = fill_stock(run, "cards", 3)
    env.ctl.fault(env.unb(SELLER), "send_error", -1)  # every send is refused: the code stays reserved
    order_id = place_paid(env)
    run.events.wait_for(ev.DeliveryChanged, SELLER, order_id=order_id, state="retrying")
    assert run.store.stock.counts("cards")["cards"]["reserved"] == 1
    env.ctl.order(order_id=order_id, status="refund")
    cancelled = run.events.wait_for(ev.DeliveryChanged, SELLER, order_id=order_id, state="cancelled")
    assert cancelled.unit == 1 and codes[0] not in cancelled.code
    env.ctl.fault(env.unb(SELLER), "send_error", 0)
    wait_until(lambda: run.store.orders.get(SELLER, order_id).delivery_state == "cancelled")
    assert run.store.stock.counts("cards")["cards"] == {"available": 3, "reserved": 0, "sent": 0}
    assert stays(lambda: not codes_sent(env, codes), 1.0)
    assert order_id not in shipments(env)
