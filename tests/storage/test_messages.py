"""MessageStore, ReplyStore and ChatStore reads: stored messages, reply outcomes, own-echo matching, chat history
and the dashboard's counters."""

from __future__ import annotations

import pytest

from storage import ChatLine, ReplyStatus, Store
from storage.messages import Inbound

T0 = 1_700_000_000_000
TTL_MS = 10**9


def inbound(store: Store, cid: str, at_ms: int, text: str = "在吗", account_id: str = "shop-a") -> int:
    recorded = store.messages.accept(
        Inbound(account_id=account_id, cid=cid, message_id=f"mid-{cid}-{at_ms}-{account_id}", kind="chat",
                text=text, sender_id="buyer-1", sender_nick="小王", item_id="9001", created_at_ms=at_ms - 5,
                received_at_ms=at_ms),
        ttl_ms=TTL_MS)
    assert recorded is not None
    return recorded.inbound_id


def reply(store: Store, cid: str, at_ms: int, text: str = "在的", account_id: str = "shop-a") -> int:
    return store.replies.add(account_id=account_id, cid=cid, to_id="buyer-1", rule="default", text=text,
                             decided_at_ms=at_ms)


def manual(store: Store, cid: str, at_ms: int, text: str) -> int:
    return store.replies.add(account_id="shop-a", cid=cid, to_id="", rule="manual", text=text, decided_at_ms=at_ms,
                             status=ReplyStatus.MANUAL, sent_at_ms=at_ms)


def test_store_then_decide(store: Store) -> None:
    first = inbound(store, "c1", T0)
    second = inbound(store, "c1", T0 + 1)
    assert second > first
    store.messages.set_decision(first, "replied", "kw:包邮", T0 + 2)
    store.messages.set_decision(second, "debounced", None, T0 + 3)
    newest, oldest = store.messages.recent()
    assert (oldest.id, oldest.decision, oldest.rule, oldest.decided_at_ms) == (first, "replied", "kw:包邮", T0 + 2)
    assert (newest.decision, newest.rule) == ("debounced", None)
    assert (oldest.message_id, oldest.kind, oldest.sender_nick, oldest.item_id) == (
        f"mid-c1-{T0}-shop-a", "chat", "小王", "9001")
    assert (oldest.created_at_ms, oldest.received_at_ms) == (T0 - 5, T0)


def test_a_message_without_an_id_is_stored_every_time(store: Store) -> None:
    receipt = Inbound(account_id="shop-a", cid="c1", message_id="", kind="read", created_at_ms=T0,
                      received_at_ms=T0)
    assert store.messages.accept(receipt, ttl_ms=TTL_MS) is not None
    assert store.messages.accept(receipt, ttl_ms=TTL_MS) is not None
    assert [m.kind for m in store.messages.recent("shop-a")] == ["read", "read"]


def test_mark_seen_is_true_once_until_the_mark_expires(store: Store) -> None:
    assert store.messages.mark_seen("shop-a", "m1", ttl_ms=100, now_ms=T0)
    assert not store.messages.mark_seen("shop-a", "m1", ttl_ms=100, now_ms=T0 + 99)
    assert store.messages.mark_seen("shop-b", "m1", ttl_ms=100, now_ms=T0 + 99)  # per account
    assert store.messages.mark_seen("shop-a", "m1", ttl_ms=100, now_ms=T0 + 101)


def test_recent_filters_orders_and_limits(store: Store) -> None:
    inbound(store, "c1", T0)
    inbound(store, "c2", T0 + 1)
    inbound(store, "c1", T0 + 2, account_id="shop-b")
    inbound(store, "c1", T0 + 3)
    recent = store.messages.recent
    assert [m.received_at_ms for m in recent()] == [T0 + 3, T0 + 2, T0 + 1, T0]
    assert [m.received_at_ms for m in recent(limit=2)] == [T0 + 3, T0 + 2]
    assert [m.received_at_ms for m in recent("shop-a")] == [T0 + 3, T0 + 1, T0]
    assert [m.received_at_ms for m in recent("shop-a", "c1")] == [T0 + 3, T0]
    assert [m.account_id for m in recent(cid="c1")] == ["shop-a", "shop-b", "shop-a"]


def test_mark_records_the_outcome_and_the_callers_attempt_total(store: Store) -> None:
    failed = reply(store, "c1", T0)
    store.replies.mark(failed, ReplyStatus.FAILED, attempts=3, error="socket closed")
    sent = reply(store, "c1", T0 + 1, text="包邮")
    store.replies.mark(sent, ReplyStatus.SENT, attempts=2, sent_at_ms=T0 + 9)
    match = store.replies.find_ours("shop-a", "c1", "包邮", not_before_ms=T0)
    assert match is not None and (match.id, match.status, match.attempts, match.sent_at_ms, match.error) == (
        sent, "sent", 2, T0 + 9, None)
    assert store.replies.find_ours("shop-a", "c1", "在的", not_before_ms=T0) is None  # failed: never echoed
    (line, _) = store.chats.history("shop-a", "c1")
    assert (line.status, line.rule, line.text) == ("failed", "default", "在的")


