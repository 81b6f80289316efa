"""Risk control end to end: a running Service, the simulator's punish page and real headless Chromium.

risk control → queued → running → solved → x5sec in the persisted jar → token → online, touching no other
account; a page that always rejects → needs_verification with the URL, the manual path, and no retry storm;
five accounts at once through two slots, first come first served; a stop in the middle of a solve."""

from __future__ import annotations

import os
import threading
import time

import pytest

from core import events as ev
from core.config import load_config
from core.errors import CookieRejected
from core.service import Service
from core.verification.browser import browsers_by_profile, browsers_of
from tests.service.conftest import Env, Running
from tests.service.support import Recorder, snapshot_of, stays, wait_until
from tests.slider.conftest import RULES, SOLVE_SECONDS, manual_x5sec


def _phases(run: Running, account_id: str) -> list[str]:
    return [e.phase for e in run.events.of(ev.VerificationChanged, account_id)]


def _stored_jar(run: Running, account_id: str) -> str:
    return run.store.accounts.get(account_id).cookie_jar or ""


def test_risk_control_is_solved_and_only_that_account_comes_back(short_token_env: Env) -> None:
    env = short_token_env  # every reconnect calls the token API, where risk control strikes
    a, b = env.seller("shop-a", **RULES), env.seller("shop-b", **RULES)
    run = env.start([a, b])
    ua, ub = env.unb("shop-a"), env.unb("shop-b")
    env.ctl.fault(ua, "risk_control", 1)
    env.ctl.fault(ua, "disconnect", 1)
    run.events.wait_for(ev.VerificationChanged, "shop-a", SOLVE_SECONDS, phase="solved")
    env.wait_online(run, "shop-a", timeout=SOLVE_SECONDS)
    assert _phases(run, "shop-a") == ["queued", "running", "solved"]
    states = run.events.states("shop-a")
    assert states[states.index("needs_verification") + 1:][-1] == "online"
    sim = env.ctl.account_state(ua)
    assert (sim["slides_accepted"], sim["x5sec_issued"], sim["faults"]["risk_control"]["fired"]) == (1, 1, 1)
    assert sim["faults"]["risk_control"]["remaining"] == 0, "the token call spent the x5sec"
    assert "x5sec=" in _stored_jar(run, "shop-a")
    assert run.svc.pending_verification("shop-a") is None
    assert env.ctl.account_state(ub)["connections"] == 1 and run.events.states("shop-b") == ["starting", "online"]
    [outcome] = run.svc.slider.status().recent
    assert outcome.ok and outcome.account_id == "shop-a"

    # A second round earns a new x5sec (the spent one in the jar must not pass for it).
    env.ctl.fault(ua, "risk_control", 1)
    env.ctl.fault(ua, "disconnect", 1)
    wait_until(lambda: len(run.events.of(ev.VerificationChanged, "shop-a", phase="solved")) == 2, SOLVE_SECONDS)
    env.wait_online(run, "shop-a", timeout=SOLVE_SECONDS)
    sim = env.ctl.account_state(ua)
    assert (sim["slides_accepted"], sim["x5sec_issued"], sim["faults"]["risk_control"]["remaining"]) == (2, 2, 0)


def test_a_page_that_always_rejects_parks_the_account_and_the_manual_path_brings_it_back(env: Env) -> None:
    a = env.seller("shop-a", **RULES)
    ua = env.unb("shop-a")
    env.ctl.fault(ua, "risk_control", 1)
    env.ctl.fault(ua, "slider_reject", -1)
    run = env.start([a], online=False, settings={"slider_tries": 1})
    failed = run.events.wait_for(ev.VerificationChanged, "shop-a", SOLVE_SECONDS, phase="failed")
    assert "rejected 1 time(s)" in failed.detail and "_____tmd_____/punish?x5secdata=" in failed.url
    assert run.state("shop-a") == "needs_verification"
    assert run.svc.pending_verification("shop-a") == failed.url
    assert "automatic verification failed" in snapshot_of(run.svc, "shop-a").last_error
    # The breaker holds: no token call, no slide, no new job.
    assert stays(lambda: env.ctl.fired(ua, "risk_control") == 1
                 and env.ctl.account_state(ua)["slides_attempted"] == 1
                 and _phases(run, "shop-a") == ["queued", "running", "failed"], 2.0)

    fresh = env.ctl.account(ua, "店铺shop-a")  # the seller logs in again in a browser …
    other = env.ctl.account("2200000000999", "别人")
    for bad, why in (("", "not a cookie"), ("cna=abc; t=123", "no unb and no _m_h5_tk"),
                     (fresh.replace("_m_h5_tk=", "_m_h5_tkX="), "no _m_h5_tk"),
                     (other, "belongs to another account")):
        with pytest.raises(CookieRejected, match=why) as caught:
            run.svc.set_cookie("shop-a", bad)
        assert all(value not in str(caught.value) for value in (fresh.split("_m_h5_tk=")[1][:20], other[-20:]))
    with pytest.raises(CookieRejected, match="no account 'nope'"):
        run.svc.set_cookie("nope", fresh)
    assert run.state("shop-a") == "needs_verification", "a rejected paste changes nothing"

    env.ctl.fault(ua, "slider_reject", 0)
    x5sec = manual_x5sec(env, run.svc.pending_verification("shop-a"))  # … solves the slider there …
    run.svc.set_cookie("shop-a", f"Cookie: {fresh}; x5sec={x5sec}")   # … and pastes the cookie
    env.wait_online(run, "shop-a", timeout=10)
    assert f"x5sec={x5sec}" in _stored_jar(run, "shop-a")
    assert env.ctl.account_state(ua)["faults"]["risk_control"]["remaining"] == 0
    assert run.svc.pending_verification("shop-a") is None


