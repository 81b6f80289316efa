"""The demo marketplace (`server: demo`): the built-in simulator with scripted buyers, wired outside core.

`open_platform(config)` is what `xianyu.py` hands the service: for `server: demo` it starts `sim/` in this
process and gives its endpoints, a login per account (the simulator hands out the cookie) and `close`, which
stops the simulator after the service; for a live or custom server it is `core.platform.configured_platform`.
Core only ever sees the `Platform`, so it never knows a simulator exists.
"""

from __future__ import annotations

import hashlib
import logging
import threading

import requests

from core.config import AccountConfig, Config
from core.goofish.endpoints import Endpoints
from core.platform import Platform, configured_platform

log = logging.getLogger(__name__)

LOGIN_TIMEOUT = 5.0


def demo_unb(account_id: str) -> str:
    """A stable, realistic 13-digit user id for a demo account."""
    return str(2_200_000_000_000 + int(hashlib.sha1(account_id.encode()).hexdigest()[:12], 16) % 10**11)


class DemoLogins:
    """Every account (also one a reload adds) logs in to the simulator once; its cookie is kept for the run."""

    def __init__(self, control_url: str) -> None:
        self._control = control_url
        self._lock = threading.Lock()
        self._cookies: dict[str, str] = {}

    def __call__(self, account: AccountConfig) -> str:
        with self._lock:
            cookie = self._cookies.get(account.id)
            if cookie is None:
                answer = requests.post(f"{self._control}/accounts", timeout=LOGIN_TIMEOUT,
                                       json={"unb": demo_unb(account.id), "nick": account.alias or account.id})
                answer.raise_for_status()
                cookie = self._cookies[account.id] = answer.json()["cookie"]
            return cookie


def open_platform(config: Config) -> Platform:
    """The platform ``config.server`` names; for ``server: demo`` the simulator, started now."""
    if config.server.mode != "demo":
        return configured_platform(config.server)
    from sim.server import start

    sim = start(demo_buyers=True)
    urls = sim.urls
    log.info("demo marketplace running at %s (simulated buyers)", urls["api"])
    return Platform(Endpoints(urls["ws"], urls["api"], urls["passport"], urls.get("ca")),
                    cookie_for=DemoLogins(urls["control"]), label="demo marketplace", close=sim.stop,
                    scratch=True)
