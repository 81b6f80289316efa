"""AccountManager: one pool thread per running account, start/stop/restart/remove per account.

Each account's lifecycle calls are serialised by its own ``threading.Lock`` (never one global lock), so
restarting one account never waits on another, and a failure inside one session stays in that
session's thread. The manager also owns the shared handler pool and the reply pipeline, and registers
each running account's scheduler jobs (heartbeat, token refresh, cookie keep-alive).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass

from core import events as ev
from core.auth import AccountAuth, AuthSettings
from core.backoff import Backoff
from core.config import AccountConfig, Config, diff_accounts
from core.connection import WsOptions
from core.dispatch import ChatDispatcher, Debouncer
from core.goofish.endpoints import DEFAULT_UA, Endpoints, im_user_agent
from core.goofish.errors import RiskControl
from core.pipeline import AccountRules, Pipeline
from core.rules import build_chain
from core.scheduler import Jobs, spread_offset
from core.session import Session, SessionTuning, Snapshot
from storage import Store

log = logging.getLogger(__name__)

STOP_JOIN_SECONDS = 5.0
DRAIN_SECONDS = 3.0  # handlers recording what is still queued at shutdown


@dataclass
class _Running:
    session: Session
    future: Future[None]


class AccountManager:
    def __init__(self, config: Config, store: Store, bus: ev.EventBus, endpoints: Endpoints, jobs: Jobs,
                 cookie_for: Callable[[AccountConfig], str] | None = None,
                 verifier_for: Callable[[str], Callable[[Session, RiskControl], bool]] | None = None) -> None:
        self.config = config
        self._store = store
        self._bus = bus
        self._endpoints = endpoints
        self._jobs = jobs
        # Where an account's cookie comes from: the config, or (demo mode) the simulator.
        self._cookie_for = cookie_for or (lambda account: account.cookie or "")
        # The risk-control hook of an account, given the User-Agent its browser must send (core/slider.py).
        self._verifier_for = verifier_for
        settings = config.settings
        # Threads are created on demand, so a generous ceiling costs nothing until accounts run.
        self._pool = ThreadPoolExecutor(max_workers=settings.pool_size or 4096, thread_name_prefix="session")
        self._handlers = ThreadPoolExecutor(max_workers=settings.handler_threads, thread_name_prefix="handler")
        self._debouncer = Debouncer()
        self.pipeline = Pipeline(store, bus, ChatDispatcher(self._handlers, settings.messages_in_flight),
                                 self._debouncer, self.rules_for, self.session)
        self._rules: dict[str, AccountRules] = {}
        self._running: dict[str, _Running] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._closing = threading.Event()
        self._refresh_rules(config)

    # ---- lifecycle of accounts -------------------------------------------------------------------

    def start_all(self) -> None:
        """Start every enabled account, spread over ``start_spread_seconds`` (no restart storm)."""
        enabled = [a.id for a in self.config.accounts if a.enabled]
        spread = self.config.settings.start_spread_seconds
        for account in self.config.accounts:
            if not account.enabled:
                self._bus.emit(ev.StateChanged(account.id, state=ev.DISABLED, previous=ev.STOPPED,
                                               reason="disabled in accounts.yml"))
        threading.Thread(target=self._start_spread, args=(enabled, spread), name="starter",
                         daemon=True).start()

    def _start_spread(self, account_ids: list[str], spread: float) -> None:
        step = spread / len(account_ids) if account_ids else 0.0
        for account_id in account_ids:
            if self._closing.wait(step):
                return
            try:
                self.start(account_id)
            except Exception as exc:  # one bad account must not stop the others from starting
                log.exception("%s: could not start", account_id)
                self._bus.emit(ev.AccountError(account_id, message=f"could not start: {exc}"))
        settle_memory()

    def start(self, account_id: str) -> None:
        with self._lock_for(account_id):
            if account_id in self._running or self._closing.is_set():
                return
            account = self.config.account(account_id)  # KeyError names an unknown id
            session = self._build_session(account)
            future = self._pool.submit(session.run)
            self._running[account_id] = _Running(session, future)
            self._add_jobs(account, session)

    def stop(self, account_id: str) -> None:
        with self._lock_for(account_id):
            self._stop_locked(account_id)

    def restart(self, account_id: str) -> None:
        with self._lock_for(account_id):
            self._stop_locked(account_id)
        self.start(account_id)

    def remove(self, account_id: str) -> None:
        self.stop(account_id)
        self._rules.pop(account_id, None)

    def _stop_locked(self, account_id: str) -> None:
        running = self._running.pop(account_id, None)
        if running is None:
            return
        self._jobs.remove_account(account_id)
        running.session.stop()
        wait_futures([running.future], timeout=STOP_JOIN_SECONDS)
        self._store.upsert_account_state(account_id, sync_pts=running.session.sync_pts,
                                         state=ev.STOPPED, state_since_ms=ev.now_ms())

    # ---- configuration ----------------------------------------------------------------------------

    def apply_config(self, new: Config) -> None:
        """Hot reload: restart only the accounts whose settings changed."""
        diff = diff_accounts(self.config, new)
        self.config = new
        self._refresh_rules(new)
        for account_id in diff.removed:
            self.remove(account_id)
        for account_id in sorted(diff.changed):
            if new.account(account_id).enabled:
                self.restart(account_id)
            else:
                self.stop(account_id)
                self._bus.emit(ev.StateChanged(account_id, state=ev.DISABLED, previous=ev.STOPPED,
                                               reason="disabled in accounts.yml"))
        for account_id in sorted(diff.added):
            if new.account(account_id).enabled:
                self.start(account_id)
        if diff.added or diff.changed:
            settle_memory()
        self._bus.emit(ev.ConfigReloaded("*", added=tuple(sorted(diff.added)),
                                         removed=tuple(sorted(diff.removed)),
                                         changed=tuple(sorted(diff.changed))))

    def rules_for(self, account_id: str) -> AccountRules | None:
        return self._rules.get(account_id)

    def _refresh_rules(self, config: Config) -> None:
        self._rules = {a.id: AccountRules(a, build_chain(a)) for a in config.accounts}

    # ---- what the dashboard and jobs use -----------------------------------------------------------

    def session(self, account_id: str) -> Session | None:
        running = self._running.get(account_id)
        return running.session if running else None

    def sessions(self) -> list[Session]:
        return [r.session for r in list(self._running.values())]

    def snapshots(self) -> list[Snapshot]:
        """One snapshot per configured account, in config order (stable rows for the dashboard)."""
        result = []
        for account in self.config.accounts:
            session = self.session(account.id)
            if session is not None:
                result.append(session.snapshot())
            else:
                state = ev.STOPPED if account.enabled else ev.DISABLED
                result.append(Snapshot(account.id, account.alias or "", "", state, 0, None, None, 0, 0, ""))
        return result

    def send_manual(self, account_id: str, cid: str, to_id: str, text: str) -> bool:
        """A reply typed by the seller in the dashboard: sent, and the chat paused like any takeover."""
        session = self.session(account_id)
        if session is None:
            return False
        rules = self.rules_for(account_id)
        minutes = rules.config.effective.takeover_minutes if rules else 0
        ok = self.pipeline.send(session, cid, to_id, text, "manual", ev.now_ms())
        if ok and minutes > 0:
            self.pipeline.pause(account_id, cid, minutes, "seller replied from the dashboard")
        return ok

    def signal_stop(self) -> None:
        """First step of shutdown: every session's stop Event, before the scheduler goes."""
        self._closing.set()
        for r in list(self._running.values()):
            r.session.request_stop()

    def shutdown(self) -> None:
        """Abort sockets → join the pool with a timeout (design §2); call after signal_stop()."""
        self._closing.set()
        # A start() that passed its closing check just before the flag was set is still inside its account's
        # lock, building the session: wait for it, so that session is in the list below and stopped too
        # (it used to keep running, and reconnecting, after the service had stopped).
        with self._locks_guard:
            locks = list(self._locks.values())
        for lock in locks:
            with lock:
                pass
        running = list(self._running.items())
        for _, r in running:
            r.session.stop()  # aborts the socket: a blocked recv returns at once
        wait_futures([r.future for _, r in running], timeout=STOP_JOIN_SECONDS)
        now = ev.now_ms()
        self._store.save_progress([{"account_id": account_id, "sync_pts": r.session.sync_pts,
                                    "state": ev.STOPPED, "state_since_ms": now,
                                    "last_error": r.session.last_error or None}
                                   for account_id, r in running])
        self._running.clear()
        self._debouncer.stop()
        self.pipeline.close(DRAIN_SECONDS)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._handlers.shutdown(wait=False, cancel_futures=True)

    # ---- wiring one account -------------------------------------------------------------------------

    def _build_session(self, account: AccountConfig) -> Session:
        settings = account.effective
        user_agent = account.user_agent or DEFAULT_UA
        auth = AccountAuth(account.id, self._cookie_for(account), self._store, self._endpoints,
                           AuthSettings(user_agent, settings.http_timeout, account.proxy))
        state = self._store.get_account_state(account.id)
        tuning = SessionTuning(
            heartbeat_timeout=settings.heartbeat_timeout, connect_timeout=settings.connect_timeout,
            send_timeout=settings.http_timeout, max_message_age=settings.max_message_age,
            backoff=Backoff(settings.reconnect_backoff_base, settings.reconnect_backoff_cap))
        ws_options = WsOptions(self._endpoints.ws, user_agent, im_user_agent(user_agent),
                               ca=self._endpoints.ca, proxy=account.proxy)
        return Session(account.id, account.alias or "", auth, ws_options, tuning, self._bus,
                       on_message=self.pipeline.on_message, on_synced=_advance_sync,
                       on_online=self.pipeline.recover,
                       verifier=self._verifier_for(user_agent) if self._verifier_for else None,
                       initial_sync_pts=state.sync_pts if state else 0)

    def _add_jobs(self, account: AccountConfig, session: Session) -> None:
        s = account.effective
        self._jobs.every("heartbeat", account.id, s.heartbeat_interval, session.heartbeat,
                         first_in=spread_offset(account.id, "heartbeat", s.heartbeat_interval))
        horizon = s.token_refresh_interval + s.token_refresh_jitter
        self._jobs.every("token", account.id, s.token_refresh_interval,
                         lambda: session.auth.refresh_if_expiring(horizon), jitter=s.token_refresh_jitter,
                         first_in=spread_offset(account.id, "token", s.token_refresh_interval))
        self._jobs.every("keepalive", account.id, s.keepalive_interval, session.auth.keepalive,
                         first_in=spread_offset(account.id, "keepalive", s.keepalive_interval))

    def _lock_for(self, account_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(account_id, threading.Lock())


def _advance_sync(session: Session, position: int) -> None:
    # In memory only: persisted on stop and by the cleanup job; a crash replays a few seconds,
    # which the persisted dedupe absorbs.
    if position > session.sync_pts:
        session.sync_pts = position


def settle_memory() -> None:
    """Once the sessions exist, move their long-lived objects out of the collector's reach.

    A thousand sessions are ~10⁶ objects that live for the whole run; every full collection walked them
    all (tens of ms with the GIL held: the tail of reply latency and heartbeat lateness). ``gc.freeze``
    parks what exists now in a permanent generation; garbage made later is collected as usual."""
    gc.collect()
    gc.freeze()
