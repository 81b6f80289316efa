"""The dashboard's QR login (issue 13 §1): "add account" and "log in again" on a real Service against the
simulator's passport, at the seller's 80×24, the phone played by ``/_sim/qr``.

The screen shows the code and each status the passport reports, closes by itself on success, and the account is
online and answering; escape stops the login, and a phone check's page is shown, not looped on.
"""

from __future__ import annotations

import asyncio
import re

import yaml

from core import events as ev
from tests.service.conftest import BUYER, Env
from tests.service.support import wait_until
from tests.tui.pilot import cell, dashboard, notification_hook, rows, select_row, text_of, until
from tui.screens.common import TextScreen
from tui.screens.login import LoginScreen

SIZE = (80, 24)
NEW_UNB = "2200000000777"
NICK = "小李的店"
REPLY = "收到：{text}"


def _codes(env: Env) -> list[dict]:
    return env.ctl.qr_codes()


async def _newest_code(env: Env, before: int) -> str:
    await until(lambda: len(_codes(env)) > before, what="a code generated through the passport")
    return _codes(env)[-1]["t"]


async def _log_in_again(app, pilot, env: Env, account_id: str) -> str:
    """``l`` on the account's row; the code it put on screen."""
    before = len(_codes(env))
    select_row(app, "accounts", account_id)
    await pilot.press("l")
    return await _newest_code(env, before)


async def _scan_and_confirm(env: Env, t: str, unb: str) -> None:
    env.ctl.qr(t, "scan")
    env.ctl.qr(t, "confirm", unb=unb, nick=NICK)


def _status(app) -> str:
    return text_of(app, "#login-status")


def test_add_account_shows_the_code_and_its_status_and_closes_by_itself_once_confirmed(env: Env) -> None:
    run = env.start([env.seller("shop-a")])
    app = dashboard(run.svc)
    notes, hook = notification_hook()

    async def drive() -> None:
        async with app.run_test(size=SIZE, message_hook=hook) as pilot:
            await until(lambda: cell(app, "accounts", "shop-a", "state") == "online")
            before = len(_codes(env))
            await pilot.press("a")
            await until(lambda: isinstance(app.screen, TextScreen))
            await pilot.press(*"shop-b", "enter")
            await until(lambda: isinstance(app.screen, LoginScreen), what="the QR screen")
            t = await _newest_code(env, before)
            await until(lambda: "waiting for the scan" in _status(app))
            code = text_of(app, "#login-code")
            assert {"▀", "▄", "█"} & set(code) and len(code.strip().splitlines()) <= 23, "a half-block code"

            env.ctl.qr(t, "scan")
            await until(lambda: "scanned" in _status(app), what="SCANED on screen")
            env.ctl.qr(t, "confirm", unb=NEW_UNB, nick=NICK)
            await until(lambda: not isinstance(app.screen, LoginScreen), timeout=15, what="the screen closes")
            await until(lambda: "shop-b" in rows(app, "accounts"), timeout=15)
            await until(lambda: cell(app, "accounts", "shop-b", "state") == "online", timeout=15)
            assert any(n.startswith("shop-b: logged in") and NICK in n for n in notes), notes

            # The entry the login wrote is the seller's to edit: a reply, then ctrl+r, and shop-b answers.
            text = env.config.read_text(encoding="utf-8")
            entry = yaml.safe_load(text)["accounts"][-1]
            assert entry == {"id": "shop-b", "alias": NICK, "enabled": True}
            edited = re.sub(r'(?m)^( *)alias: "(.*)"$', rf'\1alias: "\2"\n\1default_reply: "{REPLY}"', text)
            env.config.write_text(edited, encoding="utf-8")
            await pilot.press("ctrl+r")
            await until(lambda: any("reloaded" in n for n in notes), what="the reload")
            cid = env.ctl.message(NEW_UNB, BUYER, "在吗")["cid"]
            await until(lambda: [m["text"] for m in env.ctl.sent_in(NEW_UNB, cid)] == ["收到：在吗"], timeout=15)

    asyncio.run(drive())
    assert env.ctl.online(env.unb("shop-a")), "shop-a kept running throughout"


