"""Demo buyers (`--demo-buyers`): simulated people who chat, haggle, buy, pay and confirm receipt.

Every seller account (also ones created later) gets a few demo listings, and then a new buyer starts a
conversation about one of its items every 10–20 s, typing a line every few seconds — a pace a person can follow
on the dashboard (all delays are multiplied by `demo_pace`). A buyer may walk away, or order, pay, wait for the
seller's client to ship (consign.dummy), then confirm receipt; a few close the order or ask for a refund. Choices
come from one seeded random generator (`seed`), and everything runs on one daemon thread.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sim import trade
from sim.market import Item, parse_yuan
from sim.state import SimState

Script = Iterator[float]    # a scenario: acts, then yields how long to wait (unscaled seconds) before going on


@dataclass(frozen=True)
class DemoListing:
    title: str
    price: str
    desc: str
    quantity: int
    virtual: bool


LISTINGS = (
    DemoListing("二手 iPhone 13 128G 午夜色 95新 电池87%", "2699.00",
                "自用 iPhone 13，国行无拆无修，屏幕无划痕，原盒配件齐全", 1, False),
    DemoListing("Switch 游戏卡带 塞尔达传说 王国之泪 中文版", "259.00",
                "卡带无划痕，盒子说明书都在，顺丰到付或加10元包邮", 2, False),
    DemoListing("腾讯视频VIP会员月卡 兑换码 自动发货", "15.00",
                "虚拟商品，付款后自动发兑换码，兑换后不退不换", 99, True),
    DemoListing("九成新 小米手环8 NFC版 黑色", "129.00", "用了三个月，功能正常，送一根备用表带", 1, False),
)
NICKS = ("小鱼儿爱淘宝", "快乐的柠檬", "tb_88392017", "阿杰不吃香菜", "夏天的风", "喵喵酱", "老王在闲鱼",
         "一只小猫咪", "Lucky星星", "数码控小张", "爱吃草莓的熊", "江南烟雨")
GREETINGS = ("在吗", "还在吗", "你好，宝贝还在吗", "老板在吗")
QUESTIONS = ("包邮吗", "成色怎么样", "有没有磕碰", "什么时候发货", "怎么发货", "是正品吗", "能看下实拍图吗")
VIRTUAL_QUESTIONS = ("兑换码怎么用", "拍下多久发货", "是自动发货吗", "有效期多久")
HAGGLES = ("能便宜点吗", "最低多少", "诚心要，少点吧", "{price}有点贵，便宜二十行吗")
WALK_AWAY = ("好的，我再看看", "算了，有点贵", "那我考虑一下")

NEW_CHAT_EVERY = (10.0, 20.0)
LINE_PAUSE = (2.0, 6.0)
SHIP_POLL = 2.0
SHIP_PATIENCE = 120.0


class DemoMarket:
    def __init__(self, state: SimState) -> None:
        self._state = state
        self._rng = random.Random(state.options.seed)
        self._pace = state.options.demo_pace
        self._new_sellers: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._agenda: list[tuple[float, int, Script]] = []
        self._tiebreak = itertools.count()
        self._virtual: set[str] = set()      # item ids of demo listings that are virtual goods
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-demo-buyers", daemon=True)

    def start(self) -> None:
        self._state.on_account_created(self._new_sellers.put)
        with self._state.transaction() as world:
            existing = list(world.accounts)
        for unb in existing:
            self._new_sellers.put(unb)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    # -- scheduling ---------------------------------------------------------------------------------------------
    def _schedule(self, script: Script, delay: float) -> None:
        heapq.heappush(self._agenda, (time.monotonic() + delay * self._pace, next(self._tiebreak), script))

    def _run(self) -> None:
        while not self._stopping.is_set():
            while not self._new_sellers.empty():
                seller = self._new_sellers.get()
                self._stock(seller)
                self._schedule(self._seller(seller), 2.0)
            wait = self._agenda[0][0] - time.monotonic() if self._agenda else 0.5
            if self._stopping.wait(min(max(wait, 0.0), 0.5)):
                return
            while self._agenda and self._agenda[0][0] <= time.monotonic():
                _, _, script = heapq.heappop(self._agenda)
                delay = next(script, None)
                if delay is not None:
                    self._schedule(script, delay)

    def _pause(self, span: tuple[float, float] = LINE_PAUSE) -> float:
        return self._rng.uniform(*span)

    # -- actors -------------------------------------------------------------------------------------------------
    def _stock(self, seller: str) -> None:
        with self._state.transaction() as world:
            for listing in LISTINGS:
                item_id = f"9{self._rng.randint(10**10, 10**11 - 1)}"
                world.market.put_item(Item(seller, item_id, listing.title, parse_yuan(listing.price), listing.desc,
                                           listing.quantity))
                if listing.virtual:
                    self._virtual.add(item_id)

    def _seller(self, seller: str) -> Script:
        """Forever: a new buyer turns up every 10–20 s."""
        while True:
            with self._state.transaction() as world:
                items = world.market.seller_items(seller)
            if items:
                item = self._rng.choice(items)
                buyer = str(self._rng.randint(2_000_000_000, 2_299_999_999))
                self._schedule(self._buyer(seller, buyer, self._rng.choice(NICKS), item), 0.0)
            yield self._pause(NEW_CHAT_EVERY)

    def _buyer(self, seller: str, buyer: str, nick: str, item: Item) -> Script:
        virtual = item.item_id in self._virtual
        rng = self._rng

        def say(line: str) -> None:
            with self._state.transaction() as world:
                trade.post_buyer_message(world, seller, buyer, nick, item.item_id, line, None)

        say(rng.choice(GREETINGS))
        yield self._pause()
        for question in rng.sample(VIRTUAL_QUESTIONS if virtual else QUESTIONS, k=rng.randint(1, 2)):
            say(question)
            yield self._pause()
        if not virtual and rng.random() < 0.6:
            say(rng.choice(HAGGLES).format(price=f"{item.price_fen // 100}元"))
            yield self._pause()
        if rng.random() < 0.25:
            say(rng.choice(WALK_AWAY))
            return
        with self._state.transaction() as world:
            order = trade.create_order(world, seller, buyer, item.item_id, "unpaid", 1).order_id
        yield self._pause()
        if rng.random() < 0.1:
            self._set_status(order, "closed")
            return
        self._set_status(order, "paid")
        say("已付款，麻烦尽快发货" if not virtual else "付好了，发一下兑换码")
        waited = 0.0
        while self._status(order) == "paid":
            if waited >= SHIP_PATIENCE:
                say("这么久还没发货，我申请退款了")
                self._set_status(order, "refund")
                return
            waited += SHIP_POLL
            yield SHIP_POLL
        if self._status(order) != "shipped":
            return      # someone else (a test, the control API) moved the order on
        yield self._pause((5.0, 15.0))
        if rng.random() < 0.1:
            say("东西和描述不一样，申请退款了")
            self._set_status(order, "refund")
            return
        self._set_status(order, "completed")
        say("收到了，谢谢老板，好评" if not virtual else "兑换成功了，谢谢")

    def _status(self, order_id: str) -> str:
        with self._state.transaction() as world:
            return trade.require_order(world, order_id).status

    def _set_status(self, order_id: str, status: str) -> None:
        with self._state.transaction() as world:
            trade.set_order_status(world, order_id, status)
