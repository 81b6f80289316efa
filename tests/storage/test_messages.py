"""Inbound messages, replies, own-echo matching, chat history and counters."""

from __future__ import annotations

import time

import pytest

from storage import ECHO_WINDOW_MS, ChatLine, ReplyStatus, Store

T0 = 1_700_000_000_000


def inbound(store: Store, cid: str, at_ms: int, text: str = "在吗", account_id: str = "shop-a") -> int:
    return store.record_inbound(
        account_id=account_id,
        cid=cid,
        message_id=f"mid-{cid}-{at_ms}",
        kind="chat",
        text=text,
        sender_id="buyer-1",
        sender_nick="小王",
        item_id="9001",
        created_at_ms=at_ms - 5,
        received_at_ms=at_ms,
    )


def reply(store: Store, cid: str, at_ms: int, text: str = "在的", account_id: str = "shop-a") -> int:
    return store.add_reply(
        account_id=account_id, cid=cid, to_id="buyer-1", rule="default", text=text, decided_at_ms=at_ms
    )


def test_record_inbound_then_decide(store: Store) -> None:
    first = inbound(store, "c1", T0)
    second = inbound(store, "c1", T0 + 1)
    assert second > first
    store.set_decision(first, "replied", "kw:包邮", T0 + 2)
    store.set_decision(second, "debounced", None, T0 + 3)
    newest, oldest = store.recent_messages()
    assert (oldest.id, oldest.decision, oldest.rule, oldest.decided_at_ms) == (
        first,
        "replied",
        "kw:包邮",
        T0 + 2,
    )
    assert (newest.decision, newest.rule) == ("debounced", None)
    assert (oldest.message_id, oldest.kind, oldest.sender_nick, oldest.item_id) == (
        f"mid-c1-{T0}",
        "chat",
        "小王",
        "9001",
    )
    assert (oldest.created_at_ms, oldest.received_at_ms) == (T0 - 5, T0)


def test_recent_messages_filters_orders_and_limits(store: Store) -> None:
    inbound(store, "c1", T0)
    inbound(store, "c2", T0 + 1)
    inbound(store, "c1", T0 + 2, account_id="shop-b")
    inbound(store, "c1", T0 + 3)
    assert [m.received_at_ms for m in store.recent_messages()] == [T0 + 3, T0 + 2, T0 + 1, T0]
    assert [m.received_at_ms for m in store.recent_messages(limit=2)] == [T0 + 3, T0 + 2]
    assert [m.received_at_ms for m in store.recent_messages("shop-a")] == [T0 + 3, T0 + 1, T0]
    assert [m.received_at_ms for m in store.recent_messages("shop-a", "c1")] == [T0 + 3, T0]
    assert [m.account_id for m in store.recent_messages(cid="c1")] == ["shop-a", "shop-b", "shop-a"]


def test_reply_lifecycle_counts_attempts(store: Store) -> None:
    reply_id = reply(store, "c1", T0)
    store.mark_reply(reply_id, "failed", error="socket closed")
    store.mark_reply(reply_id, ReplyStatus.SENT, sent_at_ms=T0 + 50)
    (line,) = store.chat_history("shop-a", "c1")
    assert (line.status, line.rule, line.text) == ("sent", "default", "在的")
    match = store.find_pending_reply("shop-a", "c1", "在的", now_ms=T0 + 60)
    assert match is not None
    assert (match.id, match.sent_at_ms, match.error, match.attempts) == (reply_id, T0 + 50, None, 2)


def test_mark_reply_takes_the_attempt_total_from_a_caller_that_retried(store: Store) -> None:
    failed = reply(store, "c1", T0)
    store.mark_reply(failed, "failed", error="socket closed", attempts=3)
    sent = reply(store, "c1", T0 + 1, text="包邮")
    store.mark_reply(sent, "sent", sent_at_ms=T0 + 9, attempts=2)
    store.mark_reply(sent, "pending")  # neither an outcome nor an attempt
    match = store.find_pending_reply("shop-a", "c1", "包邮", now_ms=T0 + 10)
    assert match is not None and (match.status, match.attempts, match.sent_at_ms) == ("pending", 2, None)
    assert store.find_pending_reply("shop-a", "c1", "在的", now_ms=T0 + 10) is None  # failed: never echoed


def test_mark_reply_refuses_an_unknown_status(store: Store) -> None:
    reply_id = reply(store, "c1", T0)
    with pytest.raises(ValueError, match="'delivered'"):
        store.mark_reply(reply_id, "delivered")


