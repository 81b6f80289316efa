"""The service: storage, scheduler, account manager and (in demo mode) the simulator, wired together.

Used by the headless runner, the TUI and the tests alike. ``start()`` returns once everything is
running; ``stop()`` follows design §2's order: stop Events → scheduler.shutdown(wait=False) → abort
sockets → join the pool with a timeout → dispose the engine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from typing import Any

import requests

from core import events as ev
from core.config import AccountConfig, Config, ConfigWatcher, DeliveryRule
from core.errors import ConfigError
from core.goofish.endpoints import LIVE, Endpoints
from core.manager import AccountManager
from core.orders import Orders
from core.scheduler import Jobs
from storage import Store

log = logging.getLogger(__name__)

CONFIG_POLL_SECONDS = 2.0
SYNC_PERSIST_SECONDS = 15.0
CLEANUP_SECONDS = 3600.0


def demo_unb(account_id: str) -> str:
    """A stable, realistic 13-digit user id for a demo account."""
    return str(2_200_000_000_000 + int(hashlib.sha1(account_id.encode()).hexdigest()[:12], 16) % 10**11)


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

    def start(self) -> None:
        endpoints = self._endpoints()
        self.store = Store(self.db_url)
        self.jobs = Jobs()
        cookie_for = self._demo_cookie if self.sim is not None else None
        self.manager = AccountManager(self.config, self.store, self.bus, endpoints, self.jobs,
                                      cookie_for=cookie_for)
        self.jobs.every("sync", "*", SYNC_PERSIST_SECONDS, self._persist_sync)
        self.jobs.every("cleanup", "*", CLEANUP_SECONDS, self.cleanup, first_in=60.0)
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
        if self.orders is not None:
            self.orders.stop()  # lets a delivery in progress finish while the sockets are still up
        if self.jobs is not None:
            self.jobs.shutdown()
        if self.manager is not None:
            self.manager.shutdown()
        if self.sim is not None:
            self.sim.stop()
        if self.store is not None:
            self.store.close()

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
        server = self.config.server
        if server.mode == "live":
            return LIVE
        if server.mode == "custom":
            return Endpoints(server.ws, server.api, server.passport, str(server.ca) if server.ca else None)
        # server: demo — the simulator runs in-process with scripted buyers.
        from sim.server import start as start_sim

        self.sim = start_sim(demo_buyers=True)
        urls = self.sim.urls
        log.info("demo marketplace running at %s (simulated buyers)", urls["api"])
        return Endpoints(urls["ws"], urls["api"], urls["passport"], urls.get("ca"))

    def _demo_cookie(self, account: AccountConfig) -> str:
        """In demo mode every account (also one added by a reload) gets a simulator login."""
        cookie = self._demo_cookies.get(account.id)
        if cookie is None:
            answer = requests.post(f"{self.sim.urls['control']}/accounts", timeout=5,
                                   json={"unb": demo_unb(account.id), "nick": account.alias or account.id})
            answer.raise_for_status()
            cookie = self._demo_cookies[account.id] = answer.json()["cookie"]
        return cookie
