"""Delivery rules end to end: api (against a local HTTP server), text, failure → failed → retry, resend,
low stock, the dashboard's view."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from core import events as ev
from core.errors import OrderActionError
from tests.orders.support import (
    SELLER,
    codes_sent,
    fill_stock,
    place_paid,
    shipments,
    start_with_rule,
    stock_seller,
    wait_delivered,
)
from tests.service.conftest import ITEM, Env
from tests.service.support import stays, wait_until


class CodeServer:
    """The seller's own system: answers {"data": {"code": "API-<order>-<unit>"}}, or 500 while `down`."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.down = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self._answer(dict((k, v[0]) for k, v in parse_qs(urlsplit(self.path).query).items()))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                self._answer(json.loads(self.rfile.read(length) or b"{}"))

            def _answer(self, values: dict[str, Any]) -> None:
                owner.calls.append(values)
                status, body = (500, {}) if owner.down else (
                    200, {"data": {"code": f"API-{values.get('order_id')}-{values.get('unit')}"}})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def code_server() -> Iterator[CodeServer]:
    server = CodeServer()
    yield server
    server.close()


def sent_texts(env: Env) -> list[str]:
    return [m["text"] for m in env.ctl.sent(env.unb(SELLER))]


def test_api_rule_asks_the_sellers_system_once_per_unit(env: Env, code_server: CodeServer) -> None:
    run = start_with_rule(env, {
        "item": ITEM, "api": code_server.url + "/code?order_id={order_id}&unit={unit}", "field": "data.code",
        "message": "激活码 {code}", "after": "感谢 {buyer_nick}"})
    order_id = place_paid(env, quantity=2)
    wait_delivered(run, order_id)
    assert sent_texts(env) == [f"激活码 API-{order_id}-1", f"激活码 API-{order_id}-2\n感谢 {run.store.orders.get(SELLER, order_id).buyer_nick}"]
    assert [(c["order_id"], c["unit"]) for c in code_server.calls] == [(order_id, "1"), (order_id, "2")]
    wait_until(lambda: order_id in shipments(env))


def test_failures_are_retried_then_failed_with_a_reason_then_retried_by_hand(env: Env,
                                                                               code_server: CodeServer) -> None:
    code_server.down = True
    rule = {"item": ITEM, "api": code_server.url + "/code", "method": "POST", "field": "data.code", "retries": 1,
            "timeout": 2}
    run = start_with_rule(env, rule, delivery_attempts=2, delivery_retry_seconds=0.1)
    order_id = place_paid(env)
    failed = run.events.wait_for(ev.DeliveryChanged, SELLER, timeout=15, order_id=order_id, state="failed")
    assert "HTTP 500" in failed.reason and len(code_server.calls) == 4  # 2 tries × (1 + 1 retry)
    view = run.svc.orders.recent(SELLER)[0]
    assert (view.delivery_state, view.order_id) == ("failed", order_id) and "HTTP 500" in view.reason
    assert not sent_texts(env) and order_id not in shipments(env)
    code_server.down = False
    run.svc.orders.retry(order_id)
    wait_delivered(run, order_id)
    assert sent_texts(env) == [f"API-{order_id}-1"]
    assert code_server.calls[-1]["order_id"] == order_id and code_server.calls[-1]["quantity"] == "1"


def test_text_rule_with_confirm_before(env: Env) -> None:
    run = start_with_rule(env, {"default": True, "confirm": "before",
                                "text": "订单{order_id}：{item_title} ×{quantity} 下载 https://x.example/{order_id}"})
    order_id = place_paid(env)
    wait_delivered(run, order_id)
    assert sent_texts(env) == [f"订单{order_id}：会员兑换码 ×1 下载 https://x.example/{order_id}"]
    assert order_id in shipments(env)
    statuses = [t.status for t in run.store.orders.transitions(SELLER, order_id)]
    assert statuses[:3] == ["unpaid", "paid", "shipped"]


