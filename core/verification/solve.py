"""One verification job in a launched browser: load the punish page, find the slider, drag it, read the verdict.

The page is loaded with the account's User-Agent and cookies (the x5sec it earns is bound to that UA). The
slider is looked for in the page and in each of its frames; the drag follows ``drag_path``; the verdict is what
the page shows after the drop. A rejected drag is logged with the reason the slider page's judge answered
(read off the wire, so the page sees nothing of it) and retried after the page's own retry control, or a
reload, up to ``tries`` times. ``solve_by_hand`` is the same page in a window for a person to solve.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from core.errors import SliderFailed, VerificationCancelled
from core.verification.browser import Browser, BrowserSpec, open_browser
from core.verification.trajectory import drag_path

log = logging.getLogger(__name__)

FIND_SECONDS = 10.0      # the slider must show up this soon after the page loads
VERDICT_SECONDS = 8.0    # the page must say passed or failed this soon after the drop
ANSWER_SECONDS = 1.0     # after a "failed", the judge's answer to the drag is read within this
POLL = 0.1
BUTTONS = ("#nc_1_n1z", "span[id*=nc_1_n1z]", ".nc_iconfont.btn_slide", ".btn_slide")
TRACKS = ("#nc_1_n1t", ".nc_scale", "#nc_1__scale_text")
RETRY_CONTROLS = ("#nc_1_refresh1", "#nc_1_refresh2", ".errloading")
JUDGE_PATH = "/_____tmd_____/slide"  # where the slider page posts a drag; the answer says why it was rejected

# Run in the page and in each frame: "none" where there is no slider, else "passed", "failed" or "pending".
VERDICT_JS = """
const text = document.body ? document.body.innerText : '';
if (text.includes('验证通过')) return 'passed';
const box = document.querySelector('.nc-container, #nocaptcha, #nc_1_wrapper');
if (!box) return 'none';
if (box.offsetParent === null) return 'passed';
const retry = document.querySelector('#nc_1_refresh1, #nc_1_refresh2, .errloading');
if ((retry && retry.offsetParent !== null) || /验证失败|验证码错误|点击框体重试/.test(text)) return 'failed';
return 'pending';
"""


@dataclass(frozen=True)
class _Parts:
    """Where the slider is: the drag's start point (page viewport px) and length, and the page or frame
    holding it."""

    x: float
    y: float
    distance: float
    scope: Any = field(default=None, compare=False, repr=False)


def solve(browser: Browser, url: str, cookies: Mapping[str, str], tries: int,
          on_retry: Callable[[int], None], cancelled: Callable[[], bool],
          rng: random.Random | None = None, account_id: str = "") -> dict[str, str]:
    """Solve the slider at ``url`` in a launched browser; returns its ``x5*`` cookies or raises SliderFailed.
    ``on_retry(n)`` is called before the n-th try from the second on; ``account_id`` names the log lines."""
    rng = rng or random.Random()
    tab = browser.handle.latest_tab
    _seed_cookies(tab, url, cookies)
    tab.get(url)
    answers = _JudgeAnswers()
    try:
        for attempt in range(1, tries + 1):
            _check(cancelled)
            if attempt > 1:
                on_retry(attempt)
            parts = _find_slider(tab, cancelled)
            answers.listen(parts.scope)
            _drag(tab, parts, rng, cancelled)
            if _verdict(tab, cancelled) == "passed":
                earned = _x5_cookies(tab)
                if not earned:
                    raise SliderFailed("the page said passed but set no x5sec cookie")
                return earned
            reason = answers.reason()
            log.info("%sthe slider page rejected the drag (try %d of %d): %s",
                     f"{account_id}: " if account_id else "", attempt, tries, reason)
            if attempt < tries:
                _reset(tab)
    finally:
        answers.close()
    # The last reason travels with the failure: the dashboard's verification line, and a failed run's report.
    raise SliderFailed(f"the slider was rejected {tries} time(s), the last: {reason}")


def solve_by_hand(spec: BrowserSpec, url: str, cookies: Mapping[str, str], timeout: float,
                  on_open: Callable[[Browser], None] = lambda browser: None) -> dict[str, str] | None:
    """Show the punish page in a (headed) browser and wait for a person to solve it: the ``x5*`` cookies it
    earned, or None when ``timeout`` passes or the window is closed first."""
    with open_browser(spec) as browser:
        tab = browser.handle.latest_tab
        _seed_cookies(tab, url, cookies)
        tab.get(url)
        on_open(browser)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                earned = _x5_cookies(tab)
            except Exception:  # the person closed the window
                return None
            if earned:
                return earned
            time.sleep(0.5)
    return None


# --------------------------------------------------------------------------------------------- the page


def _x5_cookies(tab: Any) -> dict[str, str]:
    return {c["name"]: c["value"] for c in tab.cookies(all_domains=True) if c["name"].startswith("x5")}


def _check(cancelled: Callable[[], bool]) -> None:
    if cancelled():
        raise VerificationCancelled("stopping")


def _seed_cookies(tab: Any, url: str, cookies: Mapping[str, str]) -> None:
    """The page sees the account's own cookies, as it would in the seller's browser; not an old (spent) x5sec,
    so every ``x5*`` cookie the browser holds afterwards is one this page just set."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}/"
    seeded = [{"name": name, "value": value, "url": origin} for name, value in cookies.items()
              if not name.startswith("x5")]
    if seeded:
        tab.run_cdp("Network.setCookies", cookies=seeded)


