"""AccountStore: partial upserts, state_since bookkeeping, secrets kept out of reprs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from storage import Store
from storage.models import AccountRecord

COOKIE = "unb=2200001; _m_h5_tk=0123abcd_1700000000000; cookie2=secretvalue"
TOKEN = "oAt-very-secret-token"


def test_missing_account_is_none(store: Store) -> None:
    assert store.accounts.get("nobody") is None
    assert store.accounts.all() == []


def test_upsert_creates_the_row_with_defaults(store: Store) -> None:
    row = store.accounts.update("shop-a", 1_000, cookie_jar=COOKIE)
    assert (row.account_id, row.cookie_jar, row.cookie_source, row.device_id) == ("shop-a", COOKIE, "", "")
    assert row.access_token is None
    assert (row.sync_pts, row.state, row.state_since_ms, row.updated_at_ms) == (0, "stopped", 1_000, 1_000)
    assert store.accounts.get("shop-a") == row


def test_upsert_changes_only_the_fields_given(store: Store) -> None:
    store.accounts.update(
        "shop-a", 1_000, cookie_jar=COOKIE, cookie_source="3f2a9c", device_id="DEV-1")
    row = store.accounts.update(
        "shop-a", 2_000, access_token=TOKEN,
        token_expires_at_ms=1_700_000_000_000,
        sync_pts=1_700_000_000_000_123,)
    assert (row.cookie_jar, row.cookie_source, row.device_id) == (COOKIE, "3f2a9c", "DEV-1")
    assert (row.access_token, row.token_expires_at_ms) == (TOKEN, 1_700_000_000_000)
    assert row.sync_pts == 1_700_000_000_000_123  # µs: needs 64 bits on both backends
    assert row.updated_at_ms == 2_000


def test_state_since_moves_only_when_the_state_changes(store: Store) -> None:
    store.accounts.update("shop-a", 1_000, state="online")
    assert store.accounts.update("shop-a", 5_000, state="online").state_since_ms == 1_000
    changed = store.accounts.update(
        "shop-a", 7_000, state="reconnecting", last_error="timeout")
    assert (changed.state, changed.state_since_ms, changed.last_error) == ("reconnecting", 7_000, "timeout")
    explicit = store.accounts.update("shop-a", 8_000, state="online", state_since_ms=6_500)
    assert explicit.state_since_ms == 6_500


def test_a_new_row_enters_its_state_at_now(store: Store) -> None:
    row = store.accounts.update("shop-a", 9_000, state="online")
    assert row.updated_at_ms == row.state_since_ms == 9_000


def test_save_progress_writes_many_accounts_in_one_go_and_leaves_other_fields(store: Store) -> None:
    for account in ("shop-a", "shop-b"):
        store.accounts.update(account, 1, cookie_jar=COOKIE, device_id=f"DEV-{account}")
    store.accounts.save_progress([
        {"account_id": "shop-a", "sync_pts": 11, "state": "online", "state_since_ms": 5, "last_error": ""},
        {"account_id": "shop-b", "sync_pts": 22, "state": "reconnecting", "state_since_ms": 6, "last_error": "eof"},
    ], now_ms=7)
    a, b = store.accounts.all()
    assert (a.sync_pts, a.state, a.state_since_ms, a.updated_at_ms, a.device_id) == (11, "online", 5, 7, "DEV-shop-a")
    assert (b.sync_pts, b.state, b.last_error, b.cookie_jar) == (22, "reconnecting", "eof", COOKIE)


def test_unknown_fields_are_refused(store: Store) -> None:
    with pytest.raises(TypeError, match="cookies, passwd"):
        store.accounts.update("shop-a", 1, cookies="x", passwd="y")
    assert store.accounts.get("shop-a") is None


def test_list_is_ordered_by_account_id(store: Store) -> None:
    for account in ("shop-c", "shop-a", "shop-b"):
        store.accounts.update(account, 1)
    assert [row.account_id for row in store.accounts.all()] == ["shop-a", "shop-b", "shop-c"]


def test_repr_masks_cookie_and_token(store: Store) -> None:
    row = store.accounts.update("shop-a", 1, cookie_jar=COOKIE, access_token=TOKEN)
    for shown in (repr(row), str(row), repr([row])):
        assert "secretvalue" not in shown and TOKEN not in shown
        assert "cookie_jar='***'" in shown and "access_token='***'" in shown
    assert "access_token=None" in repr(AccountRecord(account_id="x"))  # absence stays visible


def test_concurrent_first_upserts_of_one_account_all_succeed(store: Store) -> None:
    def upsert(n: int) -> AccountRecord:
        return store.accounts.update("shop-a", n, sync_pts=n)

    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(upsert, range(1, 33)))
    assert len(rows) == 32
    final = store.accounts.get("shop-a")
    assert final is not None and final.sync_pts in range(1, 33)
