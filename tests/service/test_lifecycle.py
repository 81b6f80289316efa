"""The service's life: over TLS, on PostgreSQL, and its shutdown."""

from __future__ import annotations

import sys
import threading
import traceback
from pathlib import Path

from core import events as ev
from core.clock import now_ms
from core.config import load_config
from tests.service.conftest import BUYER, BUYER2, ITEM, Env
from tests.service.support import stays, wait_until

RULES = {"default_reply": "收到：{text}"}


def _session_threads(since: frozenset[threading.Thread] = frozenset()) -> list[threading.Thread]:
    """Session-pool threads alive now, leaving out those in ``since`` (another test's service may still be
    ending one: every manager's pool names its threads session_0, session_1 …)."""
    return [t for t in threading.enumerate() if t.name.startswith("session") and t not in since]


def _where(threads: list[threading.Thread]) -> str:
    """What the threads are doing (for a failure message)."""
    frames = sys._current_frames()
    return "; ".join(f"{t.name}: " + " < ".join(f"{f.name}:{f.lineno}" for f in reversed(
        traceback.extract_stack(frames[t.ident])[-8:])) for t in threads if t.ident in frames)


def _settled(env: Env, account_id: str) -> None:
    wait_until(lambda: env.ctl.account_state(env.unb(account_id))["unacked"] == 0)


def test_tls_account_comes_online_over_wss_and_answers(tls_env: Env) -> None:
    env = tls_env
    assert env.sim.urls["ws"].startswith("wss://") and env.sim.urls["api"].startswith("https://")
    a = env.seller("shop-a", **RULES)
    run = env.start([a])
    assert load_config(env.config).server.ca == Path(env.sim.urls["ca"]).resolve()
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "加密连接")["cid"]
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(unb, cid)] == ["收到：加密连接"])
    assert run.state("shop-a") == "online"


def test_postgresql_database_answers_and_dedupes_replays(env: Env, postgres_url: str) -> None:
    a = env.seller("shop-a", **RULES)
    run = env.start([a], database=postgres_url)
    assert run.store.url == postgres_url
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "用 PostgreSQL")["cid"]
    other = env.ctl.message(unb, BUYER2, "第二个")["cid"]
    wait_until(lambda: len(env.ctl.sent(unb)) == 2)
    _settled(env, "shop-a")
    run.stop()
    run.store.accounts.update("shop-a", now_ms(), sync_pts=0)  # the next start asks for a full replay
    acks = env.ctl.account_state(unb)["acks"]
    run = env.restart(run)
    # Right after the restart nothing is un-ACKed yet either: wait for the replay itself, then for its ACKs.
    wait_until(lambda: env.ctl.account_state(unb)["acks"] > acks + 2)
    _settled(env, "shop-a")
    assert stays(lambda: len(env.ctl.sent(unb)) == 2, 0.5)
    assert run.events.of(ev.MessageReceived) == []
    env.ctl.message(unb, BUYER, "还在")
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(unb, cid)] == ["收到：用 PostgreSQL", "收到：还在"])
    assert [m["text"] for m in env.ctl.sent_in(unb, other)] == ["收到：第二个"]
    assert not (env.dir / "x.db").exists()


def _h5tk_expiry_ms(cookie_header: str) -> int:
    value = dict(p.strip().split("=", 1) for p in cookie_header.split(";") if "=" in p)["_m_h5_tk"]
    return int(value.rsplit("_", 1)[1])


def test_expired_h5_token_is_renewed_and_kept(make_env) -> None:
    env = make_env(h5tk_ttl=1)
    a = env.seller("shop-a", item_replies=[{"item": ITEM, "reply": "{item_title} ¥{item_price}"}])
    unb = env.unb("shop-a")
    env.ctl.item(unb, ITEM, "小米手环 8", "149.00")
    run = env.start([a])
    jar = run.store.accounts.get("shop-a").cookie_jar
    wait_until(lambda: now_ms() > _h5tk_expiry_ms(jar) + 50, 3)  # the gateway now refuses this _m_h5_tk
    cid = env.ctl.message(unb, BUYER, "多少钱", item_id=ITEM)["cid"]
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(unb, cid)] == ["小米手环 8 ¥149.00"])
    # The fresh _m_h5_tk from the gateway's Set-Cookie was merged and persisted.
    assert _h5tk_expiry_ms(run.store.accounts.get("shop-a").cookie_jar) > _h5tk_expiry_ms(jar)


