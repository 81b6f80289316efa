"""The wall clock steps an hour forward, or back, under a running service (issue 12 §4 B).

The service runs as ``python xianyu.py --no-tui`` under libfaketime, its wall clock read from a file the test
rewrites (``+0``, then ``+3600``); its monotonic and boot clocks stay real (``FAKETIME_DONT_FAKE_MONOTONIC``), as
they do when a real clock is stepped. The simulator runs in the test's own process, not faked: the platform's
clock does not jump when ours does. After the step:

* no token storm: not one token call (the IM tokens have 65 min left on the platform's clock; an hour of the
  wall clock is not an hour of their life);
* a chat the seller took over by hand before the step stays paused, and one taken over after it pauses too;
* a new buyer message is answered, not recorded as an hour old (``too_old``);
* every account stays online on its one connection, heartbeats going on.

The in-process checks at the end pin the same properties on the parts (PauseBook, SteadyClock, the credentials'
token) with the stage's wall clock stepped by monkeypatching, no faketime needed.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from core.replies import takeover
from core.replies.takeover import PauseBook, SteadyClock
from tests.service.child import Child
from tests.service.conftest import BUYER, BUYER2, Env
from tests.service.support import stays, wait_until

# The thread-safe build: with FAKETIME_NO_CACHE the plain libfaketime.so.1 re-reads the offset file racily from
# many threads and now and then answers the real time (+0) for a moment, a backward step the test did not ask for.
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
HOUR_S = 3600
TOKEN_TTL_S = HOUR_S + 300  # 65 min: an hour's step of the wall clock would leave 5 (< the 5-min reuse margin)
REPLY = "收到：{text}"
SETTINGS = {"token_refresh_interval": 60, "token_refresh_jitter": 0, "max_message_age": 300,
            "takeover_minutes": 10}
# libfaketime 0.9.10 (Debian 12) with FAKETIME_DONT_FAKE_MONOTONIC hands clock_nanosleep(CLOCK_MONOTONIC,
# TIMER_ABSTIME) a bad time (wolfcw/libfaketime#426), which is how Python >= 3.11 sleeps: time.sleep raises
# EINVAL. Only there is time.sleep replaced by an Event wait (the same monotonic wait); nothing else changes.
BOOT = """
import runpy, sys, threading, time
try:
    time.sleep(0.001)
except OSError:
    _wait = threading.Event().wait
    time.sleep = lambda seconds: None if _wait(max(0.0, seconds)) else None
sys.argv = ["xianyu.py", *sys.argv[1:]]
runpy.run_path("xianyu.py", run_name="__main__")
"""


def faked_service(config: Path, clock_file: Path) -> Child:
    """The service as a child process whose wall clock is ``real + offset``, the offset in ``clock_file``."""
    set_offset(clock_file, 0)
    env = {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME_TIMESTAMP_FILE": str(clock_file), "FAKETIME_NO_CACHE": "1",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    return Child(config, env=env, launcher=(sys.executable, "-c", BOOT))


def set_offset(clock_file: Path, seconds: int) -> None:
    scratch = clock_file.with_suffix(".tmp")
    scratch.write_text(f"{seconds:+d}\n")
    scratch.replace(clock_file)  # never a half-written file for the child to read


@pytest.fixture
def faked(children: list[Child]) -> list[Child]:
    """The `children` list (their ends are its), once libfaketime is known to be there."""
    if not LIBFAKETIME.exists():
        pytest.fail(f"{LIBFAKETIME} is missing: apt-get install faketime (.ci/run installs it)", pytrace=False)
    return children


class Db:
    """The child's SQLite file, read-only (what it decided, what it paused)."""

    def __init__(self, url: str) -> None:
        self._path = url.removeprefix("sqlite:///")

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(sql, args).fetchall()

    def message(self, account_id: str, text: str) -> tuple[str | None, int, int] | None:
        """(decision, created_at_ms, received_at_ms) of the buyer message with this text."""
        rows = self._rows("SELECT decision, created_at_ms, received_at_ms FROM inbound_message "
                          "WHERE account_id = ? AND kind = 'chat' AND text = ?", account_id, text)
        return rows[0] if rows else None

    def decided(self, account_id: str, text: str) -> str | None:
        row = self.message(account_id, text)
        return row[0] if row else None

    def paused(self, account_id: str, cid: str) -> bool:
        return bool(self._rows("SELECT 1 FROM chat_pause WHERE account_id = ? AND cid = ?", account_id, cid))


