"""The service: storage, scheduler, account manager and (in demo mode) the simulator, wired together.

Used by the headless runner, the TUI and the tests alike. ``start()`` returns once everything is
running; ``stop()`` follows design §2's order: stop Events → scheduler.shutdown(wait=False) → abort
sockets → join the pool with a timeout → quit browsers → dispose the engine.

Risk control is solved by ``self.slider`` (core/slider.py); ``pending_verification`` and ``set_cookie`` are the
manual path when automatic solving fails.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from typing import Any

import requests

from core import events as ev
from core.auth import merge_stored_cookies, pasted_cookies, stored_unb
from core.browser import reap_stale
from core.config import AccountConfig, Config, ConfigWatcher, DeliveryRule, ServerConfig, load_config
from core.errors import ConfigError, CookieRejected
from core.goofish.endpoints import LIVE, Endpoints
from core.manager import AccountManager
from core.orders import Orders
from core.scheduler import Jobs
from core.slider import SliderPool, SliderSettings, verifier
from storage import Store

log = logging.getLogger(__name__)

CONFIG_POLL_SECONDS = 2.0
SYNC_PERSIST_SECONDS = 15.0
CLEANUP_SECONDS = 3600.0
RECOVER_SECONDS = 2.0
OUTSIDE_COOKIES_SECONDS = 5.0


def demo_unb(account_id: str) -> str:
    """A stable, realistic 13-digit user id for a demo account."""
    return str(2_200_000_000_000 + int(hashlib.sha1(account_id.encode()).hexdigest()[:12], 16) % 10**11)


def configured_endpoints(server: ServerConfig) -> Endpoints | None:
    """Where a live or custom server is; None for the demo marketplace, which runs inside the service."""
    if server.mode == "live":
        return LIVE
    if server.mode == "custom":
        return Endpoints(server.ws, server.api, server.passport, str(server.ca) if server.ca else None)
    return None


class Service:
    def __init__(self, config: Config, db_url: str | None = None, bus: ev.EventBus | None = None,
                 watch_config: bool = True) -> None:
        self.config = config
        self.db_url = db_url or config.database
        self.bus = bus or ev.EventBus()
        self._watch = watch_config
        self.sim: Any = None
        self.store: Store | None = None
        self.jobs: Jobs | None = None
        self.manager: AccountManager | None = None
        self.orders: Orders | None = None
        self._demo_cookies: dict[str, str] = {}
        self._persisted: dict[str, tuple] = {}
        s = config.settings
        # Slider settings apply from the next start (a reload does not resize a pool with jobs in it).
        self.slider = SliderPool(SliderSettings(s.slider_slots, s.slider_wait_timeout, s.slider_tries,
                                                s.browser_path), self.bus)

    def start(self) -> None:
        reap_stale()  # browsers a crashed run left behind
        endpoints = self._endpoints()
        self.store = Store(self.db_url)
        self.jobs = Jobs()
        cookie_for = self._demo_cookie if self.sim is not None else None
        self.manager = AccountManager(self.config, self.store, self.bus, endpoints, self.jobs,
                                      cookie_for=cookie_for,
                                      verifier_for=lambda user_agent: verifier(self.slider, user_agent))
        self.jobs.every("sync", "*", SYNC_PERSIST_SECONDS, self._persist_sync)
        self.jobs.every("cleanup", "*", CLEANUP_SECONDS, self.cleanup, first_in=60.0)
        self.jobs.every("recover", "*", RECOVER_SECONDS, self.manager.pipeline.retry_unfinished)
        self.jobs.every("cookies", "*", OUTSIDE_COOKIES_SECONDS, self._adopt_outside_cookies)
        if self._watch:
            watcher = ConfigWatcher(self.config.path, on_change=self._reload, on_error=self._reload_failed)
            self.jobs.every("config", "*", CONFIG_POLL_SECONDS, watcher.poll)
        self.orders = Orders(self.store, self.bus, self._delivery_rules, self.manager.session,
                             lambda: self.config.settings)
        self.manager.pipeline.order_handler = self.orders.on_order_event
        self.manager.pipeline.own_send_filter = self.orders.is_delivery_echo
        self.orders.start()  # its first scan resumes deliveries a previous run left unfinished
        self.jobs.start()
        self.manager.start_all()

    def stop(self) -> None:
        if self.manager is not None:
            self.manager.signal_stop()
        self.slider.signal_stop()
        if self.orders is not None:
            self.orders.stop()  # lets a delivery in progress finish while the sockets are still up
        if self.jobs is not None:
            self.jobs.shutdown()
        if self.manager is not None:
            self.manager.shutdown()
        self.slider.close()
        if self.sim is not None:
            self.sim.stop()
        if self.store is not None:
            self.store.close()

    def pending_verification(self, account_id: str) -> str | None:
        """The punish URL of an account held by risk control (to solve by hand), else None."""
        session = self.manager.session(account_id) if self.manager is not None else None
        if session is None or session.state != ev.NEEDS_VERIFICATION:
            return None
        return session.verification_url

    def set_cookie(self, account_id: str, cookie: str) -> None:
        """The manual path: a cookie pasted for ``account_id`` joins its jar (persisted) and only that account
        restarts. Raises CookieRejected (never quoting the cookie) when it is unusable."""
        assert self.manager is not None and self.store is not None
        try:
            account = self.config.account(account_id)
        except KeyError:
            raise CookieRejected(f"no account {account_id!r} in {self.config.path}") from None
        session = self.manager.session(account_id)
        known = (session.auth.unb if session else None) or stored_unb(self.store, account_id) or account.unb
        cookies = pasted_cookies(cookie, known)
        self.manager.stop(account_id)  # first, so the session cannot write its old jar over the merge
        merge_stored_cookies(self.store, account_id, self._base_cookie(account), cookies)
        log.info("%s: pasted cookie saved (%d cookies); restarting the account", account_id, len(cookies))
        if account.enabled:
            self.manager.start(account_id)

    def _adopt_outside_cookies(self) -> None:
        """``xianyu.py verify`` (another process) saves a verified account's cookies in the database: an account
        parked by risk control whose stored jar changed restarts on it. Only parked accounts are read."""
        assert self.manager is not None and self.store is not None
        status = self.slider.status()
        for session in self.manager.sessions():
            account_id = session.account_id
            if (session.state != ev.NEEDS_VERIFICATION or account_id in status.busy
                    or account_id in status.queued):
                continue
            state = self.store.get_account_state(account_id)
            if state is not None and state.cookie_jar and state.cookie_jar != session.auth.jar.to_header():
                log.info("%s: cookies saved from outside the service; restarting the account", account_id)
                self.manager.restart(account_id)

    def cleanup(self) -> dict[str, int]:
        assert self.store is not None
        retention_ms = int(self.config.settings.retention_days * 86_400_000)
        return self.store.cleanup(ev.now_ms(), retention_ms)

    def _delivery_rules(self, account_id: str) -> tuple[DeliveryRule, ...] | None:
        assert self.manager is not None
        rules = self.manager.rules_for(account_id)
        return rules.config.delivery if rules is not None else None

    def _persist_sync(self) -> None:
        """Write each session's sync position and state — only those that moved since the last run, so a
        thousand idle accounts cost nothing here."""
        assert self.manager is not None and self.store is not None
        moved = []
        for session in self.manager.sessions():
            current = (session.sync_pts, session.state, session.since_ms, session.last_error)
            if self._persisted.get(session.account_id) != current:
                moved.append((session.account_id, current))
        self.store.save_progress([{"account_id": account_id, "sync_pts": pts, "state": state,
                                   "state_since_ms": since, "last_error": error or None}
                                  for account_id, (pts, state, since, error) in moved])
        self._persisted.update(moved)

    def reload(self) -> Config:
        """Read accounts.yml now (the dashboard's reload key) and apply it; a ConfigError leaves the running
        config in place and names every problem as FILE:LINE."""
        new = load_config(self.config.path)
        self._reload(new)
        return new

    def _reload(self, new: Config) -> None:
        if new.server != self.config.server or new.database != self.config.database:
            # Sessions cannot move to other endpoints or another database while running: keep the
            # running ones, apply the account edits, and say so.
            self.bus.emit(ev.AccountError("*", message="server/database changes take effect after a "
                                                       "restart; account changes were applied"))
            new = dataclasses.replace(new, server=self.config.server, database=self.config.database)
        self.config = new
        assert self.manager is not None
        self.manager.apply_config(new)

    def _reload_failed(self, error: ConfigError) -> None:
        self.bus.emit(ev.ConfigInvalid("*", errors=tuple(str(issue) for issue in error.errors)))

    def _endpoints(self) -> Endpoints:
        endpoints = configured_endpoints(self.config.server)
        if endpoints is not None:
            return endpoints
        # server: demo — the simulator runs in-process with scripted buyers.
        from sim.server import start as start_sim

        self.sim = start_sim(demo_buyers=True)
        urls = self.sim.urls
        log.info("demo marketplace running at %s (simulated buyers)", urls["api"])
        return Endpoints(urls["ws"], urls["api"], urls["passport"], urls.get("ca"))

    def _base_cookie(self, account: AccountConfig) -> str:
        """The cookie the account's jar grows from: its configured one, or (demo mode) the simulator's."""
        return self._demo_cookie(account) if self.sim is not None else account.cookie or ""

    def _demo_cookie(self, account: AccountConfig) -> str:
        """In demo mode every account (also one added by a reload) gets a simulator login."""
        cookie = self._demo_cookies.get(account.id)
        if cookie is None:
            answer = requests.post(f"{self.sim.urls['control']}/accounts", timeout=5,
                                   json={"unb": demo_unb(account.id), "nick": account.alias or account.id})
            answer.raise_for_status()
            cookie = self._demo_cookies[account.id] = answer.json()["cookie"]
        return cookie
