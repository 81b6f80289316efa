"""Fault injection: two accounts, only shop-a is faulted. shop-a recovers (or parks in the right state) and
shop-b is untouched: still online on the same connection (its count in /_sim/state does not move) and
still answering."""

from __future__ import annotations

import re
from typing import Any

from core import events as ev
from tests.service.conftest import BUYER, BUYER2, ITEM, Env, Running
from tests.service.support import snapshot_of, stays, wait_until

RULES = {"default_reply": "收到：{text}"}
PLAIN_ITEM = "900000000009"  # an item no rule names


def _start_two(env: Env, a_extra: dict[str, Any] | None = None) -> tuple[Running, str, str, dict[str, Any]]:
    a = env.seller("shop-a", **RULES, **(a_extra or {}))
    b = env.seller("shop-b", **RULES)
    run = env.start([a, b])
    ua, ub = env.unb("shop-a"), env.unb("shop-b")
    return run, ua, ub, env.ctl.state()


def _answers(env: Env, unb: str, buyer: str, text: str, timeout: float = 5.0) -> None:
    cid = env.ctl.message(unb, buyer, text, item_id=PLAIN_ITEM)["cid"]
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(unb, cid)][-1:] == [f"收到：{text}"], timeout,
               lambda: f"{text!r} not answered; sent={env.ctl.sent_in(unb, cid)}")


def _b_untouched(env: Env, run: Running, before: dict[str, Any]) -> None:
    ub = env.unb("shop-b")
    now = env.ctl.account_state(ub)
    assert now["online"] and run.state("shop-b") == "online"
    assert now["connections"] == before[ub]["connections"] == 1, "shop-b was reconnected"
    assert run.events.states("shop-b") == ["starting", "online"]
    _answers(env, ub, BUYER2, f"B 还好吗 {now['sent']}")


def _a_connections(env: Env) -> int:
    return env.ctl.account_state(env.unb("shop-a"))["connections"]


def _went_through_backoff(run: Running) -> list[ev.StateChanged]:
    changes = run.events.of(ev.StateChanged, "shop-a")
    states = [c.state for c in changes]
    assert states[:2] == ["starting", "online"], states
    assert states[-1] == "online", states
    assert len(states) > 3 and set(states[2:-1]) == {"backoff"}, states  # online → backoff … → online
    return [c for c in changes if c.state == "backoff"]


def test_disconnect_reconnects_and_answers_what_came_meanwhile(env: Env) -> None:
    run, ua, ub, before = _start_two(env)
    env.ctl.fault(ua, "refuse_connect", 2)   # keeps shop-a away for a few backoff rounds ...
    env.ctl.fault(ua, "disconnect", 1)       # ... after this cuts its socket (no close frame)
    wait_until(lambda: not env.ctl.online(ua))
    cid = env.ctl.message(ua, BUYER, "断线时的问题")["cid"]
    assert env.ctl.account_state(ua)["queued"] == 1
    env.wait_online(run, "shop-a")
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(ua, cid)] == ["收到：断线时的问题"])
    assert stays(lambda: len(env.ctl.sent_in(ua, cid)) == 1, 0.3)
    _went_through_backoff(run)
    assert env.ctl.fired(ua, "refuse_connect") == 2
    assert _a_connections(env) == 2
    _b_untouched(env, run, before)


def test_stalled_heartbeat_reconnects(env: Env) -> None:
    run, ua, ub, before = _start_two(env)
    env.ctl.fault(ua, "stall_heartbeat", 2)
    wait_until(lambda: _a_connections(env) == 2 and env.ctl.online(ua), 8)
    env.wait_online(run, "shop-a")
    backoffs = _went_through_backoff(run)
    assert "heartbeat" in backoffs[0].reason
    assert env.ctl.fired(ua, "stall_heartbeat") >= 1
    _answers(env, ua, BUYER, "心跳恢复了吗")
    # The new connection's heartbeats are answered: it stays up.
    heartbeats = env.ctl.account_state(ua)["heartbeats"]
    wait_until(lambda: env.ctl.account_state(ua)["heartbeats"] >= heartbeats + 2, 4)
    assert _a_connections(env) <= 3
    _b_untouched(env, run, before)


def test_refused_handshakes_recover(env: Env) -> None:
    run, ua, ub, before = _start_two(env)
    env.ctl.fault(ua, "refuse_connect", 3)
    env.ctl.fault(ua, "disconnect", 1)
    wait_until(lambda: env.ctl.fired(ua, "refuse_connect") == 3, 6)
    env.wait_online(run, "shop-a")
    backoffs = _went_through_backoff(run)
    assert any("503" in b.reason for b in backoffs), [b.reason for b in backoffs]
    assert _a_connections(env) == 2
    _answers(env, ua, BUYER, "连上了吗")
    _b_untouched(env, run, before)


