"""Chat pauses, the item cache, cleanup, persistence across reopening, and errors that leak nothing."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

import storage.store
from storage import DatabaseUnavailable, NotifyIncident, Store
from tests.storage.race import claim_once, inbound

T0 = 1_700_000_000_000
DAY = 86_400_000


def paused_until(store: Store, account_id: str, cid: str, now_ms: int) -> int | None:
    return next((p.until_ms for p in store.chats.pauses(now_ms, account_id) if p.cid == cid), None)


def test_pause_resume_and_list(store: Store) -> None:
    assert paused_until(store, "shop-a", "c1", T0) is None
    store.chats.pause("shop-a", "c1", T0 + 600_000, "seller replied by hand")
    store.chats.pause("shop-a", "c2", T0 + 60_000, "dashboard")
    store.chats.pause("shop-b", "c1", T0 + 120_000, "dashboard")
    assert paused_until(store, "shop-a", "c1", T0) == T0 + 600_000
    assert paused_until(store, "shop-a", "c1", T0 + 600_000) is None  # ends exactly at until_ms
    assert [(p.account_id, p.cid) for p in store.chats.pauses(T0)] == [
        ("shop-a", "c2"),
        ("shop-b", "c1"),
        ("shop-a", "c1"),
    ]
    assert [p.cid for p in store.chats.pauses(T0 + 100_000, account_id="shop-a")] == ["c1"]
    (only,) = store.chats.pauses(T0, account_id="shop-b")
    assert (only.until_ms, only.reason) == (T0 + 120_000, "dashboard")
    assert store.chats.resume("shop-a", "c1") is True
    assert store.chats.resume("shop-a", "c1") is False
    assert paused_until(store, "shop-a", "c1", T0) is None


def test_a_new_pause_replaces_the_old_one(store: Store) -> None:
    store.chats.pause("shop-a", "c1", T0 + 600_000, "takeover")
    store.chats.pause("shop-a", "c1", T0 + 60_000, "shortened")
    (pause,) = store.chats.pauses(T0)
    assert (pause.until_ms, pause.reason) == (T0 + 60_000, "shortened")


def test_item_cache_put_get_and_overwrite(store: Store) -> None:
    assert store.items.get("9001") is None
    store.items.put("9001", title="二手键盘", price="9.90", desc="九成新", quantity=3, fetched_at_ms=T0)
    item = store.items.get("9001")
    assert item is not None
    assert (item.title, item.price, item.desc, item.quantity, item.fetched_at_ms) == (
        "二手键盘",
        "9.90",
        "九成新",
        3,
        T0,
    )
    store.items.put("9001", title="二手键盘", price="8.50", fetched_at_ms=T0 + 1)
    item = store.items.get("9001")
    assert item is not None
    assert (item.price, item.desc, item.quantity, item.fetched_at_ms) == ("8.50", "", None, T0 + 1)


def test_cleanup_deletes_what_expired_and_counts_it(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.store, "_CLEANUP_CHUNK", 3)  # several chunks per table with few rows
    now = T0 + 10 * DAY
    for n in range(7):
        store.messages.mark_seen("shop-a", f"old-{n}", DAY, T0)  # expired
    store.messages.mark_seen("shop-a", "fresh", DAY, now)
    store.chats.pause("shop-a", "c-old", now - 1, "over")
    store.chats.pause("shop-a", "c-new", now + 1, "running")
    for n in range(4):
        inbound(store, "shop-a", "c1", f"m{n}", T0 + n, text="hi")
        store.replies.add(account_id="shop-a", cid="c1", to_id="b", rule="r", text="yo", decided_at_ms=T0 + n)
    inbound(store, "shop-a", "c1", "new", now, text="hi")
    claim_once(store, "shop-a", "c1", "default", T0)
    for cause in ("login_required", "offline"):  # both old; only the closed one goes
        store.notices.open_incident(NotifyIncident(account_id="shop-a", cause=cause, kind=cause, severity="error",
                                                   opened_at_ms=T0))
    [closed, still_open] = store.notices.open_incidents()
    assert closed.id is not None
    store.notices.change_incident(closed.id, closed_at_ms=T0 + 1)
    store.notices.announce([{"channel": "phone", "key": key, "kind": "offline", "severity": "warning",
                             "created_at_ms": at} for key, at in (("old", T0), ("new", now))], [])

    counts = store.cleanup(now, retention_ms=7 * DAY)

    # Old: 7 marks, the 4 messages with their replies, and the once-rule's message (its mark and reply too).
    assert counts == {"seen_messages": 12, "chat_pauses": 1, "inbound_messages": 5, "replies": 5,
                      "notifications": 1, "incidents": 1}
    assert [i.cause for i in store.notices.open_incidents()] == [still_open.cause]
    assert [m.key for m in store.notices.recent_messages()] == ["new"]
    assert store.messages.mark_seen("shop-a", "fresh", DAY, now) is False  # kept
    assert [p.cid for p in store.chats.pauses(now)] == ["c-new"]
    assert [m.message_id for m in store.messages.recent()] == ["new"]
    assert [line.at_ms for line in store.chats.history("shop-a", "c1")] == [now]
    assert claim_once(store, "shop-a", "c1", "default", now) is False  # once-claims are forever
    assert store.cleanup(now, retention_ms=7 * DAY) == dict.fromkeys(counts, 0)


def test_everything_survives_reopening(db_url: str) -> None:
    with Store(db_url) as first:
        first.accounts.update("shop-a", 1, cookie_jar="unb=1", device_id="DEV-1", sync_pts=42)
        first.messages.mark_seen("shop-a", "m1", DAY, T0)
        claim_once(first, "shop-a", "c1", "default", T0)
        first.chats.pause("shop-a", "c1", T0 + DAY, "takeover")
        first.items.put("9001", title="键盘", price="9.90", fetched_at_ms=T0)
        inbound_id = inbound(first, "shop-a", "c1", "m2", T0)
    with Store(db_url) as second:
        state = second.accounts.get("shop-a")
        assert state is not None and (state.device_id, state.sync_pts) == ("DEV-1", 42)
        assert second.messages.mark_seen("shop-a", "m1", DAY, T0 + 1) is False
        assert claim_once(second, "shop-a", "c1", "default", T0 + 1) is False
        assert paused_until(second, "shop-a", "c1", T0 + 1) == T0 + DAY
        item = second.items.get("9001")
        assert item is not None and item.title == "键盘"
        assert inbound_id in [m.id for m in second.messages.recent()]


def test_query_errors_name_the_cause_but_never_the_values(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with Store(f"sqlite:///{path}") as store:
        with closing(sqlite3.connect(path, isolation_level=None)) as raw:
            raw.execute("DROP TABLE account_state")
        with pytest.raises(DatabaseUnavailable, match="no such table: account_state") as caught:
            store.accounts.update("shop-a", T0, cookie_jar="unb=1; cookie2=secretvalue", access_token="tok-secret")
    chain = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__
    assert len(chain) > 1
    assert not any("secretvalue" in text or "tok-secret" in text for text in chain)


def test_postgresql_connections_killed_by_the_server_are_replaced(clean_postgres_url: str) -> None:
    with Store(clean_postgres_url) as store:
        store.messages.mark_seen("shop-a", "m1", DAY, T0)  # leaves connections idle in the pool
        with psycopg.connect(clean_postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert store.messages.mark_seen("shop-a", "m1", DAY, T0 + 1) is False