def test_mark_refuses_an_unknown_status(store: Store) -> None:
    reply_id = reply(store, "c1", T0)
    with pytest.raises(ValueError, match="'delivered'"):
        store.replies.mark(reply_id, "delivered", attempts=1)  # type: ignore[arg-type]


def test_own_echo_matches_the_oldest_reply_with_those_words_in_its_window(store: Store) -> None:
    older = reply(store, "c1", T0)
    reply(store, "c1", T0 + 10)
    reply(store, "c2", T0 - 1, text="在的")  # another chat
    reply(store, "c1", T0 - 1, text="包邮")  # other words
    first = store.replies.find_ours("shop-a", "c1", "在的", not_before_ms=T0)
    assert first is not None and (first.id, first.status, first.to_id) == (older, "pending", "buyer-1")
    again = store.replies.find_ours("shop-a", "c1", "在的", not_before_ms=T0)  # a pure read: found again
    assert again is not None and again.id == older
    later = store.replies.find_ours("shop-a", "c1", "在的", not_before_ms=T0 + 1)
    assert later is not None and later.id != older  # the window's start is inclusive, and moves
    assert store.replies.find_ours("shop-b", "c1", "在的", not_before_ms=T0) is None
    assert store.replies.find_ours("shop-a", "c1", "在的 ", not_before_ms=T0) is None  # exact text only
    assert store.replies.find_ours("shop-a", "c1", "在的", not_before_ms=T0 + 11) is None


def test_own_echo_ignores_failed_and_manual_replies(store: Store) -> None:
    store.replies.mark(reply(store, "c1", T0), ReplyStatus.FAILED, attempts=1, error="risk control")
    manual(store, "c1", T0, "在的")
    assert store.replies.find_ours("shop-a", "c1", "在的", not_before_ms=T0 - 1) is None


def test_chat_history_merges_both_directions_in_time_order(store: Store) -> None:
    first = inbound(store, "c1", T0, text="在吗")
    store.messages.set_decision(first, "replied", "default", T0)
    answer = reply(store, "c1", T0, text="在的")  # same millisecond: the message comes first
    store.replies.mark(answer, ReplyStatus.SENT, attempts=1, sent_at_ms=T0 + 30)
    typed = manual(store, "c1", T0 + 500, "稍等")
    second = inbound(store, "c1", T0 + 200, text="包邮吗")
    inbound(store, "c2", T0 + 100)  # another chat
    history = store.chats.history("shop-a", "c1")
    assert history == [
        ChatLine(T0, "in", "在吗", "buyer-1", "小王", "default", "replied", first),
        ChatLine(T0, "out", "在的", None, None, "default", "sent", answer),
        ChatLine(T0 + 200, "in", "包邮吗", "buyer-1", "小王", None, None, second),
        ChatLine(T0 + 500, "out", "稍等", None, None, "manual", "manual", typed),
    ]
    assert store.chats.history("shop-a", "c1", limit=3) == history[-3:]
    assert store.chats.history("shop-a", "nope") == []


def test_counters_count_received_messages_and_sent_replies_per_account(store: Store) -> None:
    for at in (T0, T0 + 10, T0 + 20):
        inbound(store, "c1", at)
    inbound(store, "c1", T0 + 20, account_id="shop-b")
    store.replies.mark(reply(store, "c1", T0 + 5), ReplyStatus.SENT, attempts=1, sent_at_ms=T0 + 6)
    store.replies.mark(reply(store, "c1", T0 + 15), ReplyStatus.SENT, attempts=1, sent_at_ms=T0 + 16)
    store.replies.mark(reply(store, "c1", T0 + 25), ReplyStatus.FAILED, attempts=1, error="x")
    reply(store, "c1", T0 + 26)  # still pending
    store.replies.mark(reply(store, "c9", T0 + 30, account_id="shop-b"), ReplyStatus.SENT, attempts=1,
                       sent_at_ms=T0 + 31)
    assert store.chats.counters_by_account("chat", T0) == {"shop-a": (3, 2), "shop-b": (1, 1)}
    assert store.chats.counters_by_account("chat", T0 + 10) == {"shop-a": (2, 1), "shop-b": (1, 1)}
    assert store.chats.counters_by_account("chat", T0 + 100) == {}
    assert store.chats.rule_hits("shop-a") == {"default": 2}


def test_many_sent_marks_land_in_one_call(store: Store) -> None:
    first, second = reply(store, "c1", T0), reply(store, "c2", T0 + 1, text="包邮")
    store.replies.mark_sent([(first, T0 + 5, 1), (second, T0 + 7, 2)])
    for cid, text, sent_at, attempts in (("c1", "在的", T0 + 5, 1), ("c2", "包邮", T0 + 7, 2)):
        match = store.replies.find_ours("shop-a", cid, text, not_before_ms=T0)
        assert match is not None
        assert (match.status, match.sent_at_ms, match.attempts) == ("sent", sent_at, attempts)