def test_expired_token_recovers_with_a_new_one(env: Env) -> None:
    run, ua, ub, before = _start_two(env, {"item_replies": [{"item": ITEM, "reply": "{item_title} 在的"}]})
    env.ctl.item(ua, ITEM, "会员兑换码", "30.00")
    issued = env.ctl.account_state(ua)["tokens_issued"]
    expires = snapshot_of(run.svc, "shop-a").token_expires_at_ms
    # The item-detail call meets TOKEN_EXOIRED: the client takes the fresh _m_h5_tk and retries once.
    # That firing also revokes every IM token issued to shop-a so far.
    env.ctl.fault(ua, "token_expired", 1)
    cid = env.ctl.message(ua, BUYER, "还有吗", item_id=ITEM)["cid"]
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(ua, cid)] == ["会员兑换码 在的"])
    assert env.ctl.fired(ua, "token_expired") == 1
    # The next connection cannot reuse the revoked token: it gets a new one and comes back.
    env.ctl.fault(ua, "disconnect", 1)
    wait_until(lambda: _a_connections(env) == 2 and env.ctl.online(ua), 6)
    env.wait_online(run, "shop-a")
    assert env.ctl.account_state(ua)["tokens_issued"] == issued + 1
    assert snapshot_of(run.svc, "shop-a").token_expires_at_ms != expires
    stored = run.store.accounts.get("shop-a")
    assert stored.token_expires_at_ms == snapshot_of(run.svc, "shop-a").token_expires_at_ms
    _answers(env, ua, BUYER2, "新令牌好用吗")
    _b_untouched(env, run, before)


def test_token_api_token_expired_on_reconnect(short_token_env: Env) -> None:
    env = short_token_env
    run, ua, ub, before = _start_two(env)
    issued = env.ctl.account_state(ua)["tokens_issued"]
    env.ctl.fault(ua, "token_expired", 1)
    env.ctl.fault(ua, "disconnect", 1)
    wait_until(lambda: _a_connections(env) == 2 and env.ctl.online(ua), 6)
    env.wait_online(run, "shop-a")
    assert env.ctl.fired(ua, "token_expired") == 1
    assert env.ctl.account_state(ua)["tokens_issued"] == issued + 1
    _answers(env, ua, BUYER, "令牌过期后还在吗")
    _b_untouched(env, run, before)


def test_dead_login_parks_the_account_in_login_required(short_token_env: Env) -> None:
    env = short_token_env
    run, ua, ub, before = _start_two(env)
    env.ctl.fault(ua, "session_expired", 50)
    env.ctl.fault(ua, "renewal_fail", 50)  # hasLogin and the silent login (from the long login) say no too
    env.ctl.fault(ua, "disconnect", 1)
    change = run.events.wait_for(ev.StateChanged, "shop-a", state="login_required")
    assert "login expired" in change.reason and "cookie" in change.reason
    snap = snapshot_of(run.svc, "shop-a")
    assert snap.state == "login_required" and "login expired" in snap.last_error
    assert not env.ctl.online(ua)
    # It waits for a new cookie instead of retrying the token API.
    assert stays(lambda: env.ctl.fired(ua, "session_expired") <= 2 and run.state("shop-a") == "login_required",
                 1.0)
    _b_untouched(env, run, before)


def test_one_expired_answer_with_a_live_login_is_a_reconnect_not_a_parked_account(short_token_env: Env) -> None:
    """The gateway says FAIL_SYS_SESSION_EXPIRED once, but passport's hasLogin still knows the login: the account
    reconnects with its usual backoff instead of waiting for a cookie nobody needs to paste."""
    env = short_token_env
    run, ua, ub, before = _start_two(env)
    env.ctl.fault(ua, "session_expired", 1)
    env.ctl.fault(ua, "disconnect", 1)
    wait_until(lambda: env.ctl.fired(ua, "session_expired") == 1 and _a_connections(env) == 2 and env.ctl.online(ua),
               10)
    env.wait_online(run, "shop-a")
    assert not run.events.of(ev.StateChanged, "shop-a", state="login_required")
    _answers(env, ua, BUYER, "会话过期一次之后还在吗")
    _b_untouched(env, run, before)


