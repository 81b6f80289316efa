"""AccountManager: one pool thread per running account, start/stop/restart/remove per account.

Each account's lifecycle calls are serialised by its own ``threading.Lock`` (never one global lock), so
restarting one account never waits on another, and a failure inside one session stays in that
session's thread. The running sessions are listed in `Sessions`, the directory every other part looks an
account's current session up in (it exists before any of them, so nothing is wired after construction). The
manager registers each running account's scheduler jobs (heartbeat, token refresh, cookie keep-alive) and
hands its sessions' messages to the replies stage.
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
from core.backoff import Backoff
from core.clock import now_ms
from core.config import AccountConfig, Config, diff_accounts
from core.credentials.account import CredentialSettings
from core.credentials.owner import Credentials
from core.goofish.endpoints import DEFAULT_UA, Endpoints, im_user_agent
from core.goofish.errors import RiskControl
from core.replies.inbound import Replies
from core.scheduler import Jobs, spread_offset
from core.session.connection import WsOptions
from core.session.loop import ImSession, SessionTuning, Snapshot
from storage import Store

log = logging.getLogger(__name__)

STOP_JOIN_SECONDS = 5.0


@dataclass
class _Running:
    session: ImSession
    future: Future[None]


class Sessions:
    """The running accounts' current sessions (a restart replaces one)."""

    def __init__(self) -> None:
        self._running: dict[str, _Running] = {}

    def get(self, account_id: str) -> ImSession | None:
        running = self._running.get(account_id)
        return running.session if running else None

    def all(self) -> list[ImSession]:
        return [r.session for r in list(self._running.values())]