def test_a_solve_that_does_not_lift_the_block_is_not_repeated_at_once(env: Env) -> None:
    """The breaker's policy, with the browser left out (the other tests solve for real): a "solved" that
    earns nothing the server accepts leaves the account blocked, and the next solve waits for the backoff."""
    a = env.seller("shop-a", **RULES)
    ua = env.unb("shop-a")
    env.ctl.fault(ua, "risk_control", -1)
    env.write([a])
    svc = Service(load_config(env.config))
    env.running.append(Running(svc, Recorder()))
    solves: list[str] = []

    def useless_solve(account_id: str, url: str, *args, **kwargs) -> dict[str, str]:
        solves.append(url)
        return {"x5sec": f"unknown-to-the-server-{len(solves)}"}

    svc.slider.verify = useless_solve
    svc.start()
    wait_until(lambda: len(solves) == 2, 10)
    assert solves[0] != solves[1], "each round solves the fresh punish URL"
    wait_until(lambda: "came straight back" in snapshot_of(svc, "shop-a").last_error, 5)
    assert "next automatic try in 20 min" in snapshot_of(svc, "shop-a").last_error
    assert stays(lambda: len(solves) == 2 and env.ctl.fired(ua, "risk_control") == 2, 2.0)


def test_five_accounts_at_once_share_two_slots_first_come_first_served(env: Env) -> None:
    ids = [f"shop-{n}" for n in range(5)]
    accounts = [env.seller(i, **RULES) for i in ids]
    for i in ids:
        env.ctl.fault(env.unb(i), "risk_control", 1)
    peak = {"busy": 0, "browsers": 0}
    done = threading.Event()

    def sample(run: Running) -> None:
        while not done.is_set():
            browsers = browsers_by_profile(os.getpid())
            peak["busy"] = max(peak["busy"], len(run.svc.slider.status().busy))
            peak["browsers"] = max(peak["browsers"], len(browsers))
            time.sleep(0.05)

    run = env.start(accounts, online=False, settings={"slider_slots": 2})
    sampler = threading.Thread(target=sample, args=(run,), daemon=True)
    sampler.start()
    try:
        env.wait_online(run, *ids, timeout=120)
    finally:
        done.set()
        sampler.join()
    assert peak == {"busy": 2, "browsers": 2}
    changes = run.events.of(ev.VerificationChanged)
    queued = [e.account_id for e in changes if e.phase == "queued"]
    started = [e.account_id for e in changes if e.phase == "running" and e.attempt == 1]
    assert sorted(queued) == ids and started == queued, "slots are handed out in queue order"
    assert sorted(e.account_id for e in changes if e.phase == "solved") == ids
    assert max(e.position for e in changes if e.phase == "queued") >= 2, "some had to wait in line"
    assert all(env.ctl.account_state(env.unb(i))["slides_accepted"] == 1 for i in ids)
    status = run.svc.slider.status()
    assert status.limit == 2 and status.busy == () and status.queued == () and len(status.recent) == 5


def test_stop_in_the_middle_of_a_solve_is_quick_and_quits_the_browser(env: Env) -> None:
    a = env.seller("shop-a", **RULES)
    env.ctl.fault(env.unb("shop-a"), "risk_control", 1)
    env.ctl.fault(env.unb("shop-a"), "slider_reject", -1)
    run = env.start([a], online=False, settings={"slider_tries": 20})
    run.events.wait_for(ev.VerificationChanged, "shop-a", SOLVE_SECONDS, phase="running", attempt=2)
    assert browsers_of(os.getpid())
    took = run.stop()
    assert took < 5, f"stop() took {took:.1f}s"
    assert not browsers_of(os.getpid())
    assert _phases(run, "shop-a")[-1] == "failed" and run.events.states("shop-a")[-1] == "stopped"
