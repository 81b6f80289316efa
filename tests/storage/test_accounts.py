"""AccountState: partial upserts, state_since bookkeeping, secrets kept out of reprs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from storage import AccountState, Store

COOKIE = "unb=2200001; _m_h5_tk=0123abcd_1700000000000; cookie2=secretvalue"
TOKEN = "oAt-very-secret-token"


def test_missing_account_is_none(store: Store) -> None:
    assert store.get_account_state("nobody") is None
    assert store.list_account_states() == []


def test_upsert_creates_the_row_with_defaults(store: Store) -> None:
    row = store.upsert_account_state("shop-a", cookie_jar=COOKIE, updated_at_ms=1_000)
    assert (row.account_id, row.cookie_jar, row.cookie_source, row.device_id) == ("shop-a", COOKIE, "", "")
    assert row.access_token is None
    assert (row.sync_pts, row.state, row.state_since_ms, row.updated_at_ms) == (0, "stopped", 1_000, 1_000)
    assert store.get_account_state("shop-a") == row


def test_upsert_changes_only_the_fields_given(store: Store) -> None:
    store.upsert_account_state(
        "shop-a", cookie_jar=COOKIE, cookie_source="3f2a9c", device_id="DEV-1", updated_at_ms=1_000
    )
    row = store.upsert_account_state(
        "shop-a",
        access_token=TOKEN,
        token_expires_at_ms=1_700_000_000_000,
        sync_pts=1_700_000_000_000_123,
        updated_at_ms=2_000,
    )
    assert (row.cookie_jar, row.cookie_source, row.device_id) == (COOKIE, "3f2a9c", "DEV-1")
    assert (row.access_token, row.token_expires_at_ms) == (TOKEN, 1_700_000_000_000)
    assert row.sync_pts == 1_700_000_000_000_123  # µs: needs 64 bits on both backends
    assert row.updated_at_ms == 2_000


def test_state_since_moves_only_when_the_state_changes(store: Store) -> None:
    store.upsert_account_state("shop-a", state="online", updated_at_ms=1_000)
    assert store.upsert_account_state("shop-a", state="online", updated_at_ms=5_000).state_since_ms == 1_000
    changed = store.upsert_account_state(
        "shop-a", state="reconnecting", last_error="timeout", updated_at_ms=7_000
    )
    assert (changed.state, changed.state_since_ms, changed.last_error) == ("reconnecting", 7_000, "timeout")
    explicit = store.upsert_account_state("shop-a", state="online", state_since_ms=6_500, updated_at_ms=8_000)
    assert explicit.state_since_ms == 6_500


def test_updated_at_defaults_to_the_wall_clock(store: Store) -> None:
    row = store.upsert_account_state("shop-a", state="online")
    assert row.updated_at_ms > 1_700_000_000_000
    assert row.state_since_ms == row.updated_at_ms


def test_unknown_fields_are_refused(store: Store) -> None:
    with pytest.raises(TypeError, match="cookies, passwd"):
        store.upsert_account_state("shop-a", cookies="x", passwd="y")
    assert store.get_account_state("shop-a") is None


def test_list_is_ordered_by_account_id(store: Store) -> None:
    for account in ("shop-c", "shop-a", "shop-b"):
        store.upsert_account_state(account, updated_at_ms=1)
    assert [row.account_id for row in store.list_account_states()] == ["shop-a", "shop-b", "shop-c"]


def test_repr_masks_cookie_and_token(store: Store) -> None:
    row = store.upsert_account_state("shop-a", cookie_jar=COOKIE, access_token=TOKEN, updated_at_ms=1)
    for shown in (repr(row), str(row), repr([row])):
        assert "secretvalue" not in shown and TOKEN not in shown
        assert "cookie_jar='***'" in shown and "access_token='***'" in shown
    assert "access_token=None" in repr(AccountState(account_id="x"))  # absence stays visible


def test_concurrent_first_upserts_of_one_account_all_succeed(store: Store) -> None:
    def upsert(n: int) -> AccountState:
        return store.upsert_account_state("shop-a", sync_pts=n, updated_at_ms=n)

    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(upsert, range(1, 33)))
    assert len(rows) == 32
    final = store.get_account_state("shop-a")
    assert final is not None and final.sync_pts in range(1, 33)
