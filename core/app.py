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
from collections.abc import Callable

from core.config import Config, load_config
from core.errors import ConfigError, PlatformError
from core.logsink import LogSink, setup_logging
from core.platform import Platform, configured_platform
from core.service import Service

log = logging.getLogger("xianyu")

EXIT_OK = 0
EXIT_CONFIG = 2


Frontend = Callable[[Service], int]
PlatformOpener = Callable[[Config], Platform]


def configured(config: Config) -> Platform:
    """The opener core has: a live or custom server (``server: demo`` raises PlatformError)."""
    return configured_platform(config.server)


def run(config_path: str, db_url: str | None = None, headless: bool = True, log_level: str | None = None,
        frontend: Frontend | None = None, log_handler: logging.Handler | None = None,
        open_platform: PlatformOpener = configured) -> int:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    level = log_level or config.settings.log_level
    setup_logging(level)
    try:
        if headless or frontend is None:
            return run_headless(config, db_url, open_platform)
        if not sys.stdout.isatty():
            log.warning("standard output is not a terminal: running headless (--no-tui)")
            return run_headless(config, db_url, open_platform)
        return run_frontend(config, db_url, frontend, log_handler, level, open_platform)
    except PlatformError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG


def _service(config: Config, db_url: str | None, open_platform: PlatformOpener) -> Service:
    """The service on its platform; the platform is closed again should the service not come about."""
    platform = open_platform(config)
    try:
        service = Service(config, db_url, platform=platform)
    except BaseException:
        platform.close()
        raise
    service.bus.add(LogSink())
    return service


def run_frontend(config: Config, db_url: str | None, frontend: Frontend, log_handler: logging.Handler | None,
                 level: str, open_platform: PlatformOpener = configured) -> int:
    """The service under a full-screen front end: nothing may write to the terminal while it runs."""
    root = logging.getLogger()
    root.handlers[:] = [log_handler] if log_handler is not None else [logging.NullHandler()]
    service = _service(config, db_url, open_platform)  # its LogSink: the Log screen shows the headless lines
    try:
        service.start()
        log.info("%d account(s) configured; %s", len(config.accounts), service.platform.label)
        code = frontend(service)
    finally:
        setup_logging(level)  # the terminal is ours again: shutdown lines go to stderr
        log.info("stopping…")
        service.stop()
    log.info("stopped cleanly")
    return code


def run_headless(config: Config, db_url: str | None, open_platform: PlatformOpener = configured) -> int:
    service = _service(config, db_url, open_platform)
    stop = threading.Event()

    def on_signal(signum: int, _frame) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        service.start()
        log.info("%d account(s) configured; %s; press Ctrl+C to stop", len(config.accounts), service.platform.label)
        stop.wait()
    finally:
        service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("stopped cleanly")
    return EXIT_OK