def test_resend_sends_the_same_code_and_takes_none(env: Env) -> None:
    run = env.start([stock_seller(env, 3)])
    codes = fill_stock(run, "cards", 3)
    order_id = place_paid(env)
    wait_delivered(run, order_id)
    run.svc.orders.resend(order_id)
    wait_until(lambda: codes_sent(env, codes) == [codes[0], codes[0]])
    assert run.store.stock.counts("cards")["cards"] == {"available": 2, "reserved": 0, "sent": 1}
    with pytest.raises(OrderActionError, match="no order"):
        run.svc.orders.resend("123")
    with pytest.raises(OrderActionError, match="nothing to retry"):
        run.svc.orders.retry(order_id)


def test_low_stock_is_raised_once_per_crossing_and_codes_stay_masked(env: Env) -> None:
    run = env.start([stock_seller(env, 4, low_stock=2)])
    codes = fill_stock(run, "cards", 4)
    for buyer in ("3300000000011", "3300000000012", "3300000000013"):
        wait_delivered(run, place_paid(env, buyer=buyer))
    lows = run.events.of(ev.StockLow, SELLER)
    assert [(e.stock, e.left, e.threshold) for e in lows] == [("cards", 2, 2)]
    views = run.svc.orders.recent(SELLER)
    assert len(views) == 3 and all(v.delivery_state == "sent" and len(v.units) == 1 for v in views)
    shown = repr(views) + repr(run.events.all())
    assert not any(code in shown for code in codes)


def test_an_item_without_a_rule_is_recorded_not_delivered(env: Env) -> None:
    run = env.start([stock_seller(env, 1)])
    order_id = place_paid(env, item="900000000099")
    change = run.events.wait_for(ev.OrderChanged, SELLER, order_id=order_id, status="paid")
    assert change.previous == "unpaid"
    order = run.store.orders.get(SELLER, order_id)
    assert order.delivery_state == "none" and order.reason == "no delivery rule for this item"
    run.svc.orders.retry(order_id)  # still no rule: back to none, saying why
    wait_until(lambda: run.store.orders.get(SELLER, order_id).reason == "no delivery rule for this item")
    assert run.store.orders.get(SELLER, order_id).delivery_state == "none"


def test_image_rule_sends_the_picture_and_its_caption(env: Env) -> None:
    run = start_with_rule(env, {"item": ITEM, "image": "https://img.example.com/guide.png",
                                "message": "订单{order_id} 使用说明见图"})
    order_id = place_paid(env)
    wait_delivered(run, order_id)
    sent = [(m["content_type"], m["text"]) for m in env.ctl.sent(env.unb(SELLER))]
    assert sent == [(2, "https://img.example.com/guide.png"), (1, f"订单{order_id} 使用说明见图")]
    assert stays(lambda: not run.events.of(ev.ChatPaused, SELLER), 0.5)  # both echoes known as ours


def test_empty_stock_fails_with_the_reason_and_a_retry_after_import_delivers(env: Env) -> None:
    run = env.start([stock_seller(env, 0)], settings={"delivery_attempts": 2, "delivery_retry_seconds": 0.1})
    order_id = place_paid(env)
    failed = run.events.wait_for(ev.DeliveryChanged, SELLER, timeout=10, order_id=order_id, state="failed")
    assert failed.reason == "stock cards is empty"
    codes = fill_stock(run, "cards", 2)
    run.svc.orders.retry(order_id)
    wait_delivered(run, order_id)
    assert codes_sent(env, codes) == [codes[0]]


def test_threads_racing_on_one_order_send_once(env: Env) -> None:
    """Four threads run the delivery of one order at the same moment (the scan is held off by the delay)."""
    run = env.start([stock_seller(env, 5, delay=1.5)])
    codes = fill_stock(run, "cards", 5)
    order_id = place_paid(env, quantity=2)
    run.events.wait_for(ev.OrderChanged, SELLER, order_id=order_id, status="paid")
    wait_until(lambda: run.store.orders.get(SELLER, order_id).cid)
    start = threading.Barrier(4)

    def race() -> None:
        start.wait(timeout=10)
        run.svc.orders.deliver(SELLER, order_id)

    racers = [threading.Thread(target=race) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=30)
    wait_delivered(run, order_id)
    assert stays(lambda: sorted(codes_sent(env, codes)) == codes[:2], 2.0)  # past the delay: the scan adds none
