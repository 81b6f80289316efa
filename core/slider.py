"""Risk-control verification: solve the nocaptcha slider behind a punish URL in a real browser, a few at a time.

    session breaker ──verify(account, url)──▶ SliderPool: FIFO queue ─(slot free)─▶ job: open browser,
          ▲                                   (BoundedSemaphore, wait timeout)        drag, check, retry
          └──────────── x5* cookies (or None: the manual path) ◀──────────────────── quit + reap (finally)

A job loads the punish URL with the account's User-Agent and cookies (the x5sec it earns is bound to that UA),
finds the slider (in the page or any of its frames), drags it along ``core.trajectory.drag_path``, and reads
the verdict from the page. A rejected drag is retried after the page's own retry control (or a reload), up to
``tries`` times. Every step is an ``ev.VerificationChanged`` event; ``status()`` is what the TUI shows.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core import events as ev
from core.browser import Browser, BrowserSpec, open_browser
from core.errors import SliderFailed, VerificationCancelled
from core.trajectory import drag_path

if TYPE_CHECKING:
    from core.goofish.errors import RiskControl
    from core.session import Session

log = logging.getLogger(__name__)

RECENT = 50
FIND_SECONDS = 10.0      # the slider must show up this soon after the page loads
VERDICT_SECONDS = 8.0    # the page must say passed or failed this soon after the drop
POLL = 0.1
BUTTONS = ("#nc_1_n1z", "span[id*=nc_1_n1z]", ".nc_iconfont.btn_slide", ".btn_slide")
TRACKS = ("#nc_1_n1t", ".nc_scale", "#nc_1__scale_text")
RETRY_CONTROLS = ("#nc_1_refresh1", "#nc_1_refresh2", ".errloading")

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
class VerificationOutcome:
    account_id: str
    ok: bool
    detail: str
    seconds: float
    at_ms: int
    url: str


@dataclass(frozen=True)
class SliderStatus:
    limit: int
    busy: tuple[str, ...]       # accounts with a browser now
    queued: tuple[str, ...]     # waiting for a slot, first in line first
    recent: tuple[VerificationOutcome, ...]  # newest first


@dataclass(frozen=True)
class SliderSettings:
    slots: int = 2
    wait_timeout: float = 120.0
    tries: int = 3
    browser_path: str = "chromium"
    headless: bool = True


@dataclass(frozen=True)
class _Parts:
    """Where the slider is: the drag's start point (page viewport px) and length."""

    x: float
    y: float
    distance: float


# --------------------------------------------------------------------------------------------- one job


def solve(browser: Browser, url: str, cookies: Mapping[str, str], tries: int,
          on_retry: Callable[[int], None], cancelled: Callable[[], bool],
          rng: random.Random | None = None) -> dict[str, str]:
    """Solve the slider at ``url`` in a launched browser; returns its ``x5*`` cookies or raises SliderFailed.
    ``on_retry(n)`` is called before the n-th try from the second on."""
    rng = rng or random.Random()
    tab = browser.handle.latest_tab
    _seed_cookies(tab, url, cookies)
    tab.get(url)
    for attempt in range(1, tries + 1):
        _check(cancelled)
        if attempt > 1:
            on_retry(attempt)
        parts = _find_slider(tab, cancelled)
        _drag(tab, parts, rng, cancelled)
        if _verdict(tab, cancelled) == "passed":
            earned = _x5_cookies(tab)
            if not earned:
                raise SliderFailed("the page said passed but set no x5sec cookie")
            return earned
        if attempt < tries:
            _reset(tab)
    raise SliderFailed(f"the slider was rejected {tries} time(s)")


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


def _first(scope: Any, selectors: tuple[str, ...]) -> Any:
    for selector in selectors:
        element = scope.ele(f"css:{selector}", timeout=0)
        if element:
            return element
    return None


def _find_slider(tab: Any, cancelled: Callable[[], bool]) -> _Parts:
    deadline = time.monotonic() + FIND_SECONDS
    while True:
        _check(cancelled)
        for scope in _scopes(tab):
            button, track = _first(scope, BUTTONS), _first(scope, TRACKS)
            if button and track and button.states.is_displayed:
                (bx, by), (bw, bh) = button.rect.viewport_location, button.rect.size
                offset = _frame_offset(scope)
                distance = track.rect.size[0] - bw
                return _Parts(offset[0] + bx + bw / 2, offset[1] + by + bh / 2, distance)
        if time.monotonic() > deadline:
            raise SliderFailed("no slider found on the page")
        time.sleep(POLL)


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


# --------------------------------------------------------------------------------------------- the pool


class _Ticket:
    __slots__ = ("account_id",)

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id


