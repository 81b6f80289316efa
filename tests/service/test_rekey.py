"""``python xianyu.py rekey`` and the key at start-up, as real processes on real SQLite files: a rotation with a
key file and with the key in the environment, one that stopped half-way, the refusal while a service holds the
database, and a service started with the wrong key (exit 2, nothing changed)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from storage import KEY_ENV, NEW_KEY_ENV, SecretKeyError, Store, claim
from storage.keys import write_key_file
from storage.sealing import Sealer
from tests.service.child import ROOT
from tests.service.support import write_config

COOKIE = "unb=2200000000001; cookie2=rekey-cookie-secret-01; _m_h5_tk=rekey-h5tk-secret_1700000000000"
TOKEN = "rekey-access-token-secret"
# Nothing listens here: the wrong-key start must stop before any connection.
DEAD = {"ws": "ws://127.0.0.1:9/", "api": "http://127.0.0.1:9", "passport": "http://127.0.0.1:9"}


def _xianyu(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, NEW_KEY_ENV)}
    return subprocess.run([sys.executable, "xianyu.py", *args], cwd=ROOT, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database with two accounts' cookies and tokens, sealed with a key file beside it."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    database = f"sqlite:///{tmp_path / 'x.db'}"
    with Store(database) as store:
        for account in ("shop-a", "shop-b"):
            store.accounts.update(account, 1, cookie_jar=COOKIE, access_token=TOKEN)
    return database


def _opened(url: str) -> list[tuple[str, str | None]]:
    with Store(url) as store:
        return [(row.cookie_jar, row.access_token) for row in store.accounts.all()]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_rekey_reseals_with_a_new_key_file_and_keeps_the_old_one(url: str, tmp_path: Path) -> None:
    key, old, pending = tmp_path / "secret.key", tmp_path / "secret.key.old", tmp_path / "secret.key.new"
    before = key.read_bytes()
    done = _xianyu("rekey", "--db", url, "--config", str(tmp_path / "absent.yml"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"re-sealed 2 account(s) with a new key in {key}; the previous key is in {old}")
    assert key.read_bytes() != before and old.read_bytes() == before and not pending.exists()
    assert (_mode(key), _mode(old)) == (0o600, 0o600)
    assert _opened(url) == [(COOKIE, TOKEN)] * 2
    write_key_file(key, before, replace=True)  # the old key opens nothing any more
    with pytest.raises(SecretKeyError, match="sealed with another key"):
        Store(url)


def test_rekey_with_the_key_in_the_environment_takes_the_new_one_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv(KEY_ENV, first)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with Store(url) as store:
        store.accounts.update("shop-a", 1, cookie_jar=COOKIE, access_token=TOKEN)
    refused = _xianyu("rekey", "--db", url, env={KEY_ENV: first})
    assert refused.returncode == 2 and f"{NEW_KEY_ENV}: not set" in refused.stderr
    assert _opened(url) == [(COOKIE, TOKEN)]  # still the first key's
    done = _xianyu("rekey", "--db", url, env={KEY_ENV: first, NEW_KEY_ENV: second})
    assert done.returncode == 0, done.stderr
    assert "set XIANYU_SECRET_KEY to it" in done.stdout and first not in done.stdout + done.stderr
    assert second not in done.stdout + done.stderr
    monkeypatch.setenv(KEY_ENV, second)
    assert _opened(url) == [(COOKIE, TOKEN)]
    assert not (tmp_path / "secret.key").exists()


def test_rekey_refuses_while_a_service_holds_the_database(url: str, tmp_path: Path) -> None:
    key = (tmp_path / "secret.key").read_bytes()
    lock = claim(url, 0)  # what a running service holds
    try:
        done = _xianyu("rekey", "--db", url)
    finally:
        lock.release()
    assert done.returncode == 2 and done.stderr.startswith("xianyu.py rekey: another xianyu.py (pid ")
    assert "stop it first" in done.stderr and (tmp_path / "secret.key").read_bytes() == key


def test_a_rotation_stopped_after_the_commit_still_opens_and_the_next_rekey_finishes_it(
        url: str, tmp_path: Path) -> None:
    key, pending = tmp_path / "secret.key", tmp_path / "secret.key.new"
    new = Fernet.generate_key()
    write_key_file(pending, new, replace=False)
    with Store(url) as store:  # rows re-sealed with the new key, committed; then the rekey "stopped"
        store.accounts.reseal(Sealer([new], "test"))
    assert _opened(url) == [(COOKIE, TOKEN)] * 2  # both keys open values while secret.key.new is there
    done = _xianyu("rekey", "--db", url)
    assert done.returncode == 0, done.stderr
    assert key.read_bytes().strip() == new and not pending.exists()
    assert _opened(url) == [(COOKIE, TOKEN)] * 2


def test_a_service_started_with_another_key_exits_2_and_changes_nothing(url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "accounts.yml", DEAD, [{"id": "shop-a", "cookie": COOKIE}], database=url)
    (tmp_path / "secret.key").unlink()
    write_key_file(tmp_path / "secret.key", Fernet.generate_key(), replace=False)
    before = (tmp_path / "x.db").read_bytes()
    done = _xianyu("--no-tui", "--config", str(config))
    assert done.returncode == 2
    assert done.stderr.strip().endswith(f"key file {tmp_path / 'secret.key'}: this database's cookies and tokens "
                                        "were sealed with another key: give the key it was sealed with "
                                        "(XIANYU_SECRET_KEY, or the secret.key from your backup; after a rekey "
                                        "the one before is secret.key.old); nothing was changed")
    assert (tmp_path / "x.db").read_bytes() == before
    assert "Traceback" not in done.stderr
