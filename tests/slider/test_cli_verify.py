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
from core.browser import Browser, BrowserSpec
from core.goofish.endpoints import DEFAULT_UA
from core.slider import _drag, _find_slider, solve_by_hand
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


def test_the_browser_window_waits_for_a_person_and_keeps_what_they_earned(env: Env) -> None:
    url, jar = punish_url(env)

    def person(browser: Browser) -> None:
        def drag() -> None:
            time.sleep(0.5)  # reads the page first
            tab = browser.handle.latest_tab
            _drag(tab, _find_slider(tab, lambda: False), random.Random(5), lambda: False)

        threading.Thread(target=drag, daemon=True).start()

    earned = solve_by_hand(BrowserSpec("chromium", DEFAULT_UA), url, dict(jar.items()), 20, on_open=person)
    assert earned and set(earned) == {"x5sec"}
    assert solve_by_hand(BrowserSpec("chromium", DEFAULT_UA), url, dict(jar.items()), 1.0) is None
