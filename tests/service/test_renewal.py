"""Logins that last weeks (issue 13 §2): the service's own renewal against the simulator's passport, its clock
moved by the test (``/_sim/clock``), over real sockets.

Sixty simulated days on one login with no new scan; never a call the ``sdkSilent`` fatigue cookie forbids; a
session that died is brought back by the silent login instead of parking the account; a long login near its
end, or renewals that keep failing, show ``login_expiring`` once, with the time left; the fleet is renewed one
account per tick, never all at once after a start.
"""

from __future__ import annotations

from core import events as ev
from core.credentials.renewal import DAY_MS, CredentialState
from tests.service.conftest import BUYER, Env
from tests.service.support import wait_until

HOUR_MS = 3_600_000


def _session(run, account_id: str = "shop-a"):
    return run.svc.sessions.get(account_id)


def test_sixty_simulated_days_on_one_login_with_no_new_scan(env: Env) -> None:
    run = env.start([env.seller("shop-a", default_reply="在的")])
    unb = env.unb("shop-a")
    keeper, session = run.svc.keeper, _session(run)
    for step in range(1, 60 * 4 + 1):  # a round every 6 simulated hours, as the cadence does
        now = env.ctl.advance(6 * HOUR_MS)
        result = keeper.renew(session, now)
        assert result is not None and result.alive, f"day {step / 4:g}: {result}"
        if step % 4 == 0:
            session.credentials.refresh()  # a signed mtop call: the gateway takes the renewed session
    state = env.ctl.account_state(unb)
    assert state["fatigue_violations"] == 0
    assert state["renewals"]["set_login_settings"] >= 2, state["renewals"]  # the long login was re-issued
    assert state["long_login_expires_at_ms"] - env.ctl.now_ms() > 10 * DAY_MS
    assert session.credentials.login_until_ms == state["long_login_expires_at_ms"]
    assert session.credentials.health.state == CredentialState.HEALTHY
    assert not run.events.of(ev.StateChanged, "shop-a", state=ev.AccountState.LOGIN_REQUIRED)
    cid = env.ctl.message(unb, BUYER, "还在吗")["cid"]
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(unb, cid)] == ["在的"], 15)


def test_a_dead_session_comes_back_from_the_long_login_without_parking_the_account(short_token_env: Env) -> None:
    env = short_token_env  # every reconnect calls the token API: the dead session shows there
    run = env.start([env.seller("shop-a")])
    unb = env.unb("shop-a")
    env.ctl.fault(unb, "session_expired", 2)  # the token call and hasLogin: the session is gone
    env.ctl.fault(unb, "disconnect", 1)
    wait_until(lambda: env.ctl.account_state(unb)["renewals"]["silent_has_login"] == 1, 15)
    env.wait_online(run, "shop-a", timeout=15)
    assert not run.events.of(ev.StateChanged, "shop-a", state=ev.AccountState.LOGIN_REQUIRED)
    assert env.ctl.account_state(unb)["fatigue_violations"] == 0
    # A second death within the fatigue window: the silent login is not tried again, the account waits.
    env.ctl.fault(unb, "session_expired", 2)
    env.ctl.fault(unb, "disconnect", 1)
    run.events.wait_for(ev.StateChanged, "shop-a", state="login_required")
    assert env.ctl.account_state(unb)["fatigue_violations"] == 0
    assert _session(run).credentials.health.state == CredentialState.SESSION_EXPIRED


def test_a_long_login_near_its_end_shows_login_expiring_once_with_the_time_left(env: Env) -> None:
    run = env.start([env.seller("shop-a")])
    unb = env.unb("shop-a")
    keeper, session = run.svc.keeper, _session(run)
    env.ctl.fault(unb, "renewal_fail", 1)  # hasLogin fine, but the long login's renewal is refused …
    now = env.ctl.advance(28 * DAY_MS)     # … two days before it ends
    keeper.renew(session, env.ctl.advance(0))
    env.ctl.fault(unb, "renewal_fail", 0)
    keeper.renew(session, now)
    warned = run.events.of(ev.LoginExpiring, "shop-a")
    assert len(warned) == 1 and warned[0].left_ms is not None and 0 < warned[0].left_ms <= 2 * DAY_MS + HOUR_MS
    assert session.credentials.health.state == CredentialState.LOGIN_EXPIRING
    assert _session(run).snapshot().login_state == "login_expiring"


def test_renewals_that_keep_failing_show_login_expiring(env: Env) -> None:
    run = env.start([env.seller("shop-a")])
    unb = env.unb("shop-a")
    keeper, session = run.svc.keeper, _session(run)
    env.ctl.fault(unb, "renewal_fail", 6)  # each round: hasLogin, then the silent login, both refused
    for _ in range(3):
        keeper.renew(session, env.ctl.advance(6 * HOUR_MS))
    warned = run.events.of(ev.LoginExpiring, "shop-a")
    assert len(warned) == 1 and "failed 3 times" in warned[0].reason
    assert session.credentials.health.failures == 3
    keeper.renew(session, env.ctl.advance(6 * HOUR_MS))
    assert session.credentials.health.failures == 0


def test_the_fleet_is_renewed_one_account_per_tick_and_never_all_at_once_after_a_start(env: Env) -> None:
    ids = [f"shop-{n}" for n in range(6)]
    run = env.start([env.seller(i) for i in ids])
    keeper = run.svc.keeper
    assert keeper.tick() is None, "right after a start nothing is due: first rounds spread over one cadence"
    before = {i: env.ctl.account_state(env.unb(i))["renewals"]["has_login"] for i in ids}
    renewed = []
    clock = env.ctl.now_ms()
    for _ in range(40):  # 40 ticks across two cadences of simulated time
        clock += int(keeper.policy.every_seconds * 1000 / 20)
        renewed.append(keeper.tick(clock))
    done = [r for r in renewed if r]
    assert set(done) == set(ids), renewed
    assert all(1 <= done.count(i) <= 3 for i in ids), done  # about once per cadence each
    after = {i: env.ctl.account_state(env.unb(i))["renewals"]["has_login"] for i in ids}
    assert sum(after.values()) - sum(before.values()) >= len(done)
