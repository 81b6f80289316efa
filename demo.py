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
import time

import requests

from core.config import AccountConfig, Config
from core.goofish.endpoints import Endpoints
from core.platform import Platform, configured_platform

log = logging.getLogger(__name__)

LOGIN_TIMEOUT = 5.0
PHONE_PAUSE = 2.0  # seconds the demo phone takes to scan a code, and then to confirm it
# The demo's model (sim/llm.py): a scripted stand-in, so the AI rule and the bargaining checks can be seen with no
# key and no network. It gives in to every haggle ("好的，就按…元给你"): what the buyer sees is what the program
# decided instead.
DEMO_MODEL_LATENCY_MS = 600
DEMO_MODEL_RULES = [{"when": word, "obey": True} for word in ("便宜", "少", "最低", "贵", "优惠")]
DEMO_MODEL_DEFAULT = "好的亲，这个宝贝还在的，有什么想了解的尽管问～"


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


class DemoPhone:
    """The seller's phone, played by the demo marketplace: each login code shown is scanned, then confirmed, a
    couple of seconds apart (as a hand would), by the account's demo user. A new seller can try the QR login
    (``xianyu.py login shop-b``, ``a`` on the dashboard) with no phone and no account."""

    def __init__(self, control_url: str, pause: float = PHONE_PAUSE) -> None:
        self._control = control_url
        self._pause = pause

    def __call__(self, account_id: str, code: str) -> None:
        threading.Thread(target=self._scan, args=(account_id, code), name=f"demo-phone-{account_id}",
                         daemon=True).start()

    def _scan(self, account_id: str, code: str) -> None:
        try:
            for action in ("scan", "confirm"):
                time.sleep(self._pause)
                requests.post(f"{self._control}/qr", timeout=LOGIN_TIMEOUT, json={
                    "t": code, "action": action, "unb": demo_unb(account_id), "nick": account_id}).raise_for_status()
        except requests.RequestException as exc:  # the marketplace stopped meanwhile: the login times out by itself
            log.info("demo phone: %s", type(exc).__name__)


def open_platform(config: Config) -> Platform:
    """The platform ``config.server`` names; for ``server: demo`` the simulator, started now."""
    if config.server.mode != "demo":
        return configured_platform(config.server)
    from sim.llm import FakeModel
    from sim.server import start

    sim = start(demo_buyers=True)
    model = FakeModel(latency_ms=DEMO_MODEL_LATENCY_MS).start()
    model.script(rules=DEMO_MODEL_RULES, default={"content": DEMO_MODEL_DEFAULT})
    urls = sim.urls
    log.info("demo marketplace running at %s (simulated buyers; a scripted model answers for the AI rule)",
             urls["api"])

    def close() -> None:
        sim.stop()
        model.close()

    return Platform(Endpoints(urls["ws"], urls["api"], urls["passport"], urls.get("ca")),
                    cookie_for=DemoLogins(urls["control"]), label="demo marketplace", close=close,
                    phone=DemoPhone(urls["control"]), scratch=True, model_url=model.base_url)