def test_own_echo_matches_the_oldest_reply_with_those_words(store: Store) -> None:
    older = reply(store, "c1", T0)
    reply(store, "c1", T0 + 10)
    reply(store, "c2", T0 - 1, text="在的")  # another chat
    reply(store, "c1", T0 - 1, text="包邮")  # other words
    now = T0 + 20
    first = store.find_pending_reply("shop-a", "c1", "在的", now_ms=now)
    assert first is not None and (first.id, first.status, first.to_id) == (older, "pending", "buyer-1")
    # A pure read: a re-pushed echo finds the same reply again.
    again = store.find_pending_reply("shop-a", "c1", "在的", now_ms=now)
    assert again is not None and again.id == older
    assert store.find_pending_reply("shop-b", "c1", "在的", now_ms=now) is None
    assert store.find_pending_reply("shop-a", "c1", "在的 ", now_ms=now) is None  # exact text only


def test_own_echo_ignores_failed_manual_and_stale_replies(store: Store) -> None:
    store.mark_reply(reply(store, "c1", T0), "failed", error="risk control")
    store.record_manual_reply(account_id="shop-a", cid="c1", text="在的", at_ms=T0)
    stale = reply(store, "c1", T0 - ECHO_WINDOW_MS - 1)
    assert store.find_pending_reply("shop-a", "c1", "在的", now_ms=T0 + 1) is None
    edge = store.find_pending_reply("shop-a", "c1", "在的", now_ms=T0 - 1)
    assert edge is not None and edge.id == stale
    assert (
        store.find_pending_reply("shop-a", "c1", "在的", now_ms=T0 + 1, within_ms=ECHO_WINDOW_MS + 2) == edge
    )


def test_own_echo_defaults_to_the_wall_clock(store: Store) -> None:
    reply_id = reply(store, "c1", time.time_ns() // 1_000_000)
    match = store.find_pending_reply("shop-a", "c1", "在的")
    assert match is not None and match.id == reply_id


def test_chat_history_merges_both_directions_in_time_order(store: Store) -> None:
    first = inbound(store, "c1", T0, text="在吗")
    store.set_decision(first, "replied", "default", T0)
    answer = reply(store, "c1", T0, text="在的")  # same millisecond: the message comes first
    store.mark_reply(answer, "sent", sent_at_ms=T0 + 30)
    manual = store.record_manual_reply(
        account_id="shop-a", cid="c1", to_id="buyer-1", text="稍等", at_ms=T0 + 500
    )
    second = inbound(store, "c1", T0 + 200, text="包邮吗")
    inbound(store, "c2", T0 + 100)  # another chat
    history = store.chat_history("shop-a", "c1")
    assert history == [
        ChatLine(T0, "in", "在吗", "buyer-1", "小王", "default", "replied", first),
        ChatLine(T0, "out", "在的", None, None, "default", "sent", answer),
        ChatLine(T0 + 200, "in", "包邮吗", "buyer-1", "小王", None, None, second),
        ChatLine(T0 + 500, "out", "稍等", None, None, "manual", "manual", manual),
    ]
    assert store.chat_history("shop-a", "c1", limit=3) == history[-3:]
    assert store.chat_history("shop-a", "nope") == []


def test_counters_count_received_messages_and_sent_replies(store: Store) -> None:
    for at in (T0, T0 + 10, T0 + 20):
        inbound(store, "c1", at)
    inbound(store, "c1", T0 + 20, account_id="shop-b")
    store.mark_reply(reply(store, "c1", T0 + 5), "sent", sent_at_ms=T0 + 6)
    store.mark_reply(reply(store, "c1", T0 + 15), "sent", sent_at_ms=T0 + 16)
    store.mark_reply(reply(store, "c1", T0 + 25), "failed", error="x")
    reply(store, "c1", T0 + 26)  # still pending
    store.mark_reply(reply(store, "c9", T0 + 30, account_id="shop-b"), "sent", sent_at_ms=T0 + 31)
    assert store.counters_since("shop-a", T0) == (3, 2)
    assert store.counters_since("shop-a", T0 + 10) == (2, 1)
    assert store.counters_since("shop-b", T0) == (1, 1)
    assert store.counters_since(None, T0) == (4, 3)
    assert store.counters_since("nobody", T0) == (0, 0)


def test_many_sent_marks_land_in_one_call(store: Store) -> None:
    first, second = reply(store, "c1", T0), reply(store, "c2", T0 + 1, text="包邮")
    store.mark_replies_sent([(first, T0 + 5, 1), (second, T0 + 7, 2)])
    for cid, text, sent_at, attempts in (("c1", "在的", T0 + 5, 1), ("c2", "包邮", T0 + 7, 2)):
        match = store.find_pending_reply("shop-a", cid, text, now_ms=T0 + 10)
        assert match is not None
        assert (match.status, match.sent_at_ms, match.attempts) == ("sent", sent_at, attempts)
