"""``python xianyu.py``: load the config, start the service, run until asked to stop.

A config error prints ``FILE:LINE: key.path: message`` lines and exits 2 with nothing started.
Headless (``--no-tui``) logs one line per event; SIGINT/SIGTERM stop everything within 5 s.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from core.config import load_config
from core.errors import ConfigError
from core.logsink import LogSink, setup_logging
from core.service import Service

log = logging.getLogger("xianyu")

EXIT_OK = 0
EXIT_CONFIG = 2


def run(config_path: str, db_url: str | None = None, headless: bool = True,
        log_level: str | None = None) -> int:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(log_level or config.settings.log_level)
    # The Textual dashboard is not built yet (README: "Status"); until it is, both modes are headless.
    return run_headless(config, db_url)


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
