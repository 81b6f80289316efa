"""The Verification screen on a real Service: risk control from the simulator, the real slider pool with
headless Chromium (a page that always rejects, so the account lands on the manual path), then the
seller's manual path from the dashboard: copy the punish URL, paste a bad cookie (refused, masked), paste
a good one (the account comes back)."""

from __future__ import annotations

import asyncio

from core import events as ev
from tests.service.conftest import Env
from tests.slider.conftest import RULES, SOLVE_SECONDS, manual_x5sec, no_browser_left  # noqa: F401 - fixture
from tests.tui.pilot import cell, dashboard, notification_hook, rows, select_row, text_of, until
from tests.tui.test_pilot import spy
from tui.format import clip
from tui.screens.common import TextScreen
from tui.screens.verification import VerificationScreen


def test_manual_verification_from_the_dashboard(env: Env) -> None:
    a = env.seller("shop-a", **RULES)
    ua = env.unb("shop-a")
    env.ctl.fault(ua, "risk_control", 1)
    env.ctl.fault(ua, "slider_reject", -1)
    run = env.start([a, env.seller("shop-b")], online=False, settings={"slider_tries": 1})
    set_cookie = spy(run.svc, "set_cookie")
    notes, hook = notification_hook()
    app = dashboard(run.svc)

    async def drive() -> None:
        async with app.run_test(size=(160, 40), message_hook=hook) as pilot:
            await pilot.press("3")
            await until(lambda: isinstance(app.screen, VerificationScreen))
            await until(lambda: rows(app, "waiting") == ["shop-a"], SOLVE_SECONDS)
            await until(lambda: cell(app, "outcomes", rows(app, "outcomes")[0], "result") == "failed"
                        if rows(app, "outcomes") else False, SOLVE_SECONDS)
            await until(lambda: cell(app, "waiting", "shop-a", "phase").startswith("failed"))
            assert cell(app, "waiting", "shop-a", "slot") == "manual"
            assert "0/2 busy" in text_of(app, "#slots")
            url = run.svc.pending_verification("shop-a")
            assert url and cell(app, "waiting", "shop-a", "url") == clip(url, 60)

            select_row(app, "waiting", "shop-a")
            await pilot.press("c")
            await until(lambda: any(url in n for n in notes))
            assert app.clipboard == url

            fresh = env.ctl.account(ua, "店铺shop-a")  # the seller logs in again in a browser …
            await pilot.press("k")
            await until(lambda: isinstance(app.screen, TextScreen))
            await pilot.press(*"cna=abc; t=123", "enter")
            await until(lambda: any("cookie not accepted" in n for n in notes))
            assert all("abc" not in n for n in notes)  # the pasted value is never echoed
            assert run.state("shop-a") == ev.AccountState.NEEDS_VERIFICATION

            env.ctl.fault(ua, "slider_reject", 0)
            x5sec = manual_x5sec(env, url)  # … solves the slider there, and pastes the cookie
            await pilot.press("k")
            await until(lambda: isinstance(app.screen, TextScreen))
            app.screen.query_one("#text").value = f"{fresh}; x5sec={x5sec}"  # a paste is one insert
            await pilot.press("enter")
            await until(lambda: len(set_cookie) == 2 and set_cookie[-1][0] == "shop-a")
            await until(lambda: run.state("shop-a") == ev.AccountState.ONLINE, 15)
            await until(lambda: rows(app, "waiting") == [])
            assert fresh[-12:] not in "\n".join(notes)

    asyncio.run(drive())
