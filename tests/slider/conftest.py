"""Fixtures for the slider tests: the service fixtures (a simulator, accounts.yml, Services), a punish URL
straight from the simulator, and a guard that fails any test leaving a browser or a profile behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from core.browser import browsers_of, leftover_profiles
from core.goofish.cookies import CookieJar
from core.goofish.endpoints import DEFAULT_UA, Endpoints
from core.goofish.errors import RiskControl
from core.goofish.mtop import MtopClient
from tests.service.conftest import Env, env, short_token_env  # noqa: F401 - fixtures used by these tests
from tests.service.support import wait_until

UNB = "2200000000777"


@pytest.fixture(autouse=True)
def no_browser_left() -> Iterator[None]:
    """Every slider test must end with no Chromium of this process alive, none unreaped, no profile left."""
    yield
    me = os.getpid()
    wait_until(lambda: not browsers_of(me) and not leftover_profiles(me), 10,
               lambda: f"left behind: {browsers_of(me)} {leftover_profiles(me)}")
    zombies = [c for c in psutil.Process(me).children() if c.status() == psutil.STATUS_ZOMBIE]
    assert not zombies, f"unreaped browsers: {zombies}"


def punish_url(world: Env, unb: str = UNB, user_agent: str = DEFAULT_UA) -> tuple[str, CookieJar]:
    """Risk-flag a fresh seller and make one token call, as a session would; returns its punish URL and jar."""
    jar = CookieJar.parse(world.ctl.account(unb, "风控店"))
    world.ctl.fault(unb, "risk_control", 1)
    urls = world.sim.urls
    client = MtopClient(jar, Endpoints(urls["ws"], urls["api"], urls["passport"], urls.get("ca")),
                        user_agent=user_agent, timeout=5)
    with pytest.raises(RiskControl) as caught:
        client.login_token("device-1")
    assert caught.value.url
    return caught.value.url, jar


def token_with(world: Env, jar: CookieJar, user_agent: str = DEFAULT_UA) -> str:
    urls = world.sim.urls
    client = MtopClient(jar, Endpoints(urls["ws"], urls["api"], urls["passport"], urls.get("ca")),
                        user_agent=user_agent, timeout=5)
    return client.login_token("device-1").access_token


def profile_dirs() -> list[Path]:
    return leftover_profiles(os.getpid())
