"""``python xianyu.py``: load the config, start the service, run until asked to stop.

A config error prints ``FILE:LINE: key.path: message`` lines and exits 2 with nothing started.
Headless (``--no-tui``) logs one line per event; SIGINT/SIGTERM stop everything within 5 s.
With a front end (the dashboard, which the CLI passes in: core never imports textual) the same log lines
go to ``log_handler`` instead of stderr, and the service stops the same way when the front end returns.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable

from core.config import load_config
from core.errors import ConfigError
from core.logsink import LogSink, setup_logging
from core.service import Service

log = logging.getLogger("xianyu")

EXIT_OK = 0
EXIT_CONFIG = 2


Frontend = Callable[[Service], int]


def run(config_path: str, db_url: str | None = None, headless: bool = True, log_level: str | None = None,
        frontend: Frontend | None = None, log_handler: logging.Handler | None = None) -> int:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    level = log_level or config.settings.log_level
    setup_logging(level)
    if headless or frontend is None:
        return run_headless(config, db_url)
    if not sys.stdout.isatty():
        log.warning("standard output is not a terminal: running headless (--no-tui)")
        return run_headless(config, db_url)
    return run_frontend(config, db_url, frontend, log_handler, level)


def run_frontend(config, db_url: str | None, frontend: Frontend, log_handler: logging.Handler | None,
                 level: str) -> int:
    """The service under a full-screen front end: nothing may write to the terminal while it runs."""
    root = logging.getLogger()
    root.handlers[:] = [log_handler] if log_handler is not None else [logging.NullHandler()]
    service = Service(config, db_url)
    service.bus.add(LogSink())  # the Log screen shows exactly the headless lines
    try:
        service.start()
        log.info("%d account(s) configured; %s", len(config.accounts),
                 "demo marketplace" if service.sim is not None else f"server {config.server.mode}")
        code = frontend(service)
    finally:
        setup_logging(level)  # the terminal is ours again: shutdown lines go to stderr
        log.info("stopping…")
        service.stop()
    log.info("stopped cleanly")
    return code


def run_headless(config, db_url: str | None) -> int:
    service = Service(config, db_url)
    service.bus.add(LogSink())
    stop = threading.Event()

    def on_signal(signum: int, _frame) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        service.start()
        log.info("%d account(s) configured; %s; press Ctrl+C to stop", len(config.accounts),
                 "demo marketplace" if service.sim is not None else f"server {config.server.mode}")
        stop.wait()
    finally:
        service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("stopped cleanly")
    return EXIT_OK
