"""Demo runs do not leak into each other: `server: demo` with no `database:` keeps data/demo.db, which each start
wipes (the simulated marketplace is new each run, so a reply left pending would only be sent to a chat it never
had: `400 no conversation`); a database the user names is kept, demo or not. Real `xianyu.py` processes, each
with the shipped accounts.yml, in a directory of their own."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from tests.service.child import ROOT, Child
from tests.service.support import wait_until


def _replies(db: Path) -> list[tuple[int, str]]:
    """(decided_at_ms, status) of every reply row; nothing while the service has not created the table yet."""
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            return conn.execute("SELECT decided_at_ms, status FROM reply").fetchall()
        except sqlite3.OperationalError:  # no such table yet
            return []


def _left_pending(db: Path) -> int:
    """Every reply of a killed run turned back into one still to send, as Ctrl-C mid-send leaves it."""
    with sqlite3.connect(db) as conn:
        return conn.execute("UPDATE reply SET status = 'pending', sent_at_ms = NULL, attempts = 0").rowcount


def _run_until_a_reply(config: Path, cwd: Path, db: Path, children: list[Child], since_ms: int) -> Child:
    child = Child(config, cwd=cwd)
    children.append(child)
    wait_until(lambda: any(at >= since_ms and status == "sent" for at, status in _replies(db)), 60, child.log)
    return child


def _demo_dir(tmp_path: Path, database: str | None = None) -> Path:
    config = tmp_path / "accounts.yml"
    shutil.copy(ROOT / "accounts.yml", config)
    if database:
        with config.open("a", encoding="utf-8") as out:
            out.write(f"database: {database}\n")
    return config


def test_each_demo_run_starts_from_a_clean_demo_database(tmp_path: Path, children: list[Child]) -> None:
    config = _demo_dir(tmp_path)
    db = tmp_path / "data" / "demo.db"
    first = _run_until_a_reply(config, tmp_path, db, children, 0)
    first.end(kill=True)
    assert _left_pending(db) >= 1
    assert not (tmp_path / "data" / "xianyu.db").exists()  # the demo never touches the real accounts' default

    started_ms = int(time.time() * 1000)
    second = _run_until_a_reply(config, tmp_path, db, children, started_ms)
    assert second.has("demo database data/demo.db started afresh"), second.log()
    assert all(at >= started_ms for at, _ in _replies(db)), "a reply of the first run survived the second start"
    assert not second.has("no conversation"), second.log()
    assert not second.has("Traceback"), second.log()


def test_a_database_the_user_named_is_never_wiped(tmp_path: Path, children: list[Child]) -> None:
    db = tmp_path / "kept.db"
    config = _demo_dir(tmp_path, f"sqlite:///{db}")
    first = _run_until_a_reply(config, tmp_path, db, children, 0)
    first.end()
    kept = _replies(db)
    assert kept

    second = Child(config, cwd=tmp_path)
    children.append(second)
    wait_until(lambda: second.has("→ online"), 30, second.log)
    assert {row[0] for row in kept} <= {row[0] for row in _replies(db)}
    assert not second.has("started afresh"), second.log()
    assert not (tmp_path / "data" / "demo.db").exists()
