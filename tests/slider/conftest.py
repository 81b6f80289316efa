"""Fixtures for the slider tests: the service fixtures (a simulator, accounts.yml, Services), a punish URL
straight from the simulator, and a guard that fails any test leaving a browser or a profile behind."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import psutil
import pytest
import requests

from core.goofish.cookies import CookieJar
from core.goofish.endpoints import DEFAULT_UA, Endpoints
from core.goofish.errors import RiskControl
from core.goofish.mtop import MtopClient
from core.verification.browser import browsers_of, leftover_profiles
from core.verification.trajectory import drag_path
from sim.slider import DISTANCE
from tests.service.conftest import Env, env, short_token_env, tls_env  # noqa: F401 - fixtures used by these tests
from tests.service.support import wait_until

UNB = "2200000000777"
RULES = {"default_reply": "收到：{text}"}
SOLVE_SECONDS = 40  # a launch and a few drags, with headroom for a busy CI machine


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


def manual_x5sec(world: Env, url: str) -> str:
    """What a seller does by hand: drag the slider in a browser that sends the account's UA."""
    rng, t, points = random.Random(3), 0.0, [{"x": 0.0, "y": 0.0, "t": 0.0}]
    for step in drag_path(DISTANCE, rng):
        t += step.pause_ms
        points.append({"x": min(step.x, DISTANCE), "y": step.y, "t": round(t)})
    answer = requests.post(f"{world.sim.urls['api']}/_____tmd_____/slide", timeout=5,
                           headers={"User-Agent": DEFAULT_UA},
                           json={"x5secdata": parse_qs(urlsplit(url).query)["x5secdata"][0], "trajectory": points})
    assert answer.status_code == 200, answer.text
    return answer.cookies["x5sec"]