def _scopes(tab: Any) -> list[Any]:
    """The page first, then every frame in it (the slider often lives in an iframe)."""
    scopes = [tab]
    try:
        scopes += tab.get_frames(timeout=0)
    except Exception:  # a frame detaching mid-scan is no reason to fail; the next poll sees the page anew
        log.debug("frame scan failed", exc_info=True)
    return scopes


def _first(scope: Any, selectors: tuple[str, ...], cancelled: Callable[[], bool] = lambda: False) -> Any:
    for selector in selectors:
        _check(cancelled)  # a lookup may wait up to the browser's base timeout (browser.py)
        element = scope.ele(f"css:{selector}", timeout=0)
        if element:
            return element
    return None


def _find_slider(tab: Any, cancelled: Callable[[], bool]) -> _Parts:
    deadline = time.monotonic() + FIND_SECONDS
    while True:
        _check(cancelled)
        try:
            parts = _slider_in(tab, cancelled)
        except VerificationCancelled:
            raise
        except Exception:  # the page is still loading (navigation returns at once): a document or frame that is
            log.debug("slider scan failed while the page loads", exc_info=True)  # replaced mid-scan
            parts = None
        if parts is not None:
            return parts
        if time.monotonic() > deadline:
            raise SliderFailed("no slider found on the page")
        time.sleep(POLL)


def _slider_in(tab: Any, cancelled: Callable[[], bool]) -> _Parts | None:
    for scope in _scopes(tab):
        button, track = _first(scope, BUTTONS, cancelled), _first(scope, TRACKS, cancelled)
        if button and track and button.states.is_displayed:
            (bx, by), (bw, bh) = button.rect.viewport_location, button.rect.size
            offset = _frame_offset(scope)
            distance = track.rect.size[0] - bw
            return _Parts(offset[0] + bx + bw / 2, offset[1] + by + bh / 2, distance, scope)
    return None


def _frame_offset(scope: Any) -> tuple[float, float]:
    """A cross-origin frame reports positions in its own viewport; the mouse moves in the page's."""
    if getattr(scope, "_is_diff_domain", False):
        return scope.frame_ele.rect.viewport_location
    return (0.0, 0.0)


def _mouse(tab: Any, kind: str, x: float, y: float, pressed: bool) -> None:
    tab.run_cdp("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left" if pressed else "none",
                buttons=1 if pressed else 0, clickCount=1 if kind != "mouseMoved" else 0)


