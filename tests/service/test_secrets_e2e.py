"""Secrets at rest, end to end (issue 13 §3): after a session of real traffic — a `python xianyu.py --no-tui`
child against the simulator, then the dashboard on the same database — no cookie value, token or proxy password
the test used appears in the database files, the service's log, the test's own output or the dashboard's screens.

One account goes through a proxy that wants a password (tests/service/proxy.py), so the password is really used
(the proxy counts the requests it let through) and is really looked for. Assertions name what leaked, never the
value (support.leaked).
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import sqlite3
from pathlib import Path

import pytest

from sim.server import Simulator
from storage import Store
from tests.service.child import Child
from tests.service.conftest import BUYER, BUYER2, Env
from tests.service.proxy import PasswordProxy
from tests.service.support import cookie_secrets, leaked, wait_until
from tests.tui.pilot import dashboard, detach_log, until
from tui.screens.detail import DetailScreen

RULES = {"keywords": [{"match": "包邮", "reply": "包邮的，拍下就发"}], "default_reply": "在的"}
SCREENS = ("1", "2", "3", "4", "5")


def issued_tokens(sim: Simulator) -> dict[str, str]:
    """Every mtop token and IM access / refresh token the simulator issued, by a name that says which."""
    with sim.state.transaction() as world:
        h5 = list(world.credentials._h5.values())
        access = list(world.credentials._access.values())
    tokens = {f"_m_h5_tk#{n}": t.token for n, t in enumerate(h5)}
    tokens |= {f"accessToken#{n}": t.value for n, t in enumerate(access)}
    tokens |= {f"refreshToken#{n}": t.refresh for n, t in enumerate(access)}
    return tokens


def database_files(db: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
            if path.exists()}


def screen_text(svg: str) -> str:
    """An SVG screenshot's text: tags dropped, entities decoded, so a value split over styled spans joins up."""
    return html.unescape(re.sub(r"<[^>]+>", "", svg))


def talk(env: Env, account_id: str, *texts: str) -> None:
    unb = env.unb(account_id)
    before = len(env.ctl.sent(unb))
    for buyer, text in zip((BUYER, BUYER2) * len(texts), texts, strict=False):
        env.ctl.message(unb, buyer, text)
    wait_until(lambda: len(env.ctl.sent(unb)) >= before + len(texts), 10,
               lambda: f"{account_id}: {len(env.ctl.sent(unb)) - before} of {len(texts)} answered")


def test_no_cookie_token_or_proxy_password_in_the_database_logs_output_or_screens(
        env: Env, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    password = "pw-" + secrets.token_hex(8)
    proxy = PasswordProxy("seller", password)
    try:
        env.write([env.seller("shop-a", **RULES), env.seller("shop-b", proxy=proxy.url, **RULES)])
        child = Child(env.config)
        try:
            wait_until(lambda: env.ctl.online(env.unb("shop-a")) and env.ctl.online(env.unb("shop-b")), 15,
                       lambda: f"not online:\n{child.log()}")
            talk(env, "shop-a", "包邮吗", "你好", "还在吗")
            talk(env, "shop-b", "包邮吗", "在吗")
        finally:
            child.end()
        assert child.exit_code(20) == 0, child.log()
        assert proxy.authorised >= 2, "shop-b's mtop and IM traffic did not go through the password proxy"

        screens = show_dashboard(env)
    finally:
        proxy.close()

    db = env.dir / "x.db"
    with Store(f"sqlite:///{db}") as store:  # still usable: the rows open to the cookies the sim issued
        jars = {a.account_id: a.cookie_jar for a in store.accounts.all()}
        assert {a.account_id: bool(a.access_token) for a in store.accounts.all()} == {"shop-a": True, "shop-b": True}
    assert [f"unb={env.unb(name)}" in jars[name] for name in ("shop-a", "shop-b")] == [True, True]
    with sqlite3.connect(db) as raw:
        stored = raw.execute("SELECT cookie_jar, access_token FROM account_state").fetchall()
    # Counted, not shown: a failing assertion prints its operands.
    assert (len(stored), sum(not value.startswith("fernet:") for row in stored for value in row)) == (2, 0)

    used = {"proxy password": password} | issued_tokens(env.sim)
    for name in ("shop-a", "shop-b"):
        used |= cookie_secrets(env.cookies[name], f"{name} configured cookie")
        used |= cookie_secrets(jars[name], f"{name} final jar")
    assert {"shop-a final jar._m_h5_tk", "shop-a final jar.cookie2", "shop-a final jar.sgcookie"} <= used.keys()
    assert any(name.startswith("accessToken#") for name in used)
    output = capfd.readouterr()
    places: dict[str, str | bytes] = {**database_files(db), "service log": "\n".join(child.lines),
                                      "test stdout": output.out, "test stderr": output.err,
                                      "test log records": caplog.text, **screens}
    assert leaked(used, places) == []


def show_dashboard(env: Env) -> dict[str, str]:
    """The dashboard on a service over the same database, after a little more traffic: every screen and the
    account detail, as SVG screenshots and as their text."""
    run = env.launch()
    env.wait_online(run, timeout=15)
    talk(env, "shop-a", "包邮吗")
    app = dashboard(run.svc, with_log=True)
    shots: dict[str, str] = {}

    async def drive() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            for key in SCREENS:
                await pilot.press(key)
                await pilot.pause(0.3)
                shots[f"screen {key}"] = app.export_screenshot()
            await pilot.press("1", "d")
            await until(lambda: isinstance(app.screen, DetailScreen))
            await pilot.pause(0.3)
            shots["account detail"] = app.export_screenshot()

    try:
        asyncio.run(drive())
    finally:
        detach_log(app)
        run.stop()
    assert "shop-a" in screen_text(shots["screen 1"]) and "proxy" in screen_text(shots["account detail"])
    return {f"{name} (svg)": svg for name, svg in shots.items()} | {
        f"{name} (text)": screen_text(svg) for name, svg in shots.items()}