class AccountManager:
    def __init__(self, config: Config, store: Store, bus: ev.EventBus, endpoints: Endpoints, jobs: Jobs,
                 sessions: Sessions, credentials: Credentials, replies: Replies,
                 verifier_for: Callable[[str], Callable[[ImSession, RiskControl], bool]] | None = None) -> None:
        self.config = config
        self._store = store
        self._bus = bus
        self._endpoints = endpoints
        self._jobs = jobs
        self._credentials = credentials
        self._replies = replies
        # The risk-control hook of an account, given the User-Agent its browser must send (core/verification).
        self._verifier_for = verifier_for
        settings = config.settings
        # Threads are created on demand, so a generous ceiling costs nothing until accounts run.
        self._pool = ThreadPoolExecutor(max_workers=settings.pool_size or 4096, thread_name_prefix="session")
        self.sessions = sessions
        self._running = sessions._running
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._closing = threading.Event()

    # ---- lifecycle of accounts -------------------------------------------------------------------

    def start_all(self) -> None:
        """Start every enabled account, spread over ``start_spread_seconds`` (no restart storm)."""
        enabled = [a.id for a in self.config.accounts if a.enabled]
        spread = self.config.settings.start_spread_seconds
        for account in self.config.accounts:
            if not account.enabled:
                self._bus.emit(ev.StateChanged(account.id, state=ev.AccountState.DISABLED, previous=ev.AccountState.STOPPED,
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

    def _stop_locked(self, account_id: str) -> None:
        running = self._running.pop(account_id, None)
        if running is None:
            return
        self._jobs.remove_account(account_id)
        running.session.stop()
        wait_futures([running.future], timeout=STOP_JOIN_SECONDS)
        self._store.accounts.update(account_id, now_ms(), sync_pts=running.session.sync_pts,
                                    state=ev.AccountState.STOPPED, state_since_ms=now_ms())

    # ---- configuration ----------------------------------------------------------------------------

    def apply_config(self, new: Config) -> None:
        """Hot reload: restart only the accounts whose settings changed."""
        diff = diff_accounts(self.config, new)
        self.config = new
        for account_id in diff.removed:
            self.remove(account_id)
        for account_id in sorted(diff.changed):
            if new.account(account_id).enabled:
                self.restart(account_id)
            else:
                self.stop(account_id)
                self._bus.emit(ev.StateChanged(account_id, state=ev.AccountState.DISABLED, previous=ev.AccountState.STOPPED,
                                               reason="disabled in accounts.yml"))
        for account_id in sorted(diff.added):
            if new.account(account_id).enabled:
                self.start(account_id)
        if diff.added or diff.changed:
            settle_memory()
        self._bus.emit(ev.ConfigReloaded("*", added=tuple(sorted(diff.added)),
                                         removed=tuple(sorted(diff.removed)),
                                         changed=tuple(sorted(diff.changed))))

    # ---- what the dashboard and jobs use -----------------------------------------------------------

    def session(self, account_id: str) -> ImSession | None:
        return self.sessions.get(account_id)

    def snapshots(self) -> list[Snapshot]:
        """One snapshot per configured account, in config order (stable rows for the dashboard)."""
        result = []
        for account in self.config.accounts:
            session = self.session(account.id)
            if session is not None:
                result.append(session.snapshot())
            else:
                state = ev.AccountState.STOPPED if account.enabled else ev.AccountState.DISABLED
                result.append(Snapshot(account.id, account.alias or "", "", state, 0, None, None, 0, 0, ""))
        return result

    def signal_stop(self) -> None:
        """First step of shutdown: every session's stop Event, before the scheduler goes."""
        self._closing.set()
        for r in list(self._running.values()):
            r.session.request_stop()

    def shutdown(self) -> None:
        """Abort sockets → join the pool with a timeout (docs/contracts.md §2); call after signal_stop()."""
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
        now = now_ms()
        self._store.accounts.save_progress([{"account_id": account_id, "sync_pts": r.session.sync_pts,
                                             "state": ev.AccountState.STOPPED, "state_since_ms": now,
                                             "last_error": r.session.last_error or None}
                                            for account_id, r in running], now)
        self._running.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ---- wiring one account -------------------------------------------------------------------------

    def _build_session(self, account: AccountConfig) -> ImSession:
        settings = account.effective
        user_agent = account.user_agent or DEFAULT_UA
        credentials = self._credentials.open(account, CredentialSettings.of(account))
        state = self._store.accounts.get(account.id)
        tuning = SessionTuning(
            heartbeat_timeout=settings.heartbeat_timeout, connect_timeout=settings.connect_timeout,
            send_timeout=settings.http_timeout, max_message_age=settings.max_message_age,
            backoff=Backoff(settings.reconnect_backoff_base, settings.reconnect_backoff_cap))
        ws_options = WsOptions(self._endpoints.ws, user_agent, im_user_agent(user_agent),
                               ca=self._endpoints.ca, proxy=account.proxy)
        replies = self._replies
        return ImSession(account.id, account.alias or "", credentials, ws_options, tuning, self._bus,
                       on_message=replies.on_message, on_synced=_advance_sync,
                       on_online=replies.recovery.recover,
                       verifier=self._verifier_for(user_agent) if self._verifier_for else None,
                       initial_sync_pts=state.sync_pts if state else 0)

    def _add_jobs(self, account: AccountConfig, session: ImSession) -> None:
        s = account.effective
        self._jobs.beats.add(account.id, session, s.heartbeat_interval, s.heartbeat_timeout,
                             first_in=spread_offset(account.id, "heartbeat", s.heartbeat_interval))
        horizon = s.token_refresh_interval + s.token_refresh_jitter
        self._jobs.every("token", account.id, s.token_refresh_interval,
                         lambda: session.credentials.refresh_if_expiring(horizon), jitter=s.token_refresh_jitter,
                         first_in=spread_offset(account.id, "token", s.token_refresh_interval))
        self._jobs.every("keepalive", account.id, s.keepalive_interval, session.credentials.keepalive,
                         first_in=spread_offset(account.id, "keepalive", s.keepalive_interval))

    def _lock_for(self, account_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(account_id, threading.Lock())


def _advance_sync(session: ImSession, position: int) -> None:
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
