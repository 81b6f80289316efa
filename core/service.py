"""The service: the composition root. Storage, scheduler, sessions, replies, orders and verification, wired
together once, in the order they depend on each other (nothing is wired after construction).

Used by the headless runner, the TUI and the tests alike. ``start()`` returns once everything is running;
``stop()`` follows the shutdown order of docs/contracts.md §2: stop Events → scheduler.shutdown(wait=False) →
abort sockets → join the pool with a timeout → quit browsers → dispose the engine. The platform (live, custom, or the demo marketplace
that xianyu.py starts around core) is handed in as a `Platform`; core never knows which.

Risk control is solved by ``self.slider`` (core/verification); ``pending_verification`` and ``set_cookie`` are
the manual path when automatic solving fails. The dashboard talks to ``Control`` (core/control.py), not to these
internals.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from core import events as ev
from core.ai.drafts import Suggestions
from core.ai.rule import Assistant
from core.catalog import Catalog
from core.clock import now_ms
from core.config import AccountConfig, Config, ConfigWatcher, DeliveryRule, Settings, load_config
from core.config.append import add_account
from core.config.checks import name_problem
from core.credentials.keeper import LoginKeeper
from core.credentials.login import login_nick, passport_for
from core.credentials.login_run import LoginProgress, LoginRun
from core.credentials.owner import Credentials
from core.credentials.renewal import RenewalPolicy
from core.errors import ConfigError, CookieRejected, LoginFailed
from core.goofish.cookies import CookieJar, mask
from core.inert import inert
from core.manager import AccountManager, Sessions
from core.notify.notifier import Notifier
from core.orders.worker import Orders
from core.platform import Platform, configured_platform
from core.replies.answer import AccountRules
from core.replies.dispatch import ChatDispatcher
from core.replies.inbound import Replies
from core.replies.outbox import SEND_RETRY_DELAY, SEND_TRIES
from core.replies.rules import build_chain
from core.replies.takeover import MANUAL_RULE
from core.scheduler import Jobs
from core.verification.browser import reap_stale
from core.verification.pool import SliderPool, SliderSettings, verifier
from storage import DEMO_DB_URL, InstanceLock, Store, claim, discard_sqlite, shown_database

log = logging.getLogger(__name__)

CONFIG_POLL_SECONDS = 2.0
SYNC_PERSIST_SECONDS = 15.0
CLEANUP_SECONDS = 3600.0
RECOVER_SECONDS = 2.0
OUTSIDE_COOKIES_SECONDS = 5.0
RENEWAL_TICK_SECONDS = 30.0  # the fleet's login renewal renews at most one account per tick
# States in which an account waits for cookies from outside (a solved slider, a new login).
PARKED = frozenset({ev.AccountState.NEEDS_VERIFICATION, ev.AccountState.LOGIN_REQUIRED})
DRAIN_SECONDS = 3.0  # handlers recording what is still queued at shutdown
# How long a dashboard send may take: every try with its retry delays and the history checks between them.
MANUAL_SEND_WAIT = SEND_TRIES * SEND_RETRY_DELAY * 4 + 10.0
GUARD_SECONDS = 15.0  # how often the job guard:* checks that the SQLite file is still the one opened


class Service:
    def __init__(self, config: Config, db_url: str | None = None, *, platform: Platform | None = None,
                 bus: ev.EventBus | None = None, watch_config: bool = True,
                 database: OpenedDatabase | None = None) -> None:
        """``database``: the database already opened for it (core.app waits for it before the service exists);
        without it ``start`` opens ``db_url``, or the config's."""
        self.config = config
        self.db_url = db_url or config.database
        self.platform = platform or configured_platform(config.server)
        self.bus = bus or ev.EventBus()
        self._watch = watch_config
        self._instance: InstanceLock | None = database[0] if database else None
        self.store: Store | None = database[1] if database else None
        self.jobs: Jobs | None = None
        self.manager: AccountManager | None = None
        self.orders: Orders | None = None
        self.replies: Replies | None = None
        self.credentials: Credentials | None = None
        self.keeper: LoginKeeper | None = None
        self.assistant: Assistant | None = None
        self.suggestions: Suggestions | None = None
        self.notifier: Notifier | None = None
        self.sessions = Sessions()
        self._rules: dict[str, AccountRules] = {}
        self._handlers: ThreadPoolExecutor | None = None
        self._persisted: dict[str, tuple] = {}
        self._logins: dict[str, LoginRun] = {}
        s = config.settings
        # Slider settings apply from the next start (a reload does not resize a pool with jobs in it).
        self.slider = SliderPool(SliderSettings(s.slider_slots, s.slider_wait_timeout, s.slider_tries,
                                                s.browser_path, trusted_ca=self.platform.endpoints.ca), self.bus)

    def start(self) -> None:
        reap_stale()  # browsers a crashed run left behind
        settings = self.config.settings
        # Before anything reads it: one service per database (the instance lock; issue 17's fleet, instances
        # sharing one PostgreSQL database by leases, is to skip it here), and only a writable one.
        if self.store is None:
            self._instance, self.store = open_database(
                self.db_url, self.config.path.parent, fresh=self.platform.scratch and self.db_url == DEMO_DB_URL)
        store = self.store
        # First, so that it hears every account's first state; its incidents survive restarts in the database.
        self.notifier = Notifier(store, self.bus, lambda: self.config).start()
        self.bus.add(self.notifier)
        self.jobs = Jobs()
        self.assistant = Assistant(store, self.bus, Catalog(store), self.sessions.get, self._paused,
                                   default_base_url=self.platform.model_url)
        self._refresh_rules(self.config)
        self.assistant.warm(self.config.accounts)
        self.credentials = Credentials(store, self.platform)
        self.orders = Orders(store, self.bus, self.sessions, self._delivery_rules, lambda: self.config.settings)
        self._handlers = ThreadPoolExecutor(max_workers=settings.handler_threads, thread_name_prefix="handler")
        self.replies = Replies(store, self.bus, ChatDispatcher(self._handlers, settings.messages_in_flight),
                               self._account_rules, self.sessions.get, on_order_notice=self.orders.on_notice,
                               is_delivery_echo=self.orders.is_delivery_echo, checks=self.assistant.checks,
                               slow_threads=settings.ai_concurrency)
        self.suggestions = Suggestions(store, self.assistant, lambda account_id: self.config.find(account_id),
                                       self.send_by_hand)
        self.manager = AccountManager(self.config, store, self.bus, self.platform.endpoints, self.jobs,
                                      self.sessions, self.credentials, self.replies,
                                      verifier_for=lambda user_agent: verifier(self.slider, user_agent))
        self.jobs.every("sync", "*", SYNC_PERSIST_SECONDS, self._persist_sync)
        self.jobs.every("cleanup", "*", CLEANUP_SECONDS, self.cleanup, first_in=60.0)
        self.jobs.every("recover", "*", RECOVER_SECONDS, self.replies.recovery.retry_unfinished)
        self.jobs.every("cookies", "*", OUTSIDE_COOKIES_SECONDS, self._adopt_outside_cookies)
        self.keeper = LoginKeeper(self.sessions.all, self.bus, renewal_policy(settings))
        self.jobs.every("renewal", "*", RENEWAL_TICK_SECONDS, self.keeper.tick)
        if store.file is not None:
            self.jobs.every("guard", "*", GUARD_SECONDS, self._guard_database)
        if self._watch:
            watcher = ConfigWatcher(self.config.path, on_change=self._reload, on_error=self._reload_failed)
            self.jobs.every("config", "*", CONFIG_POLL_SECONDS, watcher.poll)
        self.orders.start()  # its first scan resumes deliveries a previous run left unfinished
        self.jobs.start()
        self.manager.start_all()

    def stop(self) -> None:
        for login in self._logins.values():
            login.cancel()
        if self.manager is not None:
            self.manager.signal_stop()
        self.slider.signal_stop()
        if self.orders is not None:
            self.orders.stop()  # lets a delivery in progress finish while the sockets are still up
        if self.jobs is not None:
            self.jobs.shutdown()
        if self.manager is not None:
            self.manager.shutdown()
        if self.replies is not None:
            self.replies.close(DRAIN_SECONDS)
        if self.assistant is not None:
            self.assistant.close()
        if self._handlers is not None:
            self._handlers.shutdown(wait=False, cancel_futures=True)
        self.slider.close()
        self.bus.close()
        if self.notifier is not None:
            self.notifier.close()  # what is unsent stays in the outbox for the next start
        if self.store is not None:
            self.store.close()
        if self._instance is not None:
            self._instance.release()
        self.platform.close()

    def _guard_database(self) -> None:
        """The SQLite file deleted or replaced under the running service (``rm -rf data/``): every write from now
        on would go to a file no one will open again, and the next start would answer the last
        ``max_message_age`` of buyers again. So nothing is written or answered any more: writes are refused (a
        message that cannot be recorded is neither answered nor ACKed: the platform keeps it), every account
        stops, and the process stays, having said why, until it is restarted. On the new database a replayed
        message is checked against the chat's history before it is answered."""
        assert self.store is not None and self.manager is not None and self.jobs is not None
        lost = self.store.file_lost()
        if lost is None:
            return
        shown = shown_database(self.db_url)
        log.error("the database file %s was %s while running; stopped answering — restart the service", shown, lost)
        self.store.refuse_writes(f"the database file {shown} was {lost} while running")
        for kind in ("guard", "sync", "recover", "cleanup"):  # said once; and no job fails every round
            self.jobs.remove(kind, "*")
        self.manager.signal_stop()

    def pending_verification(self, account_id: str) -> str | None:
        """The punish URL of an account held by risk control (to solve by hand), else None."""
        session = self.sessions.get(account_id)
        if session is None or session.state != ev.AccountState.NEEDS_VERIFICATION:
            return None
        return session.verification_url

    def set_cookie(self, account_id: str, cookie: str) -> None:
        """The manual path: a cookie pasted for ``account_id`` joins its jar (persisted) and only that account
        restarts. Raises CookieRejected (never quoting the cookie) when it is unusable."""
        assert self.manager is not None and self.credentials is not None
        try:
            account = self.config.account(account_id)
        except KeyError:
            raise CookieRejected(f"no account {account_id!r} in {self.config.path}") from None
        session = self.sessions.get(account_id)
        known = session.credentials.unb if session else None
        manager = self.manager
        taken = self.credentials.paste(account, cookie, known, stop=lambda: manager.stop(account_id))
        log.info("%s: pasted cookie saved (%d cookies); restarting the account", account_id, taken)
        if account.enabled:
            self.manager.start(account_id)

    def start_login(self, account_id: str) -> LoginRun:
        """A QR login for ``account_id`` (an account of the config, or a new id) on its own thread; the one already
        running for it, if any. Confirmed, it replaces the account's login and restarts only that account; a new
        id is added to accounts.yml (id, alias = the seller's nick, enabled) and started by the reload."""
        problem = name_problem(account_id, "an account id")
        if problem:
            raise LoginFailed(problem)
        running = self._logins.get(account_id)
        if running is not None and not running.progress().finished:
            return running
        known = self.config.find(account_id)
        client = passport_for(self.platform.endpoints, known or AccountConfig(id=account_id))
        phone = self.platform.phone
        run = LoginRun(account_id, client, lambda jar: self._logged_in(account_id, jar),
                       shown=lambda code: phone(account_id, code.t))
        self._logins[account_id] = run
        return run.start()

    def login_progress(self, account_id: str) -> LoginProgress | None:
        run = self._logins.get(account_id)
        return run.progress() if run is not None else None

    def cancel_login(self, account_id: str) -> None:
        run = self._logins.get(account_id)
        if run is not None:
            run.cancel()

    def _logged_in(self, account_id: str, jar: CookieJar) -> str:
        """A login's thread: store the confirmed login and (re)start the account on it; the line the screen ends
        on."""
        assert self.manager is not None and self.credentials is not None
        known = self.config.find(account_id)
        nick = login_nick(jar)
        who = f"logged in as {inert(nick) or '?'} (unb {mask(jar.unb)})"
        if known is None:
            self.credentials.store_login(AccountConfig(id=account_id), jar)
            add_account(self.config.path, account_id, nick or account_id)
            self.reload()  # starts it
            log.info("%s: %s; added to %s", account_id, who, self.config.path)
            return f"{who}; added to {self.config.path.name}"
        self.credentials.check_login(known, jar)  # another seller's scan: refused before anything stops
        self.manager.stop(account_id)  # its session must not write the old jar over the new one
        try:
            self.credentials.store_login(known, jar)
        finally:  # the token call failed: it starts on the new jar and fetches its token itself
            if known.enabled:
                self.manager.start(account_id)
        log.info("%s: %s; the account restarts on it", account_id, who)
        return who

    def _adopt_outside_cookies(self) -> None:
        """``xianyu.py verify`` and ``xianyu.py login`` (other processes) save an account's cookies in the
        database: an account parked by risk control or waiting for a login whose stored jar changed restarts on
        it. Only parked accounts are read (a running one persists its own jar)."""
        assert self.manager is not None and self.credentials is not None
        status = self.slider.status()
        for session in self.sessions.all():
            account_id = session.account_id
            if (session.state not in PARKED or account_id in status.busy or account_id in status.queued):
                continue
            if self.credentials.changed_outside(account_id, session.credentials.jar.to_header()):
                log.info("%s: cookies saved from outside the service; restarting the account", account_id)
                self.manager.restart(account_id)

    def cleanup(self) -> dict[str, int]:
        assert self.store is not None
        retention_ms = int(self.config.settings.retention_days * 86_400_000)
        return self.store.cleanup(now_ms(), retention_ms)

    def send_by_hand(self, account_id: str, cid: str, to_id: str, text: str, rule: str = MANUAL_RULE,
                     pause: bool = True) -> bool:
        """Send a reply from the dashboard (typed, or an approved AI suggestion); True once the server took it.
        Blocks for the send and its retries; `pause`: the chat then pauses like a takeover."""
        assert self.replies is not None
        session = self.sessions.get(account_id)
        if session is None:
            return False
        done, result = threading.Event(), [False]

        def finished(sent: bool) -> None:
            result[0] = sent
            done.set()

        self.replies.send_manual(session, cid, to_id, text, finished, rule=rule, pause=pause)
        done.wait(MANUAL_SEND_WAIT)
        return result[0]

    def _paused(self, account_id: str, cid: str) -> bool:
        return self.replies is not None and self.replies.takeover.pauses.paused(account_id, cid)

    def _account_rules(self, account_id: str) -> AccountRules | None:
        return self._rules.get(account_id)

    def _delivery_rules(self, account_id: str) -> tuple[DeliveryRule, ...] | None:
        rules = self._account_rules(account_id)
        return rules.config.delivery if rules is not None else None

    def _persist_sync(self) -> None:
        """Write each session's sync position and state — only those that moved since the last run, so a
        thousand idle accounts cost nothing here."""
        assert self.manager is not None and self.store is not None
        moved = []
        for session in self.sessions.all():
            current = (session.sync_pts, session.state, session.since_ms, session.last_error)
            if self._persisted.get(session.account_id) != current:
                moved.append((session.account_id, current))
        self.store.accounts.save_progress([{"account_id": account_id, "sync_pts": pts, "state": state,
                                            "state_since_ms": since, "last_error": error or None}
                                           for account_id, (pts, state, since, error) in moved], now_ms())
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
        self._refresh_rules(new)
        assert self.manager is not None
        self.manager.apply_config(new)

    def _refresh_rules(self, config: Config) -> None:
        # Replaced whole, never edited: readers on other threads see the old table or the new one.
        extra = (self.assistant.kind(),) if self.assistant is not None else ()
        self._rules = {a.id: AccountRules(a, build_chain(a, extra)) for a in config.accounts}

    def _reload_failed(self, error: ConfigError) -> None:
        self.bus.emit(ev.ConfigInvalid("*", errors=tuple(str(issue) for issue in error.errors)))


OpenedDatabase = tuple[InstanceLock, Store]


def renewal_policy(settings: Settings) -> RenewalPolicy:
    return RenewalPolicy(every_seconds=settings.login_renewal_hours * 3600, renew_before_days=settings.login_renew_days,
                         warn_before_days=settings.login_warn_days)


def open_database(url: str, config_dir: Path, *, fresh: bool = False) -> OpenedDatabase:
    """The database's instance lock and the opened store, once one small write went through; ``fresh`` (the
    demo's own SQLite file) deletes what an earlier run left there first, once the lock is ours. ``config_dir``
    (accounts.yml's folder) holds a PostgreSQL database's key file.

    Raises DatabaseInUse (another ``xianyu.py`` holds the database), DatabaseUnavailable (it cannot be reached
    or written now: xianyu.py waits for it before it starts the service) or StorageError (it never will)."""
    lock = claim(url, now_ms())
    try:
        if fresh:
            discard_sqlite(url)
            log.info("demo database %s started afresh (the demo marketplace forgot the last run)",
                     shown_database(url))
        store = Store(url, config_dir)
        try:
            store.check_writable(now_ms())
        except BaseException:
            store.close()
            raise
    except BaseException:
        lock.release()
        raise
    return lock, store
