"""The checks before the reply chain, end to end: debounce, dedupe (also across restarts), own echoes and
takeover, notices/order cards/read receipts, too-old messages."""

from __future__ import annotations

import time

from core import events as ev
from core.clock import now_ms
from core.control import Control
from tests.service.conftest import BUYER, BUYER2, ITEM, ITEM2, Env
from tests.service.support import chat_rows, stays, wait_until

ECHO_RULES = {"default_reply": "收到：{text}"}  # a plain string: every message, every time


def _replies(env: Env, account_id: str, cid: str | None = None) -> list[str]:
    unb = env.unb(account_id)
    return [m["text"] for m in env.ctl.sent(unb) if cid is None or m["cid"] == cid]


def _settled(env: Env, account_id: str) -> None:
    """Every push the simulator logged for the account was ACKed by the client."""
    wait_until(lambda: env.ctl.account_state(env.unb(account_id))["unacked"] == 0, 5,
               lambda: f"unacked pushes: {env.ctl.account_state(env.unb(account_id))}")


# --------------------------------------------------------------------------------------------- debounce


def test_debounce_answers_a_burst_once_to_the_newest_message(env: Env) -> None:
    a = env.seller("shop-a", debounce_seconds=0.5, **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    cid = ""
    for text in ("第一条", "第二条", "第三条"):
        cid = env.ctl.message(unb, BUYER, text)["cid"]
    wait_until(lambda: _replies(env, "shop-a", cid))
    assert stays(lambda: len(_replies(env, "shop-a", cid)) == 1, 0.8)
    [reply] = env.ctl.sent_in(unb, cid)
    assert reply["text"] == "收到：第三条" and reply["to"] == BUYER
    rows = {m.text: m.decision for m in chat_rows(run.store, "shop-a", cid)}
    assert rows == {"第一条": "debounced", "第二条": "debounced", "第三条": "replied"}
    # A burst in another chat is debounced on its own.
    other = env.ctl.message(unb, BUYER2, "别的聊天")["cid"]
    wait_until(lambda: _replies(env, "shop-a", other) == ["收到：别的聊天"])


def test_restarting_the_account_during_the_debounce_window_still_answers(env: Env) -> None:
    """A restart (hot reload of the account, or the dashboard) while a burst waits must not lose its reply."""
    a = env.seller("shop-a", debounce_seconds=1, **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "防抖时重启")["cid"]
    run.events.wait_for(ev.MessageReceived, "shop-a", cid=cid)
    run.svc.manager.restart("shop-a")
    env.wait_online(run, "shop-a")
    wait_until(lambda: _replies(env, "shop-a", cid) == ["收到：防抖时重启"], 5,
               lambda: f"not answered; failures: {run.events.of(ev.ReplyFailed)}")


def test_stopping_during_the_debounce_window_answers_after_restart(env: Env) -> None:
    """A message received but not yet answered when the service stops is answered after the restart."""
    a = env.seller("shop-a", debounce_seconds=1, **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "防抖时停止")["cid"]
    run.events.wait_for(ev.MessageReceived, "shop-a", cid=cid)
    run = env.restart(run)
    wait_until(lambda: _replies(env, "shop-a", cid) == ["收到：防抖时停止"], 5,
               lambda: f"never answered; stored: {[(m.text, m.decision) for m in chat_rows(run.store, 'shop-a')]}")
    assert stays(lambda: len(_replies(env, "shop-a", cid)) == 1, 0.3)


# --------------------------------------------------------------------------------------------- dedupe


def test_replayed_messages_are_not_answered_twice(env: Env) -> None:
    a = env.seller("shop-a", **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    cids = [env.ctl.message(unb, buyer, f"问题{n}")["cid"] for n, buyer in enumerate((BUYER, BUYER2))]
    cids.append(env.ctl.message(unb, BUYER, "再问一个", item_id=ITEM2)["cid"])
    wait_until(lambda: len(env.ctl.sent(unb)) == 3)
    _settled(env, "shop-a")
    before = env.ctl.account_state(unb)
    run.stop()
    # The position persisted on stop is the newest pushed item's pts.
    assert run.store.accounts.get("shop-a").sync_pts == before["last_pts"]

    # Forget the sync position: the next start asks the simulator to replay everything it still has.
    run.store.accounts.update("shop-a", now_ms(), sync_pts=0)
    run = env.restart(run)
    _settled(env, "shop-a")
    after = env.ctl.account_state(unb)
    assert after["last_sync_pts"] < before["last_pts"] - 1_000_000, "the restart did not ask for a replay"
    assert after["acks"] - before["acks"] >= before["log_items"], "the log was not replayed"
    assert stays(lambda: len(env.ctl.sent(unb)) == 3, 0.5)
    assert run.events.of(ev.MessageReceived) == []  # every replayed item stopped at the dedupe
    # The replayed own echoes did not look hand-typed: no chat got paused, each still answers.
    assert run.events.of(ev.ChatPaused) == []
    env.ctl.message(unb, BUYER, "还有一个问题")
    wait_until(lambda: _replies(env, "shop-a", cids[0]) == ["收到：问题0", "收到：还有一个问题"])


def test_messages_posted_while_stopped_are_answered_once_after_restart(env: Env) -> None:
    a = env.seller("shop-a", **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "在线时的问题")["cid"]
    wait_until(lambda: _replies(env, "shop-a", cid))
    run.stop()
    assert not env.ctl.online(unb)
    env.ctl.message(unb, BUYER, "离线时的问题1")
    other = env.ctl.message(unb, BUYER2, "离线时的问题2")["cid"]
    assert env.ctl.account_state(unb)["queued"] == 2
    run = env.restart(run)
    wait_until(lambda: len(env.ctl.sent(unb)) == 3)
    assert _replies(env, "shop-a", cid) == ["收到：在线时的问题", "收到：离线时的问题1"]
    assert _replies(env, "shop-a", other) == ["收到：离线时的问题2"]
    # And once more: the positions and the dedupe marks survive a second restart.
    _settled(env, "shop-a")
    run = env.restart(run)
    _settled(env, "shop-a")
    assert stays(lambda: len(env.ctl.sent(unb)) == 3, 0.5)


# --------------------------------------------------------------------------------------------- own echo, takeover


def test_own_echo_does_not_pause_but_the_seller_typing_does(env: Env) -> None:
    a = env.seller("shop-a", takeover_minutes=10, **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "一")["cid"]
    wait_until(lambda: _replies(env, "shop-a", cid) == ["收到：一"])
    # Our echo comes back before the next message of this chat and is handled first (one queue per chat).
    env.ctl.message(unb, BUYER, "二")
    wait_until(lambda: _replies(env, "shop-a", cid) == ["收到：一", "收到：二"])
    assert run.events.of(ev.ChatPaused) == []

    env.ctl.seller_message(unb, cid, "我是老板，亲自来回答")
    paused = run.events.wait_for(ev.ChatPaused, "shop-a", cid=cid)
    assert paused.until_ms > now_ms() + 9 * 60_000
    env.ctl.message(unb, BUYER, "三")
    run.events.wait_for(ev.MessageDecided, "shop-a", cid=cid, decision="paused")
    assert _replies(env, "shop-a", cid) == ["收到：一", "收到：二"]
    manual = [line for line in run.store.chats.history("shop-a", cid) if line.status == "manual"]
    assert [line.text for line in manual] == ["我是老板，亲自来回答"]
    # Another chat of the same account still gets answers.
    other = env.ctl.message(unb, BUYER2, "别的")["cid"]
    wait_until(lambda: _replies(env, "shop-a", other) == ["收到：别的"])

    # The pause is persisted: it survives a restart of the service.
    _settled(env, "shop-a")
    run = env.restart(run)
    env.ctl.message(unb, BUYER, "四")
    run.events.wait_for(ev.MessageDecided, "shop-a", cid=cid, decision="paused")
    assert _replies(env, "shop-a", cid) == ["收到：一", "收到：二"]


def test_takeover_pause_ends_after_takeover_minutes(env: Env) -> None:
    # 0.02 minutes = 1.2 s. (The pipeline computes the pause as int(minutes * 60_000) ms.)
    a = env.seller("shop-a", takeover_minutes=0.02, **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "一")["cid"]
    wait_until(lambda: _replies(env, "shop-a", cid))
    env.ctl.seller_message(unb, cid, "我来")
    paused = run.events.wait_for(ev.ChatPaused, "shop-a", cid=cid)
    env.ctl.message(unb, BUYER, "二")
    run.events.wait_for(ev.MessageDecided, "shop-a", cid=cid, decision="paused")
    wait_until(lambda: now_ms() > paused.until_ms + 50, 3)
    env.ctl.message(unb, BUYER, "三")
    wait_until(lambda: _replies(env, "shop-a", cid) == ["收到：一", "收到：三"])


def test_manual_reply_from_the_manager_is_sent_and_pauses_the_chat(env: Env) -> None:
    a = env.seller("shop-a", takeover_minutes=10, **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "一")["cid"]
    wait_until(lambda: _replies(env, "shop-a", cid))
    assert Control(run.svc).send_manual("shop-a", cid, BUYER, "老板手动回复") is True
    wait_until(lambda: _replies(env, "shop-a", cid) == ["收到：一", "老板手动回复"])
    assert env.ctl.sent_in(unb, cid)[-1]["to"] == BUYER
    paused = run.events.wait_for(ev.ChatPaused, "shop-a", cid=cid)
    assert "dashboard" in paused.reason
    sent = run.events.wait_for(ev.ReplySent, "shop-a", cid=cid, rule="manual")
    assert sent.text == "老板手动回复"
    env.ctl.message(unb, BUYER, "二")
    run.events.wait_for(ev.MessageDecided, "shop-a", cid=cid, decision="paused")
    assert stays(lambda: len(env.ctl.sent_in(unb, cid)) == 2, 0.3)
    # Its own echo is recognised as ours: exactly one pause, and no "manual" row for the echo.
    assert len(run.events.of(ev.ChatPaused)) == 1
    outs = [(line.text, line.status) for line in run.store.chats.history("shop-a", cid) if line.direction == "out"]
    assert outs == [("收到：一", "sent"), ("老板手动回复", "sent")]
    # An unknown account cannot send.
    assert Control(run.svc).send_manual("no-such-shop", cid, BUYER, "x") is False


# --------------------------------------------------------------------------------------------- notices


def test_order_cards_and_read_receipts_are_recorded_not_answered(env: Env) -> None:
    a = env.seller("shop-a", **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "我要买", item_id=ITEM)["cid"]
    wait_until(lambda: _replies(env, "shop-a", cid) == ["收到：我要买"])

    order = env.ctl.order(seller=unb, buyer=BUYER, item_id=ITEM, status="unpaid")
    first = run.events.wait_for(ev.OrderNotice, "shop-a", order_id=order["order_id"])
    assert first.cid == cid
    env.ctl.order(order_id=order["order_id"], status="paid")
    wait_until(lambda: len(run.events.of(ev.OrderNotice, "shop-a", order_id=order["order_id"])) == 2)
    notices = run.events.of(ev.OrderNotice, "shop-a", order_id=order["order_id"])
    assert [n.status for n in notices] == ["unpaid", "paid"]
    assert all(n.item_id == ITEM and n.cid == cid for n in notices)

    env.ctl.read(unb, cid)      # the buyer read our reply: a 40103 receipt
    env.ctl.typing(unb, cid)    # the buyer is typing: a 40006 session event
    _settled(env, "shop-a")
    kinds = lambda: {m.kind: m.decision for m in run.store.messages.recent("shop-a", cid)}  # noqa: E731
    wait_until(lambda: {"read_receipt", "session"} <= kinds().keys(), 3, lambda: str(kinds()))
    assert kinds()["read_receipt"] == "read_receipt" and kinds()["session"] == "session"
    order_rows = [m for m in run.store.messages.recent("shop-a", cid) if m.kind == "order"]
    assert len(order_rows) >= 2 and all(m.decision == "order" for m in order_rows)
    assert stays(lambda: _replies(env, "shop-a") == ["收到：我要买"], 0.5)
    assert [e.cid for e in run.events.of(ev.ReplySent)] == [cid]
    assert [e.kind for e in run.events.of(ev.MessageReceived)] == ["chat"]


# --------------------------------------------------------------------------------------------- too old


def test_too_old_messages_are_recorded_not_answered(env: Env) -> None:
    a = env.seller("shop-a", max_message_age=1, **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    run.stop()
    cid = env.ctl.message(unb, BUYER, "早就发的消息")["cid"]
    time.sleep(1.3)  # the message must age past max_message_age: time itself is the condition here
    run = env.restart(run)
    run.events.wait_for(ev.MessageDecided, "shop-a", cid=cid, decision="too_old")
    [row] = chat_rows(run.store, "shop-a", cid)
    assert (row.text, row.decision) == ("早就发的消息", "too_old")
    assert env.ctl.sent(unb) == []
    # A fresh message is answered.
    env.ctl.message(unb, BUYER, "新消息")
    wait_until(lambda: _replies(env, "shop-a", cid) == ["收到：新消息"])


def test_recovery_that_finds_the_handlers_full_comes_back_for_the_rest(env: Env) -> None:
    """After a restart with one message in flight allowed, the connect-time pass hands over what fits; the
    retry job answers the rest (nothing recorded-but-unanswered is forgotten)."""
    a = env.seller("shop-a", debounce_seconds=1, **ECHO_RULES)
    run = env.start([a])
    unb = env.unb("shop-a")
    cids = [env.ctl.message(unb, f"3300000003{n:02d}", f"积压{n}")["cid"] for n in range(4)]
    for cid in cids:
        run.events.wait_for(ev.MessageReceived, "shop-a", cid=cid)
    run.stop()
    env.write([a], settings={"messages_in_flight": 1, "handler_threads": 1})
    run = env.restart(run)
    wait_until(lambda: all(_replies(env, "shop-a", cid) == [f"收到：积压{n}"] for n, cid in enumerate(cids)), 20,
               lambda: f"stored: {[(m.text, m.decision) for m in chat_rows(run.store, 'shop-a')]}")


def test_messages_still_queued_at_shutdown_are_answered_after_the_restart(env: Env) -> None:
    """One handler, busy fetching an item (slow) when the service stops, with more messages queued behind
    it: the stop records them unanswered instead of dropping them, and the next start answers each once."""
    a = env.seller("shop-a", default_reply="{item_title}：{text}")
    run = env.start([a], settings={"handler_threads": 1})
    unb = env.unb("shop-a")
    env.ctl.item(unb, "900000000007", "月卡")
    env.ctl.fault(unb, "slow_http", 1, delay=1.5)
    first = env.ctl.message(unb, "330000000400", "第一", item_id="900000000007")["cid"]
    # The handler is inside the slow item fetch once the simulator has spent the fault on it.
    wait_until(lambda: env.ctl.account_state(unb)["faults"]["slow_http"]["fired"] == 1)
    cids = [first] + [env.ctl.message(unb, f"33000000040{n}", f"排队{n}", item_id="900000000007")["cid"]
                      for n in range(1, 4)]
    run.stop()
    assert env.ctl.sent(unb) == []
    run = env.restart(run)
    texts = ["第一", "排队1", "排队2", "排队3"]
    wait_until(lambda: all(_replies(env, "shop-a", cid) == [f"月卡：{t}"] for cid, t in zip(cids, texts, strict=True)),
               10,
               lambda: f"stored: {[(m.text, m.decision) for m in chat_rows(run.store, 'shop-a')]}")
    assert stays(lambda: len(env.ctl.sent(unb)) == 4, 0.3)
