"""MessageStore.accept / decide with a verdict: dedupe, record, decide and the pending reply in one transaction."""

from __future__ import annotations

from core.replies.verdict import Decision, Verdict
from storage import ReplyStatus, Store
from storage.messages import Inbound, Recorded

T0 = 1_700_000_000_000
TTL_MS = 7 * 24 * 3600 * 1000


def message(cid: str, mid: str, at_ms: int = T0, text: str = "价格") -> Inbound:
    return Inbound(**{"account_id": "shop-a", "cid": cid, "message_id": mid, "kind": "chat", "text": text,
            "sender_id": "buyer-1", "sender_nick": "小王", "item_id": "9001",
            "created_at_ms": at_ms - 5, "received_at_ms": at_ms})


def replied(text: str, *, once: bool = False, rule: str = "kw:价格", at_ms: int = T0 + 1) -> Verdict:
    return Verdict(Decision.REPLIED, at_ms, rule, reply_text=text, to_id="buyer-1", once=once)


def test_a_replied_verdict_records_the_decision_and_a_pending_reply(store: Store) -> None:
    accepted = store.messages.accept(message("c1", "m1"), ttl_ms=TTL_MS, verdict=replied("现价 99"))
    assert accepted is not None and accepted.decision == "replied" and accepted.reply_id is not None
    (row,) = store.messages.recent("shop-a")
    assert (row.id, row.decision, row.rule, row.decided_at_ms) == (accepted.inbound_id, "replied", "kw:价格", T0 + 1)
    reply = store.replies.find_ours("shop-a", "c1", "现价 99", not_before_ms=T0)
    assert reply is not None
    assert (reply.id, reply.inbound_id, reply.status, reply.to_id, reply.rule) == (
        accepted.reply_id, accepted.inbound_id, ReplyStatus.PENDING, "buyer-1", "kw:价格")


def test_a_repeated_message_id_writes_nothing(store: Store) -> None:
    assert store.messages.accept(message("c1", "m1"), ttl_ms=TTL_MS, verdict=replied("现价 99")) is not None
    assert store.messages.accept(message("c1", "m1", T0 + 5), ttl_ms=TTL_MS, verdict=replied("现价 99")) is None
    assert len(store.messages.recent("shop-a")) == 1
    assert [line.direction for line in store.chats.history("shop-a", "c1")] == ["in", "out"]


def test_without_a_verdict_the_message_stays_undecided_for_decide(store: Store) -> None:
    accepted = store.messages.accept(message("c1", "m1"), ttl_ms=TTL_MS)
    assert accepted is not None and accepted == Recorded(accepted.inbound_id, None)
    assert [m.id for m in store.messages.undecided("shop-a", "chat", T0 - 1)] == [accepted.inbound_id]
    decided = store.messages.decide(accepted.inbound_id, "shop-a", "c1", replied("现价 99"))
    assert decided.decision == "replied" and decided.reply_id is not None
    assert store.messages.undecided("shop-a", "chat", T0 - 1) == []


def test_a_once_rule_answers_a_chat_once_and_records_the_rest_as_once_already(store: Store) -> None:
    hello = replied("欢迎光临", once=True, rule="default")
    first = store.messages.accept(message("c1", "m1"), ttl_ms=TTL_MS, verdict=hello)
    second = store.messages.accept(message("c1", "m2", T0 + 10), ttl_ms=TTL_MS, verdict=hello)
    other_chat = store.messages.accept(message("c2", "m3", T0 + 20), ttl_ms=TTL_MS, verdict=hello)
    assert first is not None and first.decision == "replied" and first.reply_id is not None
    assert second is not None and (second.decision, second.reply_id) == ("once_already", None)
    assert other_chat is not None and other_chat.decision == "replied"
    decisions = {m.message_id: (m.decision, m.rule) for m in store.messages.recent("shop-a")}
    assert decisions == {"m1": ("replied", "default"), "m2": ("once_already", "default"),
                         "m3": ("replied", "default")}
    assert [line.text for line in store.chats.history("shop-a", "c1") if line.direction == "out"] == ["欢迎光临"]


def test_a_silent_once_rule_claims_its_chat_too(store: Store) -> None:
    silent = Verdict(Decision.SILENT, T0 + 1, "default", once=True)
    first = store.messages.accept(message("c1", "m1"), ttl_ms=TTL_MS, verdict=silent)
    undecided = store.messages.accept(message("c1", "m2", T0 + 10), ttl_ms=TTL_MS)
    assert first is not None and (first.decision, first.reply_id) == ("silent", None)
    assert undecided is not None
    later = store.messages.decide(undecided.inbound_id, "shop-a", "c1", replied("你好", once=True, rule="default"))
    assert (later.decision, later.reply_id) == ("once_already", None)


def test_verdicts_without_a_reply_record_only_the_decision(store: Store) -> None:
    for n, decision in enumerate(("no_rule", "paused", "too_old")):
        accepted = store.messages.accept(message("c1", f"m{n}", T0 + n), ttl_ms=TTL_MS, verdict=Verdict(Decision(decision), T0 + n))
        assert accepted is not None and (accepted.decision, accepted.reply_id) == (decision, None)
    assert [m.decision for m in store.messages.recent("shop-a")] == ["too_old", "paused", "no_rule"]
    assert [line.direction for line in store.chats.history("shop-a", "c1")] == ["in", "in", "in"]