def test_malformed_pushes_are_skipped(env: Env) -> None:
    run, ua, ub, before = _start_two(env)
    acks = env.ctl.account_state(ua)["acks"]
    env.ctl.fault(ua, "malformed_push", 4)
    wait_until(lambda: env.ctl.fired(ua, "malformed_push") == 4)
    # Three of the four carry a mid and are ACKed (before being decoded); the non-JSON text frame has none.
    wait_until(lambda: env.ctl.account_state(ua)["acks"] == acks + 3)
    _answers(env, ua, BUYER, "乱码之后还在吗")
    assert _a_connections(env) == 1 and run.state("shop-a") == "online"
    assert run.events.states("shop-a") == ["starting", "online"]
    _b_untouched(env, run, before)


def test_send_error_is_retried_then_reported(env: Env) -> None:
    run, ua, ub, before = _start_two(env)
    env.ctl.fault(ua, "send_error", 1)
    cid = env.ctl.message(ua, BUYER, "第一次发送失败")["cid"]
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(ua, cid)] == ["收到：第一次发送失败"], 6)
    assert env.ctl.fired(ua, "send_error") == 1
    sent = run.events.wait_for(ev.ReplySent, "shop-a", cid=cid)
    assert sent.latency_ms >= 1000  # it waited before retrying
    # The "sent" mark is written behind the reply (core/writebehind.py): within a few tens of ms.
    wait_until(lambda: [line.status for line in run.store.chats.history("shop-a", cid)
                        if line.direction == "out"] == ["sent"])

    env.ctl.fault(ua, "send_error", 10)
    cid2 = env.ctl.message(ua, BUYER2, "一直发送失败")["cid"]
    failed = run.events.wait_for(ev.ReplyFailed, "shop-a", timeout=10, cid=cid2)
    assert "500" in failed.error and failed.text == "收到：一直发送失败"
    [out] = [line for line in run.store.chats.history("shop-a", cid2) if line.direction == "out"]
    assert out.status == "failed"
    assert env.ctl.sent_in(ua, cid2) == []
    assert env.ctl.fired(ua, "send_error") == 1 + 3  # fired counters only grow: 1 before, 3 tries now
    assert run.state("shop-a") == "online" and _a_connections(env) == 1
    _b_untouched(env, run, before)


def test_slow_http_recovers(short_token_env: Env) -> None:
    env = short_token_env
    run, ua, ub, before = _start_two(env, {"http_timeout": 1})
    env.ctl.fault(ua, "slow_http", 1, delay=2)
    env.ctl.fault(ua, "disconnect", 1)
    wait_until(lambda: env.ctl.fired(ua, "slow_http") == 1, 5)
    wait_until(lambda: _a_connections(env) == 2 and env.ctl.online(ua), 8)
    env.wait_online(run, "shop-a")
    _went_through_backoff(run)
    _answers(env, ua, BUYER, "慢吞吞")
    _b_untouched(env, run, before)


def test_risk_control_needs_verification_without_hammering(short_token_env: Env) -> None:
    env = short_token_env
    run, ua, ub, before = _start_two(env)
    issued = env.ctl.account_state(ua)["tokens_issued"]
    env.ctl.fault(ua, "slider_reject", -1)  # automatic verification fails too: the breaker must hold
    env.ctl.fault(ua, "risk_control", 1)
    env.ctl.fault(ua, "disconnect", 1)
    run.events.wait_for(ev.StateChanged, "shop-a", state="needs_verification")
    error = run.events.wait_for(ev.AccountError, "shop-a")
    assert "punish" in error.message
    assert "risk control" in snapshot_of(run.svc, "shop-a").last_error
    assert stays(lambda: env.ctl.fired(ua, "risk_control") <= 2 and run.state("shop-a") == "needs_verification",
                 3.0)
    assert env.ctl.account_state(ua)["tokens_issued"] == issued
    assert not env.ctl.online(ua)
    _b_untouched(env, run, before)


def test_backoff_starts_over_after_the_account_was_online_again(env: Env) -> None:
    """Each of these drops follows a healthy connection, so each is a *first* failure: its delay must be
    the base delay, not one doubled per drop since the process started."""
    run, ua, ub, before = _start_two(env, {"reconnect_backoff_base": 0.4, "reconnect_backoff_cap": 8})
    for n in range(3):
        env.ctl.fault(ua, "disconnect", 1)
        wait_until(lambda n=n: _a_connections(env) == n + 2 and env.ctl.online(ua), 6)
        env.wait_online(run, "shop-a")
    assert run.events.states("shop-a") == ["starting"] + ["online", "backoff"] * 3 + ["online"]
    backoffs = run.events.of(ev.StateChanged, "shop-a", state="backoff")
    delays = [float(re.search(r"retry in ([\d.]+)s", b.reason).group(1)) for b in backoffs]
    assert len(delays) == 3
    assert all(d <= 0.4 for d in delays), f"backoff grew across healthy connections: {delays}"
    _b_untouched(env, run, before)