class SliderPool:
    """At most ``slots`` browsers at once; jobs wait in FIFO order for at most ``wait_timeout`` seconds."""

    def __init__(self, settings: SliderSettings, bus: ev.EventBus) -> None:
        self.settings = settings
        self._bus = bus
        self._slots = threading.BoundedSemaphore(settings.slots)
        self._cond = threading.Condition()  # guards the queue, the busy map, recent and the browsers
        self._queue: collections.deque[_Ticket] = collections.deque()
        self._busy: dict[_Ticket, Browser | None] = {}
        self._recent: collections.deque[VerificationOutcome] = collections.deque(maxlen=RECENT)
        self._closing = threading.Event()

    def status(self) -> SliderStatus:
        with self._cond:
            return SliderStatus(self.settings.slots, tuple(t.account_id for t in self._busy),
                                tuple(t.account_id for t in self._queue), tuple(self._recent))

    def verify(self, account_id: str, url: str, user_agent: str, cookies: Mapping[str, str] | None = None,
               cancelled: Callable[[], bool] = lambda: False) -> dict[str, str] | None:
        """Queue, solve, report. Returns the earned ``x5*`` cookies, or None (failed, gave up, stopping).
        Never raises: the caller is a session's breaker, which must keep running whatever happens here."""
        began = time.monotonic()
        ticket = _Ticket(account_id)

        def stop() -> bool:
            return cancelled() or self._closing.is_set()

        if not self._acquire(ticket, url, stop):
            detail = "stopping" if stop() else f"no browser slot free within {self.settings.wait_timeout:g}s"
            self._finish(ticket, url, began, None, "gave_up", detail)
            return None
        try:
            spec = BrowserSpec(self.settings.browser_path, user_agent, self.settings.headless)
            with open_browser(spec) as browser:
                self._attach(ticket, browser)
                earned = solve(browser, url, cookies or {}, self.settings.tries,
                               lambda n: self._emit(account_id, "running", url, attempt=n), stop)
        except Exception as exc:  # launch errors, CDP errors, rejections: all end as "failed"
            self._release(ticket)
            self._finish(ticket, url, began, None, "failed", "stopping" if stop() else _reason(exc))
            return None
        self._release(ticket)
        self._finish(ticket, url, began, earned, "solved", "x5sec cookie collected")
        return earned

    def signal_stop(self) -> None:
        """Queued jobs give up and running ones stop at their next step (first step of a service stop)."""
        self._closing.set()
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Quit every browser still running (after the session threads were joined)."""
        self.signal_stop()
        with self._cond:
            browsers = [b for b in self._busy.values() if b is not None]
        for browser in browsers:
            browser.close()

    # ---- slots ------------------------------------------------------------------------------------

    def _acquire(self, ticket: _Ticket, url: str, stop: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + self.settings.wait_timeout
        with self._cond:
            self._queue.append(ticket)
            # Emitted under the lock, so the order of "queued" events is the queue's order (sinks never block).
            self._emit(ticket.account_id, "queued", url, position=len(self._queue))
            try:
                while not stop():
                    if self._queue[0] is ticket and self._slots.acquire(blocking=False):
                        self._queue.popleft()
                        self._busy[ticket] = None
                        # "running" as the slot is taken (before the launch) and under the lock, so the order of
                        # these events is the order the slots were handed out in.
                        self._emit(ticket.account_id, "running", url, attempt=1)
                        return True
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(min(left, 0.5))  # short, so a stopping account is noticed soon
                return False
            finally:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                    self._cond.notify_all()  # the next in line may be the head now

    def _attach(self, ticket: _Ticket, browser: Browser) -> None:
        with self._cond:
            self._busy[ticket] = browser

    def _release(self, ticket: _Ticket) -> None:
        with self._cond:
            if self._busy.pop(ticket, "absent") != "absent":
                self._slots.release()
            self._cond.notify_all()

    # ---- reporting --------------------------------------------------------------------------------

    def _finish(self, ticket: _Ticket, url: str, began: float, earned: dict[str, str] | None, phase: str,
                detail: str) -> None:
        seconds = round(time.monotonic() - began, 2)
        outcome = VerificationOutcome(ticket.account_id, earned is not None, detail, seconds, ev.now_ms(), url)
        with self._cond:
            self._recent.appendleft(outcome)
        self._emit(ticket.account_id, phase, url, detail=detail, seconds=seconds)

    def _emit(self, account_id: str, phase: str, url: str, **fields: Any) -> None:
        self._bus.emit(ev.VerificationChanged(account_id, phase=phase, url=url, **fields))


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, SliderFailed):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) < 200 else text[:197] + "…"


# --------------------------------------------------------------------------------------------- the breaker hook


def verifier(pool: SliderPool, user_agent: str) -> Callable[[Session, RiskControl], bool]:
    """The ``Session(verifier=...)`` hook of one account: solve, merge the x5 cookies into its jar (persisted),
    and tell the breaker to try the token call again."""

    def verify(session: Session, risk: RiskControl) -> bool:
        if not risk.url:
            return False
        earned = pool.verify(session.account_id, risk.url, user_agent, dict(session.auth.jar.items()),
                             cancelled=lambda: session.stopping)
        if not earned:
            return False
        session.auth.merge_cookies(earned)
        return True

    return verify