def _drag(tab: Any, parts: _Parts, rng: random.Random, cancelled: Callable[[], bool]) -> None:
    _mouse(tab, "mouseMoved", parts.x, parts.y, pressed=False)
    time.sleep(rng.uniform(0.05, 0.15))  # a hand rests on the button before it presses
    _mouse(tab, "mousePressed", parts.x, parts.y, pressed=True)
    x = y = 0.0
    for step in drag_path(parts.distance, rng):
        time.sleep(step.pause_ms / 1000)
        _check(cancelled)
        x, y = step.x, step.y
        _mouse(tab, "mouseMoved", parts.x + x, parts.y + y, pressed=True)
    time.sleep(rng.uniform(0.03, 0.09))
    _mouse(tab, "mouseReleased", parts.x + x, parts.y + y, pressed=True)


def _verdict(tab: Any, cancelled: Callable[[], bool]) -> str:
    """"passed" or "failed", as the page (or the frame holding the slider) says after the drop. DrissionPage
    reaches into same-site frames from the page, so the slider's own scope is not known: ask every one."""
    deadline = time.monotonic() + VERDICT_SECONDS
    while time.monotonic() < deadline:
        _check(cancelled)
        verdicts = set()
        for scope in _scopes(tab):
            try:
                verdicts.add(scope.run_js(VERDICT_JS))
            except Exception:  # a frame that went away mid-scan
                verdicts.add("none")
        for verdict in ("failed", "passed"):
            if verdict in verdicts and "pending" not in verdicts:
                return verdict
        if verdicts == {"none"} and _x5_cookies(tab):  # the slider's frame was removed after success
            return "passed"
        time.sleep(POLL)
    return "failed"


def _reset(tab: Any) -> None:
    """The page's own retry control if one shows, else a reload."""
    for scope in _scopes(tab):
        retry = _first(scope, RETRY_CONTROLS)
        if retry and retry.states.is_displayed:
            retry.click(by_js=True)
            time.sleep(0.3)
            return
    tab.refresh()


# --------------------------------------------------------------------------------------------- the judge's answer


class _JudgeAnswers:
    """The slider page's answers to its drags, caught by the browser's network listener on the page or frame
    holding the slider (outside the page: nothing in it changes). Reading them never fails a job.

    A listener is paused, not stopped, when the job ends (stopping one waits up to a second for its event
    thread); its connection ends with the browser, which the job quits next."""

    UNKNOWN = "the reason is unknown (the page's answer could not be read)"

    def __init__(self) -> None:
        self._current: Any = None
        self._started: list[Any] = []

    def listen(self, scope: Any) -> None:
        """Catch the answers to drags on ``scope`` from now on (the same scope again: only the new ones)."""
        self._current = None
        try:
            listener = scope.listen
            listener.start(JUDGE_PATH, method="POST")
        except Exception:
            log.debug("cannot listen for the slider's answers", exc_info=True)
            return
        self._current = listener
        if all(listener is not seen for seen in self._started):
            self._started.append(listener)

    def reason(self) -> str:
        """Why the judge rejected the last drag, in its own words, or what is known instead."""
        if self._current is None:
            return self.UNKNOWN
        try:
            packet = self._current.wait(timeout=ANSWER_SECONDS)
            body = packet.response.body if packet else None
        except Exception:
            log.debug("reading the slider's answer failed", exc_info=True)
            return self.UNKNOWN
        if not packet:
            return f"the page sent no drag to its judge (no answer from {JUDGE_PATH})"
        if isinstance(body, dict) and body.get("reason"):
            text = str(body["reason"])
        else:
            text = json.dumps(body, ensure_ascii=False) if isinstance(body, dict | list) else str(body)
        return text if len(text) <= 200 else text[:199] + "…"

    def close(self) -> None:
        for listener in self._started:
            with contextlib.suppress(Exception):  # the browser may be gone already (a stop, a crash)
                listener.pause()
