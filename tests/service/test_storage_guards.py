"""Guarded storage, with real processes: private file modes, one instance per database (SQLite and PostgreSQL),
the database deleted under a running service, and a database that is not writable at start-up.

"Not writable" is made without privileges (the tests may run as root, which ignores file modes): the child's
file-size limit (RLIMIT_FSIZE) is 0, so every write to a regular file fails in the kernel, as on a full disk.
(tests/storage/test_guards.py has the read-only file itself, in-process.)
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import stat
from collections.abc import Callable
from pathlib import Path

from storage import shown_database
from tests.service.child import Child
from tests.service.conftest import BUYER, BUYER2, ITEM, Env
from tests.service.support import stays, wait_until

SELLER = "shop-a"
ANSWER = "在的，亲"


def _shop(env: Env, database: str, **settings: object) -> None:
    account = env.seller(SELLER, default_reply=ANSWER)
    env.ctl.item(env.unb(SELLER), ITEM, "二手键盘")
    env.write([account], database=database, settings={"debounce_seconds": 0, **settings})


def _run(env: Env, made: list[Child], preexec: Callable[[], None] | None = None,
         wait_s: float | None = None) -> Child:
    child = Child(env.config, preexec=preexec, wait_s=wait_s)
    made.append(child)
    return child


def _online(env: Env, child: Child, timeout: float = 30) -> None:
    wait_until(lambda: env.ctl.online(env.unb(SELLER)), timeout, child.log)


def _answers(env: Env, buyer: str) -> int:
    return sum(1 for m in env.ctl.sent(env.unb(SELLER)) if m["to"] == buyer and m["text"] == ANSWER)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_is_private_and_every_database_file_is_0600(env: Env, children: list[Child]) -> None:
    data = env.dir / "data"
    _shop(env, f"sqlite:///{data / 'xianyu.db'}")
    child = _run(env, children, preexec=lambda: os.umask(0o022))
    _online(env, child)
    env.ctl.message(env.unb(SELLER), BUYER, "在吗", item_id=ITEM)
    wait_until(lambda: _answers(env, BUYER) == 1, 10, child.log)
    assert _mode(data) == 0o700
    for name in ("xianyu.db", "xianyu.db-wal", "xianyu.db-shm", "xianyu.db.lock"):
        assert _mode(data / name) == 0o600, name


def test_a_world_readable_database_is_tightened_with_a_line(env: Env, children: list[Child]) -> None:
    db = env.dir / "loose.db"
    db.touch()
    db.chmod(0o644)
    _shop(env, f"sqlite:///{db}")
    child = _run(env, children)
    _online(env, child)
    assert _mode(db) == 0o600
    assert len(child.with_text(f"database readable by other users, now private (it holds cookies and tokens): "
                               f"{db} 0644 → 0600")) == 1, child.log()


def test_a_second_instance_on_one_sqlite_file_exits_2_naming_the_first(env: Env, children: list[Child]) -> None:
    db = env.dir / "shop.db"
    _shop(env, f"sqlite:///{db}")
    first = _run(env, children)
    _online(env, first)
    second = _run(env, children)
    assert second.exit_code(30) == 2, second.log()
    refusal = f"another xianyu.py (pid {first.proc.pid} on {socket.gethostname()}) uses {db}"
    assert second.has(refusal), second.log()
    assert len(second.lines) == 1, second.log()  # one line, no traceback
    assert env.ctl.account_state(env.unb(SELLER))["open_connections"] == 1, "the second never connected"
    # The lock dies with its holder, kill -9 included: the next start takes over.
    first.end(kill=True)
    third = _run(env, children)
    wait_until(lambda: third.has("→ online"), 30, third.log)
    env.ctl.message(env.unb(SELLER), BUYER2, "在吗", item_id=ITEM)
    wait_until(lambda: _answers(env, BUYER2) == 1, 15, third.log)


def test_a_second_instance_on_one_postgresql_database_exits_2(env: Env, children: list[Child],
                                                               postgres_url: str) -> None:
    _shop(env, postgres_url)
    first = _run(env, children)
    _online(env, first)
    second = _run(env, children)
    assert second.exit_code(30) == 2, second.log()
    refusal = f"another xianyu.py (pid {first.proc.pid} on {socket.gethostname()}) uses {shown_database(postgres_url)}"
    assert second.lines == [refusal], second.log()
    first.end(kill=True)
    third = _run(env, children)
    wait_until(lambda: third.has("→ online"), 30, third.log)


def test_the_database_deleted_while_running_stops_answering_and_a_restart_answers_no_one_twice(
        env: Env, children: list[Child]) -> None:
    data = env.dir / "data"
    _shop(env, f"sqlite:///{data / 'xianyu.db'}")
    child = _run(env, children)
    _online(env, child)
    env.ctl.message(env.unb(SELLER), BUYER, "在吗", item_id=ITEM)
    wait_until(lambda: _answers(env, BUYER) == 1, 10, child.log)

    shutil.rmtree(data)
    line = f"the database file {data / 'xianyu.db'} was deleted while running; stopped answering — restart the service"
    wait_until(lambda: child.has(line), 25, child.log)  # the guard:* job runs every 15 s
    said = child.with_text(line)
    assert len(said) == 1 and " ERROR " in said[0], child.log()
    env.ctl.message(env.unb(SELLER), BUYER2, "还在吗", item_id=ITEM)
    assert stays(lambda: _answers(env, BUYER2) == 0, 3.0), child.log()
    child.end()
    assert child.proc.returncode == 0, child.log()  # still a clean stop

    # A new database: the platform replays what was never ACKed; the buyer answered before is not answered
    # again (the chat's history says so), the one who asked after the deletion is answered once.
    restarted = _run(env, children)
    wait_until(lambda: _answers(env, BUYER2) == 1, 30, restarted.log)
    assert stays(lambda: _answers(env, BUYER) == 1 and _answers(env, BUYER2) == 1, 3.0), restarted.log()


def _no_writes() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))


def test_a_database_not_writable_at_start_is_one_line_and_the_service_starts_once_it_is(
        env: Env, children: list[Child]) -> None:
    _shop(env, f"sqlite:///{env.dir / 'new.db'}")
    child = _run(env, children, preexec=_no_writes)
    wait_until(lambda: child.has("is not writable"), 20, child.log)
    assert stays(lambda: not env.ctl.online(env.unb(SELLER)) and child.proc.poll() is None, 2.0), child.log()
    waiting = child.with_text("is not writable")
    assert len(waiting) == 1, child.log()
    assert waiting[0].startswith(f"database {env.dir / 'new.db'} is not writable: "), child.log()
    assert waiting[0].endswith("; retrying for up to 60 s"), child.log()
    assert not child.has("Traceback"), child.log()

    resource.prlimit(child.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    _online(env, child)
    assert child.has("is writable now; starting"), child.log()
    env.ctl.message(env.unb(SELLER), BUYER, "在吗", item_id=ITEM)
    wait_until(lambda: _answers(env, BUYER) == 1, 10, child.log)


def test_a_database_that_never_becomes_writable_exits_2_with_one_line(env: Env, children: list[Child]) -> None:
    _shop(env, f"sqlite:///{env.dir / 'never.db'}")
    child = _run(env, children, preexec=_no_writes, wait_s=2)
    assert child.exit_code(30) == 2, child.log()
    assert len(child.lines) == 2, child.log()  # the wait's line, and why it gave up
    assert child.lines[1].startswith(f"xianyu.py: database {env.dir / 'never.db'} is still not writable after 2 s: "), \
        child.log()
    assert not child.has("Traceback"), child.log()
    assert env.ctl.account_state(env.unb(SELLER))["connections"] == 0


def test_postgresql_down_at_start_exits_2_after_the_wait(env: Env, children: list[Child]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    _shop(env, f"postgresql://seller:hunter2@127.0.0.1:{port}/shop")
    child = _run(env, children, wait_s=2)
    assert child.exit_code(30) == 2, child.log()
    out = "\n".join(child.lines)
    assert child.lines[0].startswith(f"database postgresql://seller:***@127.0.0.1:{port}/shop is not writable: "), out
    assert "refused" in out.lower() and "still not writable after 2 s" in child.lines[-1], out
    assert "hunter2" not in out and not child.has("Traceback"), out
    assert env.ctl.account_state(env.unb(SELLER))["connections"] == 0
