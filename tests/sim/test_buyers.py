"""Demo buyers, sped up: they stock every seller, chat, order, pay, and confirm receipt once the seller ships."""

from __future__ import annotations

import re
import time

from sim.server import start
from tests.sim.simclient import Im, Seller, decode_item

SELLER = "2200000000001"
ITEM_LIST = "mtop.idle.web.xyh.item.list"


def demo_items(seller: Seller) -> list[str]:
    cards = seller.mtop(ITEM_LIST, {"userId": seller.unb})["data"]["cardList"]
    return [card["cardData"]["id"] for card in cards]


def test_demo_buyers_run_a_whole_sale() -> None:
    with start(demo_buyers=True, demo_pace=0.02, seed=5) as sim:
        seller = Seller(sim.urls, SELLER)
        deadline = time.monotonic() + 5
        while not demo_items(seller) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(demo_items(seller)) == 4
        im = seller.connect()
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while "[买家确认收货，交易成功]" not in seen and time.monotonic() < deadline:
            push = im.push(object_type=40000, timeout=10)
            im.ack(push)
            message = decode_item(push["body"]["syncPushPackage"]["data"][0])[1]
            seen.append(message[10]["reminderContent"])
            if seen[-1] == "[我已付款，等待你发货]":
                order_id = re.search(r"order_detail\?id=(\d+)", message[6][3][5])[1]
                seller.mtop("mtop.taobao.idle.logistic.consign.dummy", {"orderId": order_id})
        Im.close_all()
    assert "[买家确认收货，交易成功]" in seen
    assert "[我已拍下，待付款]" in seen and "[你已发货]" in seen
    chat = [text for text in seen if not text.startswith("[")]
    assert len(chat) >= 3 and any(greeting in chat for greeting in ("在吗", "还在吗", "你好，宝贝还在吗", "老板在吗"))


def test_the_seed_makes_the_demo_reproducible() -> None:
    stocks = []
    for _ in range(2):
        with start(demo_buyers=True, demo_pace=0.02, seed=11) as sim:
            seller = Seller(sim.urls, SELLER)
            deadline = time.monotonic() + 5
            while not demo_items(seller) and time.monotonic() < deadline:
                time.sleep(0.05)
            stocks.append(sorted(demo_items(seller)))
    assert stocks[0] == stocks[1] and len(stocks[0]) == 4
