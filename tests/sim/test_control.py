"""The control API's shapes and errors (design.md §3.3)."""

from __future__ import annotations

import re

import requests

from sim.server import Simulator
from tests.sim.conftest import SELLER
from tests.sim.simclient import Control, Seller, parse_cookie

ITEM = "900000000001"


def test_account_cookie_is_complete_and_realistic(control: Control) -> None:
    answer = control.post("accounts", {"unb": SELLER, "nick": "小店"})
    assert answer["unb"] == SELLER
    cookies = parse_cookie(answer["cookie"])
    for name in ("unb", "_m_h5_tk", "_m_h5_tk_enc", "cookie2", "cna", "XSRF-TOKEN", "t", "sgcookie", "tracknick",
                 "_tb_token_"):
        assert cookies.get(name), name
    assert cookies["unb"] == SELLER
    assert re.fullmatch(r"[0-9a-f]{32}_\d{13}", cookies["_m_h5_tk"])
    assert re.fullmatch(r"[0-9a-f]{32}", cookies["_m_h5_tk_enc"])
    state = control.get("state")["accounts"][SELLER]
    assert state["online"] is False
    assert {"connections", "heartbeats", "acks", "tokens_issued", "shipments"} <= set(state)


def test_message_ids_have_platform_formats(control: Control, seller: Seller) -> None:
    first = control.post("messages", {"seller": SELLER, "buyer": "3000000001", "buyer_nick": "买家甲",
                                      "item_id": ITEM, "text": "在吗"})
    again = control.post("messages", {"seller": SELLER, "buyer": "3000000001", "buyer_nick": "买家甲",
                                      "item_id": ITEM, "text": "还在吗"})
    other = control.post("messages", {"seller": SELLER, "buyer": "3000000002", "buyer_nick": "买家乙",
                                      "item_id": ITEM, "text": "在吗"})
    assert re.fullmatch(r"\d{11}", first["cid"])
    assert first["cid"] == again["cid"] != other["cid"]
    assert re.fullmatch(r"[0-9a-f]{32}", first["message_id"])
    assert first["message_id"] != again["message_id"]
    assert control.account(SELLER)["queued"] == 3


def test_orders_get_19_digit_ids_and_move_through_statuses(control: Control, seller: Seller) -> None:
    control.post("items", {"seller": SELLER, "item_id": ITEM, "title": "测试商品", "price": "9.90", "desc": "",
                           "quantity": 5})
    order = control.post("orders", {"seller": SELLER, "buyer": "3000000001", "item_id": ITEM, "status": "unpaid",
                                    "quantity": 2})
    assert re.fullmatch(r"\d{19}", order["order_id"])
    assert order["amount"] == "19.80"
    moved = control.post("orders", {"order_id": order["order_id"], "status": "paid"})
    assert moved["order_id"] == order["order_id"] and moved["status"] == "paid"
    assert [o["status"] for o in control.get("orders", seller=SELLER)["orders"]] == ["paid"]


def test_errors_are_400_or_404_with_a_message(control: Control, seller: Seller) -> None:
    assert "error" in control.post("items", {"seller": "nobody", "item_id": ITEM, "title": "t", "price": "1"}, 404)
    assert "error" in control.post("items", {"seller": SELLER, "item_id": ITEM, "title": "t", "price": "abc"}, 400)
    assert "error" in control.post("messages", {"seller": SELLER, "buyer": "3", "item_id": ITEM}, 400)
    assert "error" in control.post("orders", {"order_id": "1", "status": "paid"}, 404)
    assert "error" in control.post("orders", {"seller": SELLER, "buyer": "3", "item_id": ITEM, "status": "x"}, 400)
    assert "error" in control.post("faults", {"seller": SELLER, "kind": "meteor", "count": 1}, 400)
    assert "error" in control.post("faults", {"seller": "nobody", "kind": "disconnect", "count": 1}, 404)
    assert "error" in control.get("sent", 404, seller="nobody")
    assert "error" in control.post("nothing-here", {}, 404)
    response = requests.post(control.base + "/accounts", data="not json", timeout=5)
    assert response.status_code == 400 and "error" in response.json()


def test_sent_is_empty_before_anything_is_sent(control: Control, seller: Seller) -> None:
    assert control.get("sent", seller=SELLER, since=0) == {"messages": []}


def test_state_reports_fault_budgets(control: Control, seller: Seller, sim: Simulator) -> None:
    control.fault("*", "send_error", 2)
    later = Seller(sim.urls, "2200000000002")
    for unb in (seller.unb, later.unb):
        assert control.account(unb)["faults"]["send_error"] == {"remaining": 2, "fired": 0}
