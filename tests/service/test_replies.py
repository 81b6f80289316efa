"""The reply chain end to end: buyer message in the simulator → Service → reply in /_sim/sent.

    item keyword → keyword → item default → account default (once per chat), "" = silence
"""

from __future__ import annotations

import logging

from core import events as ev
from tests.service.conftest import BUYER, ITEM, ITEM2, Env
from tests.service.support import chat_rows, stays, wait_until

ITEM3 = "900000000003"

RULES = {
    "keywords": [
        {"match": "包邮", "reply": "包邮的，拍下就发"},                                    # keyword[0]
        {"match": {"regex": "多少钱|价格"}, "item": ITEM,
         "reply": "{item_title} 现价 {item_price} 元"},                                   # item_keyword[1]
        {"match": {"regex": r"^\d+元(能|可以)出吗"}, "reply": "不议价哦"},                 # keyword[2]
        {"match": {"exact": "在吗"}, "reply": "在的亲"},                                   # keyword[3]
        {"match": "发票", "reply": ""},                                                    # keyword[4]
        {"match": "ok", "reply": "好的👌"},                                                # keyword[5]
        {"match": "优惠", "reply": "{{优惠}} 都在页面上"},                                  # keyword[6]
    ],
    "item_replies": [
        {"item": ITEM2, "reply": "{buyer_nick} 您好，{item_title}（{item_price} 元）今天发。您说：{text}"},
    ],
    "default_reply": {"text": "您好，有什么可以帮您？", "once": True},
}


def _setup(env: Env):
    a = env.seller("shop-a", **RULES)
    unb = env.unb("shop-a")
    env.ctl.item(unb, ITEM, "二手 iPhone 13 128G", "2999.00")
    env.ctl.item(unb, ITEM2, "Switch 游戏卡带 {限定版}", "199.50")
    env.ctl.item(unb, ITEM3, "小米手环 8", "149.00")
    run = env.start([a])
    return run, unb


def _ask(env: Env, unb: str, buyer: str, text: str, item: str = ITEM, nick: str | None = None) -> str:
    return env.ctl.message(unb, buyer, text, item_id=item, buyer_nick=nick)["cid"]


def _reply_in(env: Env, unb: str, cid: str, timeout: float = 5.0) -> dict:
    return wait_until(lambda: env.ctl.sent_in(unb, cid), timeout, f"no reply in chat {cid}")[0]


def _decision(run, cid: str, decision: str):
    return run.events.wait_for(ev.MessageDecided, "shop-a", cid=cid, decision=decision)


def test_keyword_contains_is_case_and_width_insensitive(env: Env) -> None:
    run, unb = _setup(env)
    cid = _ask(env, unb, "3300000000011", "请问包邮吗？")
    reply = _reply_in(env, unb, cid)
    assert reply["text"] == "包邮的，拍下就发"
    assert reply["to"] == "3300000000011"
    cid2 = _ask(env, unb, "3300000000012", "ＯＫ，我拍了", item=ITEM3)  # full-width letters from an IME
    assert _reply_in(env, unb, cid2)["text"] == "好的👌"
    sent = run.events.wait_for(ev.ReplySent, "shop-a", cid=cid)
    assert sent.rule == "keyword[0]" and sent.to_id == "3300000000011"


def test_item_keyword_only_in_its_items_chat_and_before_general_keywords(env: Env) -> None:
    run, unb = _setup(env)
    cid = _ask(env, unb, "3300000000021", "多少钱？包邮吗")  # both match: the item-bound rule goes first
    assert _reply_in(env, unb, cid)["text"] == "二手 iPhone 13 128G 现价 2999.00 元"
    assert run.events.wait_for(ev.ReplySent, "shop-a", cid=cid).rule == "item_keyword[1]"
    # The same question about another item: the item-bound rule does not apply there.
    other = _ask(env, unb, "3300000000022", "多少钱", item=ITEM3)
    reply = _reply_in(env, unb, other)
    assert reply["text"] == "您好，有什么可以帮您？"
    assert "现价" not in reply["text"]


def test_regex_and_exact(env: Env) -> None:
    run, unb = _setup(env)
    cid = _ask(env, unb, "3300000000031", "100元能出吗", item=ITEM3)
    assert _reply_in(env, unb, cid)["text"] == "不议价哦"
    cid2 = _ask(env, unb, "3300000000032", "  在吗 ", item=ITEM3)
    assert _reply_in(env, unb, cid2)["text"] == "在的亲"
    # Not exactly 在吗: falls through to the account default.
    cid3 = _ask(env, unb, "3300000000033", "在吗在吗", item=ITEM3)
    assert _reply_in(env, unb, cid3)["text"] == "您好，有什么可以帮您？"
    assert run.events.wait_for(ev.ReplySent, "shop-a", cid=cid2).rule == "keyword[3]"
    # Doubled braces in a configured reply are literal braces.
    cid4 = _ask(env, unb, "3300000000034", "有优惠吗", item=ITEM3)
    assert _reply_in(env, unb, cid4)["text"] == "{优惠} 都在页面上"


