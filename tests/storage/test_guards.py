"""Guarded storage, in-process on real files and a real PostgreSQL: private modes whatever the umask, the
instance lock (against a real second process), a read-only database, a file lost under an open store.

The service-level half (real ``xianyu.py`` processes) is tests/service/test_storage_guards.py.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage import DatabaseInUse, DatabaseUnavailable, Inbound, Store, claim, shown_database

ROOT = Path(__file__).resolve().parents[2]
ME = f"pid {os.getpid()} on {socket.gethostname()}"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def _inbound(n: int) -> Inbound:
    return Inbound(account_id="shop-a", cid="c1", message_id=f"m{n:031d}", kind="chat", created_at_ms=n,
                   received_at_ms=n, text="在吗", sender_id="b1")


def _write(store: Store, n: int = 1) -> None:
    """One per-message write: WAL and shared memory exist after it."""
    store.messages.accept(_inbound(n), ttl_ms=60_000)


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277])
def test_a_new_data_directory_is_0700_and_every_file_0600_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    data = tmp_path / "data"
    with _umask(mask):
        lock = claim(f"sqlite:///{data / 'xianyu.db'}", 0)
        try:
            with Store(f"sqlite:///{data / 'xianyu.db'}") as store:
                _write(store)
                modes = {path.name: _mode(path) for path in data.iterdir()}
        finally:
            lock.release()
    assert _mode(data) == 0o700
    # -wal and -shm are SQLite's own: it gives them the main file's bits (umask or not).
    assert modes == {"xianyu.db": 0o600, "xianyu.db-wal": 0o600, "xianyu.db-shm": 0o600, "xianyu.db.lock": 0o600,
                     "secret.key": 0o600}


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    with Store(f"sqlite:///{tmp_path / 'x.db'}") as store:
        _write(store)
    assert _mode(tmp_path) == 0o755
    assert _mode(tmp_path / "x.db") == 0o600


def test_a_readable_database_is_tightened_with_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "x.db"
    with Store(f"sqlite:///{db}") as store:
        _write(store)
    for path in (db, tmp_path / "x.db-wal"):
        path.touch()
        path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="storage"), Store(f"sqlite:///{db}") as store:
        _write(store, 2)
        assert _mode(db) == 0o600 and _mode(tmp_path / "x.db-wal") == 0o600  # (the last close removes the WAL)
    said = [r.getMessage() for r in caplog.records if "readable by other users" in r.getMessage()]
    assert said == [f"database readable by other users, now private (it holds cookies and tokens): {db} 0644 → 0600, "
                    f"{db}-wal 0644 → 0600"]


def test_a_read_only_database_says_so(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with Store(f"sqlite:///{db}") as store:
        _write(store)
    with Store(f"sqlite:///file:{db}?mode=ro&uri=true") as store, \
            pytest.raises(DatabaseUnavailable, match="attempt to write a readonly database"):
        store.check_writable(0)


NOBODY = 65534


def test_a_0400_database_file_is_not_writable(tmp_path: Path) -> None:
    """Root writes a 0400 file anyway (CI runs as root): there the check runs in a forked child that dropped to
    the user nobody, who owns the file and its directory."""
    home = Path(tempfile.mkdtemp(prefix="guards-"))  # not under pytest's 0700 root-only tmp_path
    try:
        db = home / "x.db"
        with Store(f"sqlite:///{db}") as store:  # also imports everything opening a Store needs, before the fork
            _write(store)
        db.chmod(0o400)
        if os.geteuid() != 0:
            with Store(f"sqlite:///{db}") as store, pytest.raises(DatabaseUnavailable, match="readonly database"):
                store.check_writable(0)
            return
        os.chown(home, NOBODY, NOBODY)
        os.chown(db, NOBODY, NOBODY)
        os.chown(home / "secret.key", NOBODY, NOBODY)  # the key goes with the database
        assert _as_nobody(lambda: _refused_as_readonly(db)) == "readonly"
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _refused_as_readonly(db: Path) -> str:
    with Store(f"sqlite:///{db}") as store:
        try:
            store.check_writable(0)
        except DatabaseUnavailable as exc:
            return "readonly" if "readonly database" in str(exc) else f"refused otherwise: {exc}"
    return "written"


def _as_nobody(check: Callable[[], str]) -> str:
    """``check()``'s answer, run in a forked child under the user nobody."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, never return into pytest
        try:
            os.close(read)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            answer = check()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which asserts on it
            answer = f"{type(exc).__name__}: {exc}"
        os.write(write, answer.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read().decode()
    os.waitpid(pid, 0)
    return answer


def test_a_deleted_or_replaced_file_is_noticed_and_writes_can_be_refused(tmp_path: Path) -> None:
    db = tmp_path / "data" / "x.db"
    with Store(f"sqlite:///{db}") as store:
        assert store.file_lost() is None
        os.replace(Store(f"sqlite:///{tmp_path / 'other.db'}").file, db)  # a restored backup moved over it
        assert store.file_lost() == "replaced"
        for path in db.parent.iterdir():
            path.unlink()
        assert store.file_lost() == "deleted"
        _write(store)  # a write into the unlinked file: it succeeds, and that is the danger
        store.refuse_writes("the database file x.db was deleted while running")
        with pytest.raises(DatabaseUnavailable, match="x.db was deleted while running"):
            _write(store, 2)
        assert [m.message_id for m in store.messages.recent("shop-a")] == [_inbound(1).message_id]  # reads go on


def test_postgresql_has_no_file_to_lose(clean_postgres_url: str) -> None:
    with Store(clean_postgres_url) as store:
        assert store.file is None and store.file_lost() is None


def _claim_elsewhere(url: str) -> subprocess.CompletedProcess[str]:
    """Another process asks for the instance lock: prints "ok" if it got it, else the refusal."""
    script = ("import sys\nfrom storage import DatabaseInUse, claim\n"
              "try:\n    claim(sys.argv[1], 0)\nexcept DatabaseInUse as exc:\n    print(exc)\n    sys.exit(2)\n"
              "print('ok')\n")
    return subprocess.run([sys.executable, "-c", script, url], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_instance_lock_keeps_other_processes_out_until_released(db_url: str) -> None:
    lock = claim(db_url, 0)
    try:
        again = claim(db_url, 0)  # services inside one process share it
        again.release()
        refused = _claim_elsewhere(db_url)
        assert (refused.returncode, refused.stdout.strip()) == (
            2, f"another xianyu.py ({ME}) uses {shown_database(db_url)}"), refused.stderr
    finally:
        lock.release()
    taken = _claim_elsewhere(db_url)
    assert (taken.returncode, taken.stdout.strip()) == (0, "ok"), taken.stderr


def test_the_sqlite_lock_file_names_its_holder(tmp_path: Path) -> None:
    lock = claim(f"sqlite:///{tmp_path / 'x.db'}", 0)
    try:
        assert (tmp_path / "x.db.lock").read_text() == f"{os.getpid()} {socket.gethostname()}\n"
    finally:
        lock.release()


def test_a_database_in_use_names_it_as_the_user_wrote_it() -> None:
    assert shown_database("sqlite:///data/xianyu.db") == "data/xianyu.db"
    refusal = DatabaseInUse("postgresql://seller:hunter2@db.example/shop", "pid 7 on vps-1")
    assert str(refusal) == "another xianyu.py (pid 7 on vps-1) uses postgresql://seller:***@db.example/shop"
