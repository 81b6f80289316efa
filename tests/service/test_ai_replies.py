"""AI replies end to end: the real service, the simulator, and a fake OpenAI-compatible model over real sockets.

What reached the buyer is read from the simulator (`/_sim/sent`); what the model was asked, from the fake's request
log. The model proposes, the program decides: every case below scripts a misbehaving model and checks the buyer
never sees what it should not.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from core import events as ev
from core.bargain.prices import find_prices
from sim.llm import FakeModel
from tests.service.conftest import BUYER, BUYER2, Env
from tests.service.support import stays, wait_until

ITEM = "900052644277"
DEFAULT = "在的，有什么可以帮您？"


def ai_settings(model: FakeModel, **extra: Any) -> dict[str, Any]:
    return {"ai": {"base_url": model.base_url, "model": "sim-chat", "timeout": 3, **extra}}


def start_shop(env: Env, model: FakeModel, *, ai: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
               **account: Any) -> Any:
    entry = env.seller("shop-a", ai={"enabled": True, "prompt": "你是数码小铺的客服", **(ai or {})},
                       default_reply={"text": DEFAULT}, **account)
    running = env.start([entry], settings={**ai_settings(model), **(settings or {})})
    env.ctl.item(env.unb("shop-a"), ITEM, "索尼 A7M3 相机", price="100.00", desc="九成新，带原装电池", quantity=1)
    return running


def reply_to(env: Env, text: str, buyer: str = BUYER, timeout: float = 8.0) -> str:
    """The reply to one new message (its chat may have earlier ones)."""
    unb = env.unb("shop-a")
    before = len(env.ctl.sent(unb))
    cid = env.ctl.message(unb, buyer, text, item_id=ITEM)["cid"]
    replies = wait_until(lambda: [m for m in env.ctl.sent(unb)[before:] if m["cid"] == cid], timeout,
                         f"no reply to {text!r}")
    return replies[-1]["text"]


def prices_in(text: str) -> list[Decimal]:
    return [mention.value for mention in find_prices(text, Decimal(100))]


def test_the_model_knows_the_item_the_chat_and_the_shop(env: Env, model: FakeModel) -> None:
    start_shop(env, model, keywords=[{"match": "包邮", "reply": "包邮的"}])
    assert reply_to(env, "包邮吗") == "包邮的"  # keyword rules come first: no model call
    assert model.requests() == []
    assert reply_to(env, "这个相机成色怎么样") == "好的，亲，有什么可以帮您？"
    [request] = model.requests()
    system = request["messages"][0]["content"]
    for fact in ("索尼 A7M3 相机", "100元", "九成新，带原装电池", "库存：1", "你是数码小铺的客服"):
        assert fact in system, fact
    turns = [(m["role"], m["content"]) for m in request["messages"][1:]]
    assert turns == [("user", "包邮吗"), ("assistant", "包邮的"), ("user", "这个相机成色怎么样")]
    assert request["response_format"] == {"type": "json_object"}


def test_structured_answers_are_unpacked(env: Env, model: FakeModel) -> None:
    start_shop(env, model)
    model.script(queue=[{"json": {"intent": "question", "price": None, "reply": "九成新，功能完好"}}])
    assert reply_to(env, "有划痕吗") == "九成新，功能完好"


@pytest.mark.parametrize("step", [{"content": ""}, {"status": 500}, {"status": 429}, {"delay": 30}],
                         ids=["empty", "http-500", "http-429", "stall"])
def test_a_failing_model_falls_through_to_the_next_rule(env: Env, model: FakeModel, step: dict[str, Any]) -> None:
    start_shop(env, model, settings=ai_settings(model, timeout=1))
    model.script(queue=[step])
    began = time.monotonic()
    assert reply_to(env, "在吗，问一下") == DEFAULT
    assert time.monotonic() - began < 4


def test_a_stalled_model_does_not_delay_keyword_replies_elsewhere(env: Env, model: FakeModel) -> None:
    shop_a = env.seller("shop-a", ai={"enabled": True}, keywords=[{"match": "包邮", "reply": "包邮的"}],
                        default_reply={"text": DEFAULT})
    shop_b = env.seller("shop-b", keywords=[{"match": "包邮", "reply": "b 包邮"}])
    env.start([shop_a, shop_b], settings={**ai_settings(model, timeout=5), "ai_concurrency": 2})
    model.script(default={"delay": 30})
    unb_a, unb_b = env.unb("shop-a"), env.unb("shop-b")
    stalled = [env.ctl.message(unb_a, f"33000000001{i:02d}", "能便宜点吗")["cid"] for i in range(4)]
    wait_until(lambda: len(model.requests()) >= 2, 5, "the model was not asked")
    began = time.monotonic()
    other_chat = env.ctl.message(unb_a, BUYER2, "包邮吗")["cid"]
    other_account = env.ctl.message(unb_b, BUYER, "包邮吗")["cid"]
    wait_until(lambda: env.ctl.sent_in(unb_a, other_chat) and env.ctl.sent_in(unb_b, other_account), 3,
               "a keyword reply waited for the stalled model")
    assert time.monotonic() - began < 1.5
    assert all(env.ctl.sent_in(unb_a, cid) == [] for cid in stalled)  # still waiting for the model …
    for cid in stalled:  # … until the timeout: then the default answers each of them
        assert wait_until(lambda c=cid: env.ctl.sent_in(unb_a, c), 15)[0]["text"] == DEFAULT


def test_no_more_model_calls_at_once_than_ai_concurrency(env: Env, model: FakeModel) -> None:
    import threading

    start_shop(env, model, settings={**ai_settings(model, timeout=5), "ai_concurrency": 2})
    model.script(default={"delay": 1, "content": "好的"})
    unb = env.unb("shop-a")
    cids = [env.ctl.message(unb, f"33000000002{i:02d}", "这个能用多久")["cid"] for i in range(6)]
    wait_until(lambda: len(model.requests()) >= 1, 5)
    peak = 0
    while not all(env.ctl.sent_in(unb, cid) for cid in cids):
        peak = max(peak, sum(t.name.startswith("slow-rule") for t in threading.enumerate()))
        time.sleep(0.05)
    assert 1 <= peak <= 2


def test_a_price_below_the_floor_never_reaches_the_buyer(env: Env, model: FakeModel) -> None:
    start_shop(env, model, bargain={"floor": "80", "max_rounds": 3})
    model.script(queue=[{"content": "行吧，60元卖你"}, {"content": "给你打个七折吧"}, {"content": "那就再减30"}])
    for text in ("60能卖吗", "最少多少", "再少点"):
        sent = reply_to(env, text)
        assert prices_in(sent) and min(prices_in(sent)) >= 80, sent


def test_a_bigger_concession_than_decided_is_rewritten_to_the_decided_price(env: Env, model: FakeModel) -> None:
    run = start_shop(env, model, bargain={"floor": "80", "max_rounds": 2})
    model.script(default={"content": "好的，80元给你"})
    first = reply_to(env, "70行不行")
    [draft] = wait_until(lambda: run.store.ai.drafts("sent"), 5)  # written beside the reply, not before it
    assert draft.draft == "好的，80元给你" and draft.decision.startswith("counter")
    decided = prices_in(first)
    assert decided and decided[0] > 80, first  # round 1 of 2 concedes half the way, not all of it
    assert draft.checks  # the rewrite is recorded with the draft
    second = reply_to(env, "再少一点吧")
    assert prices_in(second)[0] <= decided[0]  # never back up
    third = reply_to(env, "还能少吗")
    assert prices_in(third) == [Decimal(80)]  # final: the floor, said only because it is the decided price


def test_the_rounds_survive_a_restart(env: Env, model: FakeModel) -> None:
    run = start_shop(env, model, bargain={"floor": "80", "max_rounds": 2})
    model.script(default={"obey": True})
    assert min(prices_in(reply_to(env, "70元卖吗"))) > 80
    env.restart(run)
    after = [prices_in(reply_to(env, text)) for text in ("再少一点吧", "少点嘛", "最低多少")]
    assert after[0] == [Decimal(80)] and after[1] == [Decimal(80)] and after[2] == [Decimal(80)], after


def test_contact_details_are_blocked_and_the_next_rule_answers(env: Env, model: FakeModel) -> None:
    run = start_shop(env, model)
    model.script(queue=[{"content": "加我微信 abc123 细聊"}, {"content": "打我电话 13812345678"}])
    assert reply_to(env, "可以私聊吗") == DEFAULT
    assert reply_to(env, "怎么联系你") == DEFAULT
    blocked = run.store.ai.drafts("blocked")
    assert len(blocked) == 2 and all(d.checks for d in blocked)


def test_every_rule_is_checked_not_only_the_ai(env: Env, model: FakeModel) -> None:
    entry = env.seller("shop-a", keywords=[{"match": "联系", "reply": "加我VX: shop888"},
                                           {"match": "多少钱", "reply": "{item_title} 现价 99 元，拍下即发"}],
                       default_reply={"text": DEFAULT}, items=[{"id": ITEM, "bargain": {"floor": "90%"}}])
    env.start([entry])
    unb = env.unb("shop-a")
    # The listing went up to 150 since the rule was written for 99: the floor is now 135.
    env.ctl.item(unb, ITEM, "相机", price="150.00")
    assert reply_to(env, "怎么联系") == DEFAULT  # the keyword reply steers off the platform: the next rule
    quoted = reply_to(env, "多少钱")
    prices = [m.value for m in find_prices(quoted, Decimal(150))]
    assert prices and min(prices) >= 135, quoted


def test_a_buyer_who_asks_for_a_person_gets_the_seller(env: Env, model: FakeModel) -> None:
    run = start_shop(env, model)
    unb = env.unb("shop-a")
    assert reply_to(env, "我要转人工") == DEFAULT  # the AI keeps out; the default says someone is there
    run.events.wait_for(ev.NeedsYou, "shop-a")
    assert model.requests() == []
    cid = env.ctl.message(unb, BUYER, "人呢？", item_id=ITEM)["cid"]
    wait_until(lambda: len(env.ctl.sent_in(unb, cid)) >= 2, 5)
    assert model.requests() == []  # still the seller's chat
    from core.control import Control

    control = Control(run.svc)
    assert [(a, c) for a, c, _, _ in control.needs_you()] == [("shop-a", cid)]
    assert control.send_manual("shop-a", cid, BUYER, "我来了，您说")
    control.resume("shop-a", cid)
    assert control.needs_you() == []
    reply_to(env, "这个相机几成新")
    assert len(model.requests()) == 1  # answered by hand: the AI is back


def test_no_ai_in_a_paused_chat_or_after_the_order_is_paid(env: Env, model: FakeModel) -> None:
    run = start_shop(env, model)
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "你好", item_id=ITEM)["cid"]
    wait_until(lambda: env.ctl.sent_in(unb, cid), 5)
    assert len(model.requests()) == 1
    from core.control import Control

    Control(run.svc).pause("shop-a", cid, 5)
    env.ctl.message(unb, BUYER, "在吗", item_id=ITEM)
    assert stays(lambda: len(model.requests()) == 1, 1.0)
    Control(run.svc).resume("shop-a", cid)
    env.ctl.order(seller=unb, buyer=BUYER, item_id=ITEM, status="paid")
    wait_until(lambda: run.store.orders.statuses_in_chat("shop-a", cid), 5, "the paid order was not recorded")
    env.ctl.message(unb, BUYER, "什么时候发货", item_id=ITEM)
    wait_until(lambda: len(env.ctl.sent_in(unb, cid)) >= 2, 5)
    assert len(model.requests()) == 1


def test_suggest_mode_waits_for_the_seller(env: Env, model: FakeModel) -> None:
    from core.ai.errors import SuggestionRefused
    from core.control import Control

    run = start_shop(env, model, ai={"mode": "suggest"}, takeover_minutes=10)
    unb = env.unb("shop-a")
    control = Control(run.svc)
    model.script(default={"content": "九成新，功能完好"})
    cid = env.ctl.message(unb, BUYER, "几成新", item_id=ITEM)["cid"]
    event = run.events.wait_for(ev.DraftSuggested, "shop-a")
    assert event.text == "九成新，功能完好"
    assert stays(lambda: env.ctl.sent_in(unb, cid) == [], 0.5)  # a draft is not sent
    [draft] = control.suggestions()
    assert control.send_suggestion(draft.id)
    assert [m["text"] for m in env.ctl.sent_in(unb, cid)] == ["九成新，功能完好"]
    assert control.pauses(0) == []  # approved as written: the bot stays on
    with pytest.raises(SuggestionRefused):
        control.send_suggestion(draft.id)  # a second press sends nothing
    env.ctl.message(unb, BUYER, "能便宜吗", item_id=ITEM)
    wait_until(lambda: len(control.suggestions()) == 1, 5)
    [second] = control.suggestions()
    with pytest.raises(SuggestionRefused):
        control.send_suggestion(second.id, "加我微信聊")  # an edit passes the checks too
    assert control.send_suggestion(second.id, "不好意思，已经是最低价了")
    assert [p[1] for p in control.pauses(0)] == [cid]  # edited: the seller took over
    env.ctl.message(unb, BUYER2, "在吗", item_id=ITEM)
    wait_until(lambda: len(control.suggestions()) == 1, 5)
    [third] = control.suggestions()
    control.discard_suggestion(third.id)
    assert control.suggestions() == [] and run.store.ai.drafts("discarded")[0].id == third.id


def test_usage_is_counted_and_the_daily_cap_passes_to_the_next_rule(env: Env, model: FakeModel) -> None:
    from core.control import Control

    run = start_shop(env, model, ai={"daily_tokens": 1, "cost": {"input": 1000, "output": 2000}})
    assert reply_to(env, "几成新") == "好的，亲，有什么可以帮您？"
    [today] = Control(run.svc).ai_usage("shop-a")
    assert today.calls == 1 and today.prompt_tokens > 0 and today.completion_tokens > 0 and today.cost > 0
    assert reply_to(env, "还在吗") == DEFAULT  # over the cap: the model is not asked
    assert len(model.requests()) == 1


def test_the_api_key_stays_secret(env: Env, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-4f9c2b7e1d8a6035"
    monkeypatch.setenv("SHOP_AI_KEY", secret)
    with FakeModel(api_key="another-key") as model:
        start_shop(env, model, ai={"api_key_env": "SHOP_AI_KEY"})
        assert reply_to(env, "你好") == DEFAULT  # 401: refused, so the default answers
    assert secret not in caplog.text and secret[6:] not in caplog.text
    assert "401" in caplog.text


def test_one_draft_waits_per_chat(env: Env, model: FakeModel) -> None:
    from core.control import Control

    run = start_shop(env, model, ai={"mode": "suggest"})
    control = Control(run.svc)
    unb = env.unb("shop-a")
    model.script(queue=[{"content": "第一稿"}, {"content": "第二稿"}])
    env.ctl.message(unb, BUYER, "在吗", item_id=ITEM)
    wait_until(lambda: [d.text for d in control.suggestions()] == ["第一稿"], 5)
    env.ctl.message(unb, BUYER, "几成新", item_id=ITEM)
    wait_until(lambda: [d.text for d in control.suggestions()] == ["第二稿"], 5)
    assert [d.text for d in run.store.ai.drafts("replaced")] == ["第一稿"]


def test_the_agreed_price_is_shown_with_the_order(env: Env, model: FakeModel) -> None:
    from core.control import Control

    run = start_shop(env, model, bargain={"floor": "80", "max_rounds": 2})
    model.script(default={"obey": True})
    assert prices_in(reply_to(env, "90元可以吗")) == [Decimal(90)]  # above this round's counter: accepted at 90
    env.ctl.order(seller=env.unb("shop-a"), buyer=BUYER, item_id=ITEM, status="paid")
    [order] = wait_until(lambda: Control(run.svc).orders(10), 5, "the order was not recorded")
    assert order.agreed_price == "90.00"


def test_outside_hours_the_next_rule_answers(env: Env, model: FakeModel) -> None:
    now = time.localtime()
    start = (now.tm_hour * 60 + now.tm_min + 120) % 1440  # a window that opens in two hours and lasts one
    window = f"{start // 60:02d}:{start % 60:02d}-{(start + 60) // 60 % 24:02d}:{(start + 60) % 60:02d}"
    start_shop(env, model, ai={"hours": window})
    assert reply_to(env, "在吗") == DEFAULT
    assert model.requests() == []
