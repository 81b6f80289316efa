"""Risk-control verification, a few at a time: the slider pool and the breaker's hook into it.

    session breaker ──verify(account, url)──▶ SliderPool: FIFO queue ─(slot free)─▶ job (solve.py): open browser,
          ▲                                   (BoundedSemaphore, wait timeout)        drag, check, retry
          └──────────── x5* cookies (or None: the manual path) ◀──────────────────── quit + reap (finally)

At most ``slots`` browsers run at once; a job waits in line, first come first served, for at most
``wait_timeout`` seconds, and gives up when its account or the service stops. Every step is an
``ev.VerificationChanged`` event; ``status()`` is what the TUI shows. ``verifier`` is one account's hook: what a
job earns joins the session's cookie jar.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core import events as ev
from core.clock import now_ms
from core.errors import SliderFailed
from core.verification.browser import Browser, BrowserSpec, open_browser
from core.verification.solve import solve
from core.verification.trust import server_key_pin

if TYPE_CHECKING:
    from core.goofish.errors import RiskControl
    from core.session.loop import ImSession

RECENT = 50


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
    trusted_ca: str | None = None  # a private CA's PEM (the endpoints' `ca`): its servers' keys get pinned


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
            private = self.settings.trusted_ca and url.startswith("https:")
            pins = (server_key_pin(url, self.settings.trusted_ca),) if private else ()
            spec = BrowserSpec(self.settings.browser_path, user_agent, self.settings.headless, pins)
            with open_browser(spec) as browser:
                self._attach(ticket, browser)
                earned = solve(browser, url, cookies or {}, self.settings.tries,
                               lambda n: self._emit(account_id, "running", url, attempt=n), stop,
                               account_id=account_id)
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
        outcome = VerificationOutcome(ticket.account_id, earned is not None, detail, seconds, now_ms(), url)
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


def verifier(pool: SliderPool, user_agent: str) -> Callable[[ImSession, RiskControl], bool]:
    """The ``ImSession(verifier=...)`` hook of one account: solve, merge the x5 cookies into its jar (persisted),
    and tell the breaker to try the token call again."""

    def verify(session: ImSession, risk: RiskControl) -> bool:
        if not risk.url:
            return False
        earned = pool.verify(session.account_id, risk.url, user_agent, dict(session.credentials.jar.items()),
                             cancelled=lambda: session.stopping)
        if not earned:
            return False
        session.credentials.merge_cookies(earned)
        return True

    return verify
