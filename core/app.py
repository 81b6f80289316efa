"""``python xianyu.py``: load the config, start the service, run until asked to stop.

A config error prints ``FILE:LINE: key.path: message`` lines and exits 2 with nothing started.
Where the accounts live comes from the ``open_platform`` the caller passes: xianyu.py passes
``demo.open_platform``, which also starts the demo marketplace; core alone opens only a live or custom server.
Headless (``--no-tui``) logs one line per event; SIGINT/SIGTERM stop everything within 5 s.
With a front end (the dashboard, which the CLI passes in: core never imports textual) the same log lines
go to ``log_handler`` instead of stderr, and the service stops the same way when the front end returns.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from core.backoff import Backoff
from core.config import Config, load_config
from core.errors import ConfigError, PlatformError
from core.logsink import LogSink, setup_logging
from core.platform import Platform, configured_platform
from core.service import OpenedDatabase, Service, open_database
from storage import DEMO_DB_URL, DatabaseInUse, DatabaseUnavailable, StorageError, shown_database

log = logging.getLogger("xianyu")

EXIT_OK = 0
EXIT_CONFIG = 2
DATABASE_WAIT_SECONDS = 60.0  # how long start-up waits for a database that cannot be reached or written


Frontend = Callable[[Service], int]
PlatformOpener = Callable[[Config], Platform]


def configured(config: Config) -> Platform:
    """The opener core has: a live or custom server (``server: demo`` raises PlatformError)."""
    return configured_platform(config.server)


def run(config_path: str, db_url: str | None = None, headless: bool = True, log_level: str | None = None,
        frontend: Frontend | None = None, log_handler: logging.Handler | None = None,
        open_platform: PlatformOpener = configured, database_patience: float | None = None) -> int:
    """Run until stopped; the exit code. ``database_patience``: how long to wait for a database that cannot be
    reached or written at start (default DATABASE_WAIT_SECONDS)."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    level = log_level or config.settings.log_level
    setup_logging(level)
    try:
        platform = open_platform(config)
    except PlatformError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    url = db_url or config.database
    try:
        # Before any signal handler: Ctrl+C or SIGTERM end the wait at once, with nothing started.
        patience = DATABASE_WAIT_SECONDS if database_patience is None else database_patience
        database = wait_for_database(url, config.path.parent, patience, fresh=platform.scratch and url == DEMO_DB_URL)
    except StorageError as exc:
        platform.close()
        print(refusal(exc), file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        platform.close()
        return EXIT_CONFIG
    if database is None:
        platform.close()
        return EXIT_CONFIG
    service = _service(config, url, platform, database)
    try:
        if headless or frontend is None:
            return run_headless(service)
        if not sys.stdout.isatty():
            log.warning("standard output is not a terminal: running headless (--no-tui)")
            return run_headless(service)
        return run_frontend(service, frontend, log_handler, level)
    except StorageError as exc:  # the database failed the service's first steps: still one line
        print(refusal(exc), file=sys.stderr)
        return EXIT_CONFIG


def wait_for_database(url: str, config_dir: Path, patience: float, *,
                      fresh: bool = False) -> OpenedDatabase | None:
    """The database opened for the service (its instance lock held, one write gone through), or None when it
    stayed unreachable or unwritable (PostgreSQL down, a read-only file, a full disk) for ``patience`` s: one
    line when the wait begins, retries with backoff, one line at the end. Another service on it raises
    DatabaseInUse at once; a database that never will work raises StorageError."""
    deadline = time.monotonic() + patience
    backoff = Backoff(1.0, 10.0)
    attempt = 0
    while True:
        try:
            database = open_database(url, config_dir, fresh=fresh)
        except DatabaseUnavailable as exc:
            attempt += 1
            left = deadline - time.monotonic()
            if left <= 0:
                print(f"xianyu.py: database {shown_database(url)} is still not writable after {patience:g} s: "
                      f"{exc.reason}; not started", file=sys.stderr)
                return None
            if attempt == 1:
                print(f"database {shown_database(url)} is not writable: {exc.reason}; retrying for up to "
                      f"{patience:g} s", file=sys.stderr, flush=True)
            time.sleep(min(backoff.next_delay(attempt), left))
            continue
        if attempt:
            print(f"database {shown_database(url)} is writable now; starting", file=sys.stderr, flush=True)
        return database


def refusal(exc: StorageError) -> str:
    """One line for a storage error that keeps the service from starting."""
    # "another xianyu.py (pid N on HOST) uses data/xianyu.db" is the message as it is.
    return str(exc) if isinstance(exc, DatabaseInUse) else f"xianyu.py: not started: {exc}"


def _service(config: Config, url: str, platform: Platform, database: OpenedDatabase) -> Service:
    """The service on its platform and opened database; both are closed again should it not come about."""
    try:
        service = Service(config, url, platform=platform, database=database)
    except BaseException:
        lock, store = database
        store.close()
        lock.release()
        platform.close()
        raise
    service.bus.add(LogSink())
    return service


def run_frontend(service: Service, frontend: Frontend, log_handler: logging.Handler | None, level: str) -> int:
    """The service under a full-screen front end: nothing may write to the terminal while it runs."""
    root = logging.getLogger()
    root.handlers[:] = [log_handler] if log_handler is not None else [logging.NullHandler()]
    # The service's LogSink: the Log screen shows the headless lines.
    try:
        service.start()
        log.info("%d account(s) configured; %s", len(service.config.accounts), service.platform.label)
        code = frontend(service)
    finally:
        setup_logging(level)  # the terminal is ours again: shutdown lines go to stderr
        log.info("stopping…")
        service.stop()
    log.info("stopped cleanly")
    return code


def run_headless(service: Service) -> int:
    stop = threading.Event()

    def on_signal(signum: int, _frame) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        service.start()
        log.info("%d account(s) configured; %s; press Ctrl+C to stop", len(service.config.accounts),
                 service.platform.label)
        stop.wait()
    finally:
        service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("stopped cleanly")
    return EXIT_OK