def test_bracketed_buyer_text_is_answered_and_only_exact_platform_notices_are_not(env: Env, caplog) -> None:
    caplog.set_level(logging.INFO, "core.replies.inbound")
    run, unb = _setup(env)
    cid = _ask(env, unb, "3300000000035", "[急] 多少钱 [急]")
    assert _reply_in(env, unb, cid)["text"] == "二手 iPhone 13 128G 现价 2999.00 元"
    stickers = _ask(env, unb, "3300000000036", "[微笑][微笑]", item=ITEM3)
    assert _reply_in(env, unb, stickers)["text"] == "您好，有什么可以帮您？"
    notice = _ask(env, unb, "3300000000037", "快给ta一个评价吧~", item=ITEM3)
    wait_until(lambda: [(m.kind, m.decision) for m in run.store.messages.recent("shop-a", notice)] == [
        ("system", "system")])
    assert stays(lambda: env.ctl.sent_in(unb, notice) == [], 0.3)
    # Never silently: the log says what was taken for the platform's words, and why.
    assert [r.getMessage() for r in caplog.records if "platform notice" in r.getMessage()] == [
        f"shop-a: chat {notice}: not answered, a platform notice (content type 1): 快给ta一个评价吧~"]


def test_item_default_fills_templates_and_keeps_buyer_braces(env: Env) -> None:
    run, unb = _setup(env)
    text = "{item_title} {buyer_nick} {0.__class__} {{x}} 有货吗"
    cid = _ask(env, unb, "3300000000041", text, item=ITEM2, nick="小明同学")
    reply = _reply_in(env, unb, cid)
    assert reply["to"] == "3300000000041"
    assert reply["text"] == f"小明同学 您好，Switch 游戏卡带 {{限定版}}（199.50 元）今天发。您说：{text}"
    assert run.events.wait_for(ev.ReplySent, "shop-a", cid=cid).rule == f"item_default[{ITEM2}]"
    # The item's details were cached in storage for the next reply.
    cached = run.store.items.get(ITEM2)
    assert cached is not None and cached.title == "Switch 游戏卡带 {限定版}" and cached.price == "199.50"


def test_account_default_once_per_chat(env: Env) -> None:
    run, unb = _setup(env)
    cid = _ask(env, unb, "3300000000051", "你好", item=ITEM3)
    assert _reply_in(env, unb, cid)["text"] == "您好，有什么可以帮您？"
    _ask(env, unb, "3300000000051", "还在吗？", item=ITEM3)
    _decision(run, cid, "once_already")
    # Another chat gets the default once as well.
    other = _ask(env, unb, "3300000000052", "你好", item=ITEM3)
    assert _reply_in(env, unb, other)["text"] == "您好，有什么可以帮您？"
    assert len(env.ctl.sent_in(unb, cid)) == 1
    assert [m.text for m in chat_rows(run.store, "shop-a", cid)] == ["还在吗？", "你好"]
    assert [m.decision for m in chat_rows(run.store, "shop-a", cid)] == ["once_already", "replied"]


def test_silent_rule_sends_nothing_and_stops_the_chain(env: Env) -> None:
    run, unb = _setup(env)
    # A fresh chat: without the silent rule the once-default would answer it.
    cid = _ask(env, unb, "3300000000061", "能开发票吗", item=ITEM3)
    _decision(run, cid, "silent")
    assert env.ctl.sent_in(unb, cid) == []
    [row] = chat_rows(run.store, "shop-a", cid)
    assert (row.decision, row.rule) == ("silent", "keyword[4]")
    # The chain stopped at the silent rule: the once-default was not claimed, so the next message gets it.
    _ask(env, unb, "3300000000061", "你好", item=ITEM3)
    assert _reply_in(env, unb, cid)["text"] == "您好，有什么可以帮您？"
    assert stays(lambda: len(env.ctl.sent_in(unb, cid)) == 1, 0.3)


def test_every_reply_is_stored_with_its_timings(env: Env) -> None:
    run, unb = _setup(env)
    cid = _ask(env, unb, BUYER, "包邮吗")
    _reply_in(env, unb, cid)
    wait_until(lambda: [line for line in run.store.chats.history("shop-a", cid) if line.status == "sent"])
    lines = run.store.chats.history("shop-a", cid)
    assert [(line.direction, line.text, line.rule, line.status) for line in lines] == [
        ("in", "包邮吗", "keyword[0]", "replied"),
        ("out", "包邮的，拍下就发", "keyword[0]", "sent"),
    ]
    [row] = chat_rows(run.store, "shop-a", cid)
    assert row.sender_id == BUYER and row.item_id == ITEM and row.kind == "chat"
    assert row.created_at_ms <= row.received_at_ms + 1000 and row.decided_at_ms >= row.received_at_ms
    snap = next(s for s in run.svc.manager.snapshots() if s.account_id == "shop-a")
    assert (snap.messages_in, snap.replies_out) == (1, 1)
