"""Browsers are real headless Chromium processes that never outlive their job: quit, killed, reaped, profile gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from core.verification import browser as browser_mod
from core.verification.browser import Browser, BrowserSpec, browsers_of, open_browser, reap_stale
from core.verification.solve import solve
from tests.service.conftest import Env
from tests.service.support import wait_until
from tests.slider.conftest import punish_url

ROOT = Path(__file__).resolve().parents[2]
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 shop-a"


def _main_process(profile: Path) -> psutil.Process:
    """The browser's root: the one process whose parent is outside its tree.

    Not "the one without ``--type=``": a helper caught between fork and exec still carries the main
    process's command line (seen once in CI as two matches).
    """
    tree = browser_mod._processes_using(str(profile))
    pids = {p.pid for p in tree}
    [main] = [p for p in tree if p.ppid() not in pids]
    return main


def test_each_browser_is_headless_private_and_sends_the_account_ua() -> None:
    waiting = Browser(BrowserSpec("chromium", UA))  # a second job's port and profile, taken before its launch
    try:
        with open_browser(BrowserSpec("chromium", UA)) as launched:
            assert launched.port != waiting.port and launched.profile != waiting.profile
            args = _main_process(launched.profile).cmdline()
            assert f"--remote-debugging-port={launched.port}" in args
            assert f"--user-data-dir={launched.profile}" in args
            assert any(a.startswith("--headless") for a in args)
            assert "--disable-background-networking" in args
            assert ("--no-sandbox" in args) == (os.geteuid() == 0)
            assert launched.profile.name.startswith(f"xianyu-slider-{os.getpid()}-")
            assert launched.handle.latest_tab.run_js("return navigator.userAgent") == UA
            # Chromium starts and retires helper processes on its own: compare two readings taken together,
            # a few times, rather than trusting one pair of snapshots.
            for _ in range(20):
                pids = {p.pid for p in launched.tree()}
                if {p.pid for p in browsers_of(os.getpid())} == pids:
                    break
                time.sleep(0.1)
            assert len(pids) >= 2 and {p.pid for p in browsers_of(os.getpid())} >= pids
    finally:
        waiting.close()
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids)
    assert not launched.profile.exists() and not waiting.profile.exists()
    assert launched.port not in browser_mod._ports_in_use and waiting.port not in browser_mod._ports_in_use


def test_a_job_that_raises_mid_drag_leaves_no_browser(env: Env) -> None:
    url, jar = punish_url(env)
    moves = 0

    def explode_mid_drag() -> bool:
        nonlocal moves
        moves += 1
        if moves == 12:  # well inside the drag: the button is held and half-way along the track
            raise RuntimeError("boom mid-drag")
        return False

    with pytest.raises(RuntimeError, match="boom mid-drag"), open_browser(BrowserSpec("chromium", UA)) as launched:
        profile, pid = launched.profile, launched.pid
        solve(launched, url, dict(jar.items()), 3, lambda retry: None, explode_mid_drag)
    assert moves == 12
    assert not profile.exists()
    assert not psutil.pid_exists(pid), "the browser process was not reaped"
    assert env.ctl.account_state("2200000000777")["slides_attempted"] == 0, "the drag never finished"


def test_a_missing_browser_is_a_clear_error_and_leaves_nothing() -> None:
    with pytest.raises(FileNotFoundError, match="no browser at '/nonexistent/chromium'"), \
            open_browser(BrowserSpec("/nonexistent/chromium", UA)):
        pass


CRASHING_RUN = """
import json, os, sys
from core.verification.browser import Browser, BrowserSpec
browser = Browser(BrowserSpec("chromium", "crash test"))
browser.launch()
print(json.dumps({"pid": browser.pid, "profile": str(browser.profile)}), flush=True)
os._exit(0)  # a crash: no finally, no quit
"""


def test_start_up_kills_the_browsers_of_a_crashed_run_and_only_those() -> None:
    crashed = subprocess.run([sys.executable, "-c", CRASHING_RUN], cwd=ROOT, capture_output=True, text=True,
                             timeout=60, check=True)
    left = json.loads(crashed.stdout)
    owner = int(Path(left["profile"]).name.split("-")[2])
    try:
        assert browsers_of(owner), "the crashed run's browser should still be running"
        with open_browser(BrowserSpec("chromium", UA)) as ours:
            assert reap_stale() >= 1
            assert ours.tree(), "a browser of a live owner must survive"
            assert ours.handle.latest_tab.run_js("return 1 + 1") == 2
        wait_until(lambda: not browsers_of(owner), 5, lambda: f"still alive: {browsers_of(owner)}")
        assert not Path(left["profile"]).exists()
    finally:
        browser_mod._kill(browser_mod._processes_using(left["profile"]))