def _texts(env: Env, account_id: str, cid: str) -> list[str]:
    return [m["text"] for m in env.ctl.sent_in(env.unb(account_id), cid)]


def test_an_hour_forward_on_our_clock_changes_nothing(make_env: Any, faked: list[Child],
                                                      tmp_path: Path) -> None:
    env: Env = make_env(token_ttl=TOKEN_TTL_S)
    ids = [f"shop-{n}" for n in range(5)]
    accounts = [env.seller(i, default_reply=REPLY) for i in ids]
    env.write(accounts, settings=SETTINGS)
    clock_file = tmp_path / "faketime"
    service = faked_service(env.config, clock_file)
    faked.append(service)
    unbs = [env.unb(i) for i in ids]
    db = Db(env.db_url)

    def all_online() -> bool:
        state = env.ctl.state()
        return all(state[u]["online"] for u in unbs)

    wait_until(all_online, 30, lambda: f"not all online; service log:\n{service.log()}")
    shop = env.unb("shop-0")

    # Before the step: a chat answered, then taken over by the seller on the phone (paused for 10 min).
    held = env.ctl.message(shop, BUYER, "在吗")["cid"]
    wait_until(lambda: _texts(env, "shop-0", held) == ["收到：在吗"], 10, service.log)
    env.ctl.seller_message(shop, held, "我来回答")
    wait_until(lambda: db.paused("shop-0", held), 10, service.log)
    # Another chat (shop-2) to be taken over after the step.
    later = env.ctl.message(env.unb("shop-2"), BUYER, "你好")["cid"]
    wait_until(lambda: _texts(env, "shop-2", later) == ["收到：你好"], 10, service.log)

    before = env.ctl.state()
    set_offset(clock_file, HOUR_S)  # the step: the child's wall clock now reads an hour ahead; the platform's does not
    stepped = time.monotonic()

    # A new chat is answered, and its record proves the child's clock had stepped when it arrived.
    fresh = env.ctl.message(shop, BUYER2, "新客人")["cid"]
    wait_until(lambda: _texts(env, "shop-0", fresh) == ["收到：新客人"], 10,
               lambda: f"decision {db.message('shop-0', '新客人')}; service log:\n{service.log()}")
    decision, created, received = db.message("shop-0", "新客人") or (None, 0, 0)
    assert decision == "replied"
    assert received - created > (HOUR_S - 60) * 1000, "the child's wall clock did not step"

    # The chat paused before the step stays paused: its buyer is not answered.
    env.ctl.message(shop, BUYER, "还在吗")
    wait_until(lambda: db.decided("shop-0", "还在吗"), 10, service.log)
    assert db.decided("shop-0", "还在吗") == "paused"

    # A takeover after the step pauses its chat too (its ten minutes are not taken as an hour gone).
    env.ctl.seller_message(env.unb("shop-2"), later, "老板在")
    wait_until(lambda: db.paused("shop-2", later), 10, service.log)
    env.ctl.message(env.unb("shop-2"), BUYER, "老板好")
    wait_until(lambda: db.decided("shop-2", "老板好"), 10, service.log)
    assert db.decided("shop-2", "老板好") == "paused"

    # Twenty seconds after the step: every account on its one connection, heartbeats going on, no token call.
    assert_steady_after_step(env, service, unbs, before, stepped)
    assert _texts(env, "shop-0", held) == ["收到：在吗"] and _texts(env, "shop-2", later) == ["收到：你好"]


def assert_steady_after_step(env: Env, service: Child, unbs: list[str], before: dict[str, Any],
                             stepped: float) -> None:
    """For 20 s from the step: every account online on the connection it had before it, at least 10 heartbeats
    each (1 s interval), not one token call (the tokens had 65 min left on the platform's clock)."""
    def steady() -> bool:
        state = env.ctl.state()
        return all(state[u]["online"] and state[u]["connections"] == before[u]["connections"] for u in unbs)

    assert stays(steady, max(0.0, 20 - (time.monotonic() - stepped))), \
        f"an account reconnected or went offline after the step: {env.ctl.state()}\n{service.log()}"
    after = env.ctl.state()
    tokens = sum(after[u]["tokens_issued"] - before[u]["tokens_issued"] for u in unbs)
    assert tokens == 0, f"{tokens} token calls after the step"
    beats = {u: after[u]["heartbeats"] - before[u]["heartbeats"] for u in unbs}
    assert all(n >= 10 for n in beats.values()), f"heartbeats in the 20 s after the step (1 s interval): {beats}"
    assert service.proc.poll() is None, service.log()


