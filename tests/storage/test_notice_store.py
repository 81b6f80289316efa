"""`NoticeStore` on SQLite and PostgreSQL: one open incident per account and cause, the outbox's idempotency keys,
due rows, and the day's counts."""

from __future__ import annotations

from sqlalchemy import insert

from storage import DeliveryUnit, InboundMessage, NotifyIncident, OrderRecord, Reply, Store


def _incident(cause: str = "login_required", account: str = "a", at: int = 1) -> NotifyIncident:
    return NotifyIncident(account_id=account, cause=cause, kind=cause.split(":")[0], severity="error",
                          opened_at_ms=at, due="open", due_at_ms=at + 10)


def _message(key: str, channel: str = "phone", next_at: int = 0) -> dict[str, object]:
    return {"channel": channel, "key": key, "kind": "login_required", "severity": "error", "accounts": "a",
            "title": "t", "body": "b", "state": "pending", "next_at_ms": next_at, "created_at_ms": 1}


def test_only_one_incident_per_account_and_cause_is_open(store: Store) -> None:
    first = store.notices.open_incident(_incident())
    assert first is not None and store.notices.open_incident(_incident(at=5)) is None
    assert store.notices.open_incident(_incident(account="b")) is not None
    assert store.notices.open_incident(_incident("delivery_failed:o1")) is not None
    store.notices.change_incident(first, closed_at_ms=9, due="")
    assert [i.account_id for i in store.notices.open_incidents("a")] == ["a"]  # delivery_failed:o1 only
    again = store.notices.open_incident(_incident(at=20))
    assert again is not None and again != first, "a closed cause may open again"
    assert [i.id for i in store.notices.due_incidents(15)] != [] and store.notices.due_incidents(0) == []
    assert {i.cause for i in store.notices.waiting("login_required", "open")} == {"login_required"}


def test_a_message_key_is_written_once_per_channel_with_its_incident_changes(store: Store) -> None:
    incident = store.notices.open_incident(_incident())
    assert incident is not None
    written = store.notices.announce([_message("open:login_required:1"), _message("open:login_required:1", "mail")],
                                     [(incident, {"due": "", "announced_at_ms": 11})])
    assert written == 2
    assert store.notices.announce([_message("open:login_required:1")], []) == 0, "the same key again: nothing"
    stored = store.notices.incident(incident)
    assert stored is not None and stored.announced_at_ms == 11 and stored.due == ""
    [due] = store.notices.due_messages("phone", now_ms=5)
    assert store.notices.next_due("phone") == 0 and store.notices.next_due("nobody") is None
    assert due.id is not None
    assert store.notices.claim_message(due.id) and not store.notices.claim_message(due.id), "one sender only"
    assert store.notices.due_messages("phone", now_ms=5) == [] and store.notices.unclaim_all() == 1
    assert store.notices.claim_message(due.id)
    store.notices.change_message(due.id, state="sent", sent_at_ms=6, attempts=1)
    assert store.notices.due_messages("phone", now_ms=5) == []
    assert [m.state for m in store.notices.recent_messages()] == ["pending", "sent"]


def test_the_days_counts_per_account(store: Store) -> None:
    assert store.notices.day_counts(0, 10**13) == {}
    rows = {
        InboundMessage: [dict(account_id="a", cid="c", message_id=f"m{n}", kind=kind, text="", created_at_ms=at,
                              received_at_ms=at) for n, (kind, at) in enumerate([("chat", 5), ("chat", 6),
                                                                                    ("own_echo", 6), ("chat", 50)])],
        Reply: [dict(account_id="a", cid="c", to_id="b", rule="r", text="t", decided_at_ms=5, status=status)
                for status in ("sent", "sent", "failed")],
        OrderRecord: [dict(account_id="b", order_id="o1", status="paid", delivery_state="failed", created_at_ms=5,
                           updated_at_ms=7),
                      dict(account_id="b", order_id="o2", status="unpaid", delivery_state="none", created_at_ms=5,
                           updated_at_ms=5)],
        DeliveryUnit: [dict(account_id="b", order_id="o3", unit=1, kind="stock", state="sent", reserved_at_ms=5,
                            sent_at_ms=8, updated_at_ms=8)],
    }
    with store.db.write() as conn:
        for model, values in rows.items():
            conn.execute(insert(model.__table__), values)  # type: ignore[attr-defined]
    assert store.notices.day_counts(0, 10) == {
        "a": {"messages": 2, "replies": 2, "failed_replies": 1},
        "b": {"orders": 1, "failed_deliveries": 1, "deliveries": 1}}
