"""``python xianyu.py verify ACCOUNT``: the manual path, run as a seller would, next to a running service."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from core import events as ev
from core.goofish.endpoints import DEFAULT_UA
from core.verification.browser import Browser, BrowserSpec
from core.verification.solve import _drag, _find_slider, solve_by_hand
from tests.service.conftest import Env
from tests.slider.conftest import RULES, SOLVE_SECONDS, manual_x5sec, punish_url

ROOT = Path(__file__).resolve().parents[2]


def _verify(env: Env, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    headless = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run([sys.executable, "xianyu.py", "verify", *args, "--config", str(env.config)], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=60, env=headless)


def test_without_a_display_it_says_so_and_prints_the_url_and_how_to_paste(env: Env) -> None:
    a = env.seller("shop-a", **RULES)
    env.write([a])
    env.ctl.fault(env.unb("shop-a"), "risk_control", 1)
    result = _verify(env, "shop-a")
    assert result.returncode == 1, result.stderr
    assert "no display here" in result.stdout
    assert "/_____tmd_____/punish?x5secdata=" in result.stdout and DEFAULT_UA in result.stdout
    assert "python xianyu.py verify shop-a --paste" in result.stdout
    secret = a["cookie"].split("_m_h5_tk=")[1][:16]
    assert secret not in result.stdout + result.stderr


def test_bad_input_is_a_clear_error(env: Env) -> None:
    a = env.seller("shop-a", **RULES)
    env.write([a])
    result = _verify(env, "shop-zz")
    assert result.returncode == 2 and "no account 'shop-zz'" in result.stderr
    other = env.ctl.account("2200000000999", "别人")
    result = _verify(env, "shop-a", "--paste", stdin=other + "\n")
    assert result.returncode == 2 and "belongs to another account" in result.stderr
    assert other.split("_m_h5_tk=")[1][:16] not in result.stdout + result.stderr


def test_a_pasted_cookie_brings_a_parked_account_of_a_running_service_back(env: Env) -> None:
    a = env.seller("shop-a", **RULES)
    ua = env.unb("shop-a")
    env.ctl.fault(ua, "risk_control", 1)
    env.ctl.fault(ua, "slider_reject", -1)
    run = env.start([a], online=False, settings={"slider_tries": 1})
    run.events.wait_for(ev.VerificationChanged, "shop-a", SOLVE_SECONDS, phase="failed")
    env.ctl.fault(ua, "slider_reject", 0)
    x5sec = manual_x5sec(env, run.svc.pending_verification("shop-a"))
    fresh = env.ctl.account(ua, "店铺shop-a")
    result = _verify(env, "shop-a", "--paste", stdin=f"{fresh}; x5sec={x5sec}\n")
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout
    env.wait_online(run, "shop-a", timeout=15)  # the service saw the saved cookies and restarted the account
    assert env.ctl.account_state(ua)["faults"]["risk_control"]["remaining"] == 0


def test_the_browser_window_gives_up_after_the_wait(env: Env) -> None:
    url, jar = punish_url(env)
    assert solve_by_hand(BrowserSpec("chromium", DEFAULT_UA), url, dict(jar.items()), 1.0) is None


def test_with_a_display_a_browser_window_opens_and_what_the_person_earns_lifts_the_block(
        env: Env, monkeypatch, capsys) -> None:
    """The display branch, in process: a display is reported and the window is made headless (CI has no
    screen); the person is the same drag a human would do. Then the token call goes through."""
    import core.verification.browser
    import core.verification.solve
    import xianyu

    a = env.seller("shop-a", **RULES)
    env.write([a])
    env.ctl.fault(env.unb("shop-a"), "risk_control", 1)
    real_solve_by_hand = core.verification.solve.solve_by_hand
    windows: list[BrowserSpec] = []

    def person(browser: Browser) -> None:
        def drag() -> None:
            time.sleep(0.5)  # the window waits while the person reads the page
            tab = browser.handle.latest_tab
            _drag(tab, _find_slider(tab, lambda: False), random.Random(9), lambda: False)

        threading.Thread(target=drag, daemon=True).start()

    def in_a_window(spec: BrowserSpec, url: str, cookies: dict, timeout: float) -> dict | None:
        windows.append(spec)
        return real_solve_by_hand(BrowserSpec(spec.path, spec.user_agent, headless=True), url, cookies, timeout,
                                  on_open=person)

    monkeypatch.setattr(core.verification.browser, "display_available", lambda: True)
    monkeypatch.setattr(core.verification.solve, "solve_by_hand", in_a_window)
    code = xianyu.main(["verify", "shop-a", "--config", str(env.config), "--wait", "20"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "solve the slider in the browser window" in out.out and "verified" in out.out
    assert [(w.headless, w.user_agent) for w in windows] == [(False, DEFAULT_UA)]
    state = env.ctl.account_state(env.unb("shop-a"))
    assert (state["slides_accepted"], state["faults"]["risk_control"]["remaining"]) == (1, 0)