def test_an_hour_back_on_our_clock_keeps_the_heartbeats_going(make_env: Any, faked: list[Child],
                                                               tmp_path: Path) -> None:
    """APScheduler keeps due times on the wall clock: stepped back an hour, every heartbeat would wait that hour
    out (and the platform drop the connection) unless the scheduler's clock watch moves them back."""
    env: Env = make_env(token_ttl=TOKEN_TTL_S)
    ids = [f"shop-{n}" for n in range(3)]
    env.write([env.seller(i, default_reply=REPLY) for i in ids], settings=SETTINGS)
    clock_file = tmp_path / "faketime"
    service = faked_service(env.config, clock_file)
    faked.append(service)
    unbs = [env.unb(i) for i in ids]
    wait_until(lambda: all(env.ctl.state()[u]["online"] for u in unbs), 30,
               lambda: f"not all online; service log:\n{service.log()}")
    before = env.ctl.state()
    set_offset(clock_file, -HOUR_S)
    stepped = time.monotonic()
    wait_until(lambda: "the wall clock stepped back" in service.log(), 10, service.log)

    shop = env.unb("shop-0")
    fresh = env.ctl.message(shop, BUYER, "时间倒了")["cid"]
    wait_until(lambda: _texts(env, "shop-0", fresh) == ["收到：时间倒了"], 10, service.log)

    assert_steady_after_step(env, service, unbs, before, stepped)


# ------------------------------------------------------------------------------- the parts, in-process


class _Wall:
    """The stage's wall clock (`core.replies.takeover.now_ms`), stepped by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.step_ms = 0
        real = takeover.now_ms
        monkeypatch.setattr(takeover, "now_ms", lambda: real() + self.step_ms)

    def now(self) -> int:
        return takeover.now_ms()


def test_a_pause_neither_ends_nor_stretches_when_the_wall_clock_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = _Wall(monkeypatch)
    no_pauses = SimpleNamespace(chats=SimpleNamespace(pauses=lambda now: []))
    book = PauseBook(no_pauses, wall.now())  # type: ignore[arg-type]
    book.set("a", "c1", wall.now() + 10 * 60_000)
    book.set("a", "c2", wall.now() + 150)
    wall.step_ms = HOUR_S * 1000
    assert book.paused("a", "c1"), "an hour forward ended a 10-minute pause"
    wall.step_ms = -HOUR_S * 1000
    assert book.paused("a", "c1")
    wait_until(lambda: not book.paused("a", "c2"), 2)  # it ends when its 150 ms are over, whatever the clock says
    assert book.paused("a", "c1") and not book.paused("b", "c1")


def test_a_forward_step_of_our_clock_does_not_age_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = _Wall(monkeypatch)
    clock = SteadyClock()
    created = wall.now() - 2_000  # the platform wrote it 2 s ago
    assert abs(clock.received(wall.now()) - wall.now()) < 50
    wall.step_ms = HOUR_S * 1000
    age = clock.received(wall.now()) - created
    assert 2_000 <= age < 2_500, age  # not an hour and 2 s
    # A step back (a clock that was ahead, corrected) is followed at once, as before.
    wall.step_ms = -HOUR_S * 1000
    assert clock.received(wall.now()) == wall.now()
    # The platform's clock seen ahead of our start (we started behind): ages follow the platform ...
    wall.step_ms = 0
    clock = SteadyClock()
    wall.step_ms = 30_000  # ... once our wall clock caught up (NTP stepped it 30 s forward)
    clock.saw(wall.now() - 100)
    assert wall.now() - clock.received(wall.now()) < 200
    clock.saw(wall.now() + 10 * HOUR_S * 1000)  # a stamp ahead of our own wall clock is not believed, so ...
    wall.step_ms += HOUR_S * 1000
    assert wall.now() - clock.received(wall.now()) > (HOUR_S - 1) * 1000  # ... a later step is still not counted