def test_log_in_again_brings_a_parked_account_back_and_only_it_restarts(make_env) -> None:
    env: Env = make_env(token_ttl=60)  # every reconnect calls the token API: the dead login shows there
    run = env.start([env.seller("shop-a", default_reply=REPLY), env.seller("shop-b")])
    unb = env.unb("shop-a")
    env.ctl.fault(unb, "session_expired", 1)  # the token call; then hasLogin and the silent login say no:
    env.ctl.fault(unb, "renewal_fail", 2)     # the login is dead
    env.ctl.fault(unb, "disconnect", 1)
    wait_until(lambda: run.state("shop-a") == ev.AccountState.LOGIN_REQUIRED, 20)
    shop_b_online = len(run.events.of(ev.StateChanged, "shop-b", state=ev.AccountState.ONLINE))
    app = dashboard(run.svc)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: cell(app, "accounts", "shop-a", "state") == "login required")
            await _scan_and_confirm(env, await _log_in_again(app, pilot, env, "shop-a"), unb)
            await until(lambda: isinstance(app.screen, LoginScreen))
            await until(lambda: not isinstance(app.screen, LoginScreen), timeout=15)
            await until(lambda: cell(app, "accounts", "shop-a", "state") == "online", timeout=20)

    asyncio.run(drive())
    cid = env.ctl.message(unb, BUYER, "还有吗")["cid"]
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(unb, cid)] == ["收到：还有吗"], 15)
    assert len(run.events.of(ev.StateChanged, "shop-b", state=ev.AccountState.ONLINE)) == shop_b_online


def test_another_sellers_scan_is_refused_and_the_screen_says_why(env: Env) -> None:
    run = env.start([env.seller("shop-a")])
    app = dashboard(run.svc)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: cell(app, "accounts", "shop-a", "state") == "online")
            await _scan_and_confirm(env, await _log_in_again(app, pilot, env, "shop-a"), NEW_UNB)
            await until(lambda: "another account" in _status(app), timeout=15)
            assert isinstance(app.screen, LoginScreen), "a failed login stays on screen until closed"
            await pilot.press("escape")
            await until(lambda: not isinstance(app.screen, LoginScreen))

    asyncio.run(drive())
    assert run.state("shop-a") == ev.AccountState.ONLINE, "the running login was left alone"


def test_from_the_palette_a_phone_check_is_shown_once_and_escape_stops_the_login(env: Env) -> None:
    run = env.start([env.seller("shop-a")])
    app = dashboard(run.svc)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: cell(app, "accounts", "shop-a", "state") == "online")
            before = len(_codes(env))
            select_row(app, "accounts", "shop-a")
            await pilot.press("ctrl+p")  # the command palette lists it (the footer has no room at 80 columns)
            await pilot.pause()
            await pilot.press(*"Log in again")
            await pilot.pause(0.3)
            await pilot.press("enter")
            t = await _newest_code(env, before)
            env.ctl.qr(t, "phone_check")
            env.ctl.qr(t, "scan")
            env.ctl.qr(t, "confirm", unb=env.unb("shop-a"), nick="店铺shop-a")
            await until(lambda: "Phone check" in text_of(app, "#login-check"), timeout=15)
            assert "http" in text_of(app, "#login-check")
            await pilot.pause(2.5)
            assert len(_codes(env)) == before + 1, "no new code while the phone check is pending"
            await pilot.press("escape")
            await until(lambda: not isinstance(app.screen, LoginScreen))
            await until(lambda: run.svc.login_progress("shop-a").finished, what="the login stopped")

    asyncio.run(drive())
    assert "stopped" in run.svc.login_progress("shop-a").message
