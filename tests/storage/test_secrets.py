"""Cookies and tokens sealed at rest (storage/keys.py, sealing.py, rekey.py), on real SQLite files and the real
PostgreSQL server: what the database holds, where the key comes from, a wrong or missing key, the migration of
plain rows. Assertions count or name secrets, never print them."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from storage import KEY_ENV, SecretKeyError, Store, open_engine

COOKIE = "unb=2200000000001; cookie2=c2-secret-value-0001; _m_h5_tk=h5tk-secret-0001_1700000000000"
TOKEN = "access-token-secret-0001"
PLAIN = (COOKIE.split("; ")[1].split("=")[1], COOKIE.split("; ")[2].split("=")[1], TOKEN)


def _stored(url: str) -> list[tuple[str, str | None]]:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT cookie_jar, access_token FROM account_state "
                                                                  "ORDER BY account_id"))]
    finally:
        engine.dispose()


def _plain_count(values: list[tuple[str, str | None]] | bytes) -> int:
    """How many of the test's secrets appear in the stored values or the raw file (a count: nothing printed)."""
    blob = values if isinstance(values, bytes) else "\n".join(str(v) for row in values for v in row).encode()
    return sum(secret.encode() in blob for secret in PLAIN)


def _key_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "secret.key"


def test_values_are_sealed_in_the_database_and_open_for_the_caller(db_url: str, tmp_path: Path) -> None:
    with Store(db_url, tmp_path) as store:
        row = store.accounts.update("shop-a", 1, cookie_jar=COOKIE, access_token=TOKEN, device_id="DEV")
        assert (row.cookie_jar, row.access_token) == (COOKIE, TOKEN)
        assert (store.accounts.get("shop-a").cookie_jar, store.accounts.all()[0].access_token) == (COOKIE, TOKEN)
        store.accounts.update("shop-a", 2, access_token=None)
        assert store.accounts.get("shop-a").access_token is None
    stored = _stored(db_url)
    assert [(jar.startswith("fernet:"), token) for jar, token in stored] == [(True, None)]
    assert _plain_count(stored) == 0


def test_a_sqlite_database_file_holds_no_secret(tmp_path: Path) -> None:
    db = tmp_path / "data" / "xianyu.db"
    with Store(f"sqlite:///{db}") as store:
        for n in range(3):
            store.accounts.update("shop-a", n, cookie_jar=COOKIE, access_token=TOKEN)
    assert _plain_count(b"".join(p.read_bytes() for p in db.parent.glob("xianyu.db*"))) == 0


def test_the_key_file_is_created_0600_beside_the_sqlite_file_and_reused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'xianyu.db'}"
    with Store(url) as store:
        store.accounts.update("shop-a", 1, cookie_jar=COOKIE)
    key = _key_file(tmp_path)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = key.read_bytes()
    with Store(url) as store:
        assert store.accounts.get("shop-a").cookie_jar == COOKIE
    assert key.read_bytes() == first


def test_postgresql_keeps_its_key_file_beside_accounts_yml(clean_postgres_url: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    with Store(clean_postgres_url, tmp_path) as store:
        store.accounts.update("shop-a", 1, cookie_jar=COOKIE)
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    with pytest.raises(SecretKeyError, match="needs the folder of accounts.yml"):
        Store(clean_postgres_url)


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'xianyu.db'}"
    Store(url).close()
    _key_file(tmp_path).chmod(0o644)
    with pytest.raises(SecretKeyError, match=r"readable by other users \(mode 0644\): chmod 600 .*rekey"):
        Store(url)


def test_a_malformed_environment_key_names_the_variable_not_the_value(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "not-a-fernet-key-but-a-secret")
    with pytest.raises(SecretKeyError) as raised:
        Store(f"sqlite:///{tmp_path / 'x.db'}")
    assert str(raised.value).startswith(f"{KEY_ENV}: not a key")
    assert "not-a-fernet-key" not in str(raised.value)
    assert not (tmp_path / "secret.key").exists()  # the environment's key is used, never a file


def test_a_wrong_key_is_an_error_and_changes_nothing(db_url: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    with Store(db_url, tmp_path) as store:
        store.accounts.update("shop-a", 1, cookie_jar=COOKIE, access_token=TOKEN)
        store.accounts.update("shop-b", 1, cookie_jar=COOKIE.replace("unb=2200000000001", "unb=2200000000002"))
    before = _stored(db_url)
    _write_plain(db_url, "shop-c")  # a plain row among the sealed ones: a wrong key must not seal it either
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    with pytest.raises(SecretKeyError, match=f"^{KEY_ENV}: this database's cookies and tokens were sealed with "
                                             "another key: .*nothing was changed"):
        Store(db_url, tmp_path)
    after = _stored(db_url)
    assert after[:2] == before and not after[2][0].startswith("fernet:")


def test_a_missing_key_file_for_a_sealed_database_is_an_error_and_no_new_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'xianyu.db'}"
    with Store(url) as store:
        store.accounts.update("shop-a", 1, cookie_jar=COOKIE)
    _key_file(tmp_path).unlink()
    with pytest.raises(SecretKeyError, match="missing, and this database's cookies and tokens are sealed"):
        Store(url)
    assert not _key_file(tmp_path).exists()


def _write_plain(url: str, account_id: str) -> None:
    """A row as the version before encryption wrote it: raw SQL, the values in plain text."""
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO account_state (account_id, cookie_jar, cookie_source, device_id, "
                              "access_token, token_expires_at_ms, sync_pts, state, state_since_ms, last_error, "
                              "updated_at_ms) VALUES (:id, :jar, 'src', 'DEV', :token, 1700000000000, 0, "
                              "'stopped', 0, NULL, 0)"), {"id": account_id, "jar": COOKIE, "token": TOKEN})
    finally:
        engine.dispose()


def test_plain_rows_of_an_older_version_are_sealed_in_place_once(db_url: str, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    Store(db_url, tmp_path).close()  # the tables, as the older version had them
    for account_id in ("shop-a", "shop-b"):
        _write_plain(db_url, account_id)
    assert _plain_count(_stored(db_url)) == len(PLAIN)
    with caplog.at_level(logging.INFO, logger="storage"), Store(db_url, tmp_path) as store:
        assert [(r.cookie_jar, r.access_token, r.device_id) for r in store.accounts.all()] == [
            (COOKIE, TOKEN, "DEV"), (COOKIE, TOKEN, "DEV")]
    assert "sealed the cookies and tokens of 2 account(s) stored in plain text" in caplog.text
    assert _plain_count(caplog.text.encode()) == 0
    stored = _stored(db_url)
    assert _plain_count(stored) == 0 and all(v.startswith("fernet:") for row in stored for v in row)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="storage"), Store(db_url, tmp_path):
        pass
    assert "sealed the cookies" not in caplog.text and _stored(db_url) == stored  # idempotent


def test_a_migrated_sqlite_file_keeps_no_plain_page(tmp_path: Path) -> None:
    db = tmp_path / "data" / "xianyu.db"
    url = f"sqlite:///{db}"
    Store(url).close()
    _write_plain(url, "shop-a")
    Store(url).close()
    assert _plain_count(b"".join(p.read_bytes() for p in db.parent.glob("xianyu.db*"))) == 0