def test_stop_with_five_online_accounts_is_quick_and_complete(env: Env) -> None:
    ids = [f"shop-{n}" for n in range(5)]
    before = frozenset(_session_threads())
    run = env.start([env.seller(i, **RULES) for i in ids])
    assert len(_session_threads(before)) >= 5
    took = run.stop()
    assert took < 5, f"stop() took {took:.1f}s"
    state = env.ctl.state()
    assert [state[env.unb(i)]["online"] for i in ids] == [False] * 5
    wait_until(lambda: not _session_threads(before), 5.0,
               lambda: f"session threads left: {_where(_session_threads(before))}")
    assert {s.account_id: s.state for s in run.store.accounts.all()} == dict.fromkeys(ids, "stopped")
    for i in ids:
        assert run.events.states(i)[-1] == "stopped"


def test_stop_while_an_account_is_being_started_stops_that_account_too(env: Env) -> None:
    """A start() past its "are we closing?" check when stop() begins builds its session afterwards: stop()
    waits for it and stops it (it used to run on, reconnecting, after the service had stopped)."""
    before = frozenset(_session_threads())
    run = env.start([env.seller("shop-a", **RULES)])
    manager = run.svc.manager
    build, building = manager._build_session, threading.Event()

    def slow_build(account):  # type: ignore[no-untyped-def]
        building.set()
        wait_until(manager._closing.is_set, 5)  # stop() has begun
        return build(account)

    manager._build_session = slow_build
    errors: list[BaseException] = []

    def restart() -> None:
        try:
            manager.restart("shop-a")
        except BaseException as exc:  # noqa: BLE001 — the assertion below shows it
            errors.append(exc)

    restarting = threading.Thread(target=restart)
    restarting.start()
    assert building.wait(5)
    run.stop()
    restarting.join(5)
    assert errors == []  # without the wait, the start lost the race to a pool already shut down
    wait_until(lambda: not _session_threads(before), 5.0,
               lambda: f"session threads left: {_where(_session_threads(before))}")
    assert not env.ctl.online(env.unb("shop-a"))


def test_stop_is_quick_while_accounts_wait(env: Env) -> None:
    """Accounts parked in backoff, login_required and needs_verification wake up for stop()."""
    ok = env.seller("shop-ok", **RULES)
    down = env.seller("shop-down", reconnect_backoff_base=30, reconnect_backoff_cap=60, **RULES)
    dead = env.seller("shop-dead", **RULES)
    risky = env.seller("shop-risky", **RULES)
    env.ctl.fault(env.unb("shop-down"), "refuse_connect", -1)
    env.ctl.fault(env.unb("shop-dead"), "session_expired", -1)
    env.ctl.fault(env.unb("shop-risky"), "risk_control", 5)
    before = frozenset(_session_threads())
    run = env.start([ok, down, dead, risky], online=False)
    env.wait_online(run, "shop-ok")
    wait_until(lambda: [run.state(i) for i in ("shop-down", "shop-dead", "shop-risky")]
               == ["backoff", "login_required", "needs_verification"], 5,
               lambda: str(run.svc.manager.snapshots()))
    took = run.stop()
    assert took < 5, f"stop() took {took:.1f}s"
    wait_until(lambda: not _session_threads(before), 5.0,
               lambda: f"session threads left: {_where(_session_threads(before))}")
    assert not env.ctl.online(env.unb("shop-ok"))


def test_every_account_reports_stopped_after_stop(env: Env) -> None:
    """The last state event of each account is "stopped", also for one parked by risk control or a dead
    login (the log and the dashboard would otherwise keep showing the old state)."""
    ok = env.seller("shop-ok", **RULES)
    dead = env.seller("shop-dead", **RULES)
    risky = env.seller("shop-risky", **RULES)
    env.ctl.fault(env.unb("shop-dead"), "session_expired", -1)
    env.ctl.fault(env.unb("shop-risky"), "risk_control", 5)
    run = env.start([ok, dead, risky], online=False)
    env.wait_online(run, "shop-ok")
    wait_until(lambda: [run.state(i) for i in ("shop-dead", "shop-risky")]
               == ["login_required", "needs_verification"], 5, lambda: str(run.svc.manager.snapshots()))
    run.stop()
    last = {i: run.events.states(i)[-1] for i in ("shop-ok", "shop-dead", "shop-risky")}
    assert last == dict.fromkeys(last, "stopped"), last
