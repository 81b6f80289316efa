"""Pilot tests: keys pressed in the dashboard, on a real Service against the simulator over real sockets.

Each test checks both sides: the manager (or service) was called, with a spy that still calls through,
and the screen changed accordingly.
"""

from __future__ import annotations

import asyncio
from typing import Any

from core import events as ev
from core.clock import now_ms
from tests.service.conftest import BUYER, BUYER2, Env
from tests.service.support import wait_until
from tests.tui.pilot import cell, dashboard, detach_log, notification_hook, rows, select_row, text_of, until
from tui.model import conversation_key
from tui.screens.chat import ChatScreen
from tui.screens.common import ConfirmScreen, TextScreen
from tui.screens.detail import DetailScreen

SIZE = (140, 40)


def spy(target: Any, name: str) -> list[tuple]:
    """Record calls to ``target.name`` and still make them."""
    calls: list[tuple] = []
    real = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)
    setattr(target, name, wrapper)
    return calls


def test_start_stop_restart_from_the_accounts_table(env: Env) -> None:
    run = env.start([env.seller("shop-a", alias="数码小铺"), env.seller("shop-b", alias="卡券专营")])
    manager = run.svc.manager
    stops, starts, restarts = spy(manager, "stop"), spy(manager, "start"), spy(manager, "restart")
    app = dashboard(run.svc)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: rows(app, "accounts") == ["shop-a", "shop-b"])
            await until(lambda: cell(app, "accounts", "shop-a", "state") == "online")
            assert cell(app, "accounts", "shop-a", "name") == "数码小铺"
            assert "online 2" in app.header_summary()

            select_row(app, "accounts", "shop-b")
            await pilot.press("x")
            await until(lambda: stops == [("shop-b",)], what="manager.stop called")
            await until(lambda: cell(app, "accounts", "shop-b", "state") == "stopped")
            assert not env.ctl.online(env.unb("shop-b"))
            assert app.header_summary() == "online 1 · stopped 1"

            await pilot.press("s")
            await until(lambda: ("shop-b",) in starts, what="manager.start called")
            await until(lambda: cell(app, "accounts", "shop-b", "state") == "online")

            onlines = len(run.events.of(ev.StateChanged, "shop-b", state=ev.AccountState.ONLINE))
            await pilot.press("r")
            await until(lambda: restarts == [("shop-b",)], what="manager.restart called")
            await until(lambda: len(run.events.of(ev.StateChanged, "shop-b", state=ev.AccountState.ONLINE)) > onlines)
            await until(lambda: cell(app, "accounts", "shop-b", "state") == "online")
            assert rows(app, "accounts") == ["shop-a", "shop-b"]  # stable keys and order throughout

    asyncio.run(drive())


def test_inbox_filters_open_a_chat_and_reply_by_hand(env: Env) -> None:
    account = env.seller("shop-a", keywords=[{"match": "包邮", "reply": "包邮的，拍下就发"}], takeover_minutes=5)
    run = env.start([account])
    unb = env.unb("shop-a")
    app = dashboard(run.svc)
    sends, pauses = spy(app.backend.control, "send_manual"), spy(run.svc.replies.takeover, "pause")
    resumes = spy(run.svc.replies.takeover, "resume")

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            answered = env.ctl.message(unb, BUYER, "包邮吗", buyer_nick="爱吃草莓的熊")["cid"]
            silent = env.ctl.message(unb, BUYER2, "随便问问", buyer_nick="老王")["cid"]
            key, other = conversation_key("shop-a", answered), conversation_key("shop-a", silent)
            await until(lambda: cell(app, "inbox", key, "status") == "replied")
            await until(lambda: cell(app, "inbox", other, "status") == "no_rule")
            assert cell(app, "inbox", key, "reply") == "包邮的，拍下就发"
            assert cell(app, "inbox", key, "rule") == "keyword[0]"
            assert cell(app, "inbox", key, "buyer") == "爱吃草莓的熊"

            await pilot.press("u")
            await until(lambda: rows(app, "inbox") == [other])
            await pilot.press("u", "slash", *"包邮")
            await until(lambda: rows(app, "inbox") == [key])
            await pilot.press("escape")
            await until(lambda: set(rows(app, "inbox")) == {key, other})

            select_row(app, "inbox", key)
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, ChatScreen))
            await until(lambda: len(rows(app, "history")) == 2)

            await pilot.press("r")
            await until(lambda: isinstance(app.screen, TextScreen))
            await pilot.press(*"今天发货", "enter")
            await until(lambda: sends == [("shop-a", answered, BUYER, "今天发货")], what="send_manual called")
            wait_until(lambda: any(m["text"] == "今天发货" for m in env.ctl.sent_in(unb, answered)))
            assert answered in {p.cid for p in run.store.chats.pauses(now_ms(), "shop-a")}
            await until(lambda: "bot paused" in text_of(app, "#chat-head"))
            await until(lambda: len(rows(app, "history")) == 3)

            await pilot.press("u")
            await until(lambda: resumes == [("shop-a", answered)], what="takeover.resume called")
            await until(lambda: "bot answering" in text_of(app, "#chat-head"))
            assert answered not in {p.cid for p in run.store.chats.pauses(now_ms(), "shop-a")}

            await pilot.press("p")
            await until(lambda: len(pauses) == 2 and pauses[-1][:3] == ("shop-a", answered, 5))
            await until(lambda: "bot paused" in text_of(app, "#chat-head"))

    asyncio.run(drive())


def test_reload_reports_errors_with_file_and_line_and_keeps_the_running_config(env: Env) -> None:
    a = env.seller("shop-a")
    run = env.start([a])
    notes, hook = notification_hook()
    app = dashboard(run.svc)

    async def drive() -> None:
        async with app.run_test(size=SIZE, message_hook=hook) as pilot:
            await until(lambda: rows(app, "accounts") == ["shop-a"])
            env.write([a, {"id": "broken", "cookie": a["cookie"], "enabled": "maybe"}])
            await pilot.press("ctrl+r")
            note = await until(lambda: next((n for n in notes if "errors" in n), None), timeout=1.5)
            assert f"{env.config}:" in note and "enabled" in note  # FILE:LINE: key.path: message
            assert [a.id for a in run.svc.config.accounts] == ["shop-a"]
            assert run.state("shop-a") == "online"

            env.write([a, env.seller("shop-b")])
            await pilot.press("ctrl+r")
            await until(lambda: rows(app, "accounts") == ["shop-a", "shop-b"])
            await until(lambda: cell(app, "accounts", "shop-b", "state") == "online")

    asyncio.run(drive())


def test_detail_masks_secrets_and_lists_jobs_rules_and_pauses(env: Env) -> None:
    account = env.seller("shop-a", keywords=[{"match": "包邮", "reply": "包邮的"}])
    run = env.start([account])
    unb = env.unb("shop-a")
    env.ctl.message(unb, BUYER, "包邮吗")
    wait_until(lambda: run.events.of(ev.ReplySent, "shop-a"))
    app = dashboard(run.svc, with_log=True)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("d")
            await until(lambda: isinstance(app.screen, DetailScreen))
            shown = await until(lambda: (t := text_of(app, "#static")) and "heartbeat:shop-a" in t and t)
            assert "keyword[0]" in shown and "contains '包邮'" in shown
            assert "takeover_minutes" in shown and "cookies)" in shown
            cookie = env.cookies["shop-a"]
            for secret in (c.split("=", 1)[1] for c in cookie.split("; ") if len(c.split("=", 1)[1]) > 8):
                assert secret not in shown
            hits = next(line for line in shown.splitlines() if "keyword[0]" in line)
            assert hits.rstrip().endswith("1")  # one reply sent by that rule

            await pilot.press("escape", "5")
            env.ctl.message(unb, BUYER2, "你好")
            env.ctl.message(unb, BUYER2, "包邮吗")
            await until(lambda: sum("[chat" in line for line in app.model.log) >= 3)
            await until(lambda: app.screen.query_one("#log").line_count >= 3)
            await pilot.press("slash", *"包邮")
            await until(lambda: app.screen.query_one("#log").line_count >= 1)
            shown_lines = list(app.screen.query_one("#log").lines)
            assert shown_lines and all("包邮" in line for line in shown_lines)

    try:
        asyncio.run(drive())
    finally:
        detach_log(app)


def test_command_palette_runs_the_screen_keys_and_quit_asks_while_accounts_are_online(env: Env) -> None:
    run = env.start([env.seller("shop-a")])
    restarts = spy(run.svc.manager, "restart")
    app = dashboard(run.svc)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: cell(app, "accounts", "shop-a", "state") == "online")
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Restart")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await until(lambda: restarts == [("shop-a",)], what="Restart from the palette")

            await until(lambda: cell(app, "accounts", "shop-a", "state") == "online")
            await pilot.press("q")
            await until(lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("n")
            await until(lambda: not isinstance(app.screen, ConfirmScreen))
            assert app.is_running
            await pilot.press("q")
            await until(lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(lambda: not app.is_running)

    asyncio.run(drive())
    assert app.return_code == 0


def test_a_new_dashboard_shows_today_and_recent_chats_from_storage(env: Env) -> None:
    """What happened before the dashboard opened comes from the database: today's counters per account,
    the recent chats with their replies and rules, running pauses."""
    run = env.start([env.seller("shop-a", keywords=[{"match": "包邮", "reply": "包邮的"}])])
    unb = env.unb("shop-a")
    answered = env.ctl.message(unb, BUYER, "包邮吗", buyer_nick="爱吃草莓的熊")["cid"]
    silent = env.ctl.message(unb, BUYER2, "你好")["cid"]
    wait_until(lambda: run.events.of(ev.ReplySent, "shop-a") and run.events.of(ev.MessageDecided, "shop-a"))
    run.svc.replies.takeover.pause("shop-a", silent, 5, "test")
    app = dashboard(run.svc)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: cell(app, "accounts", "shop-a", "in") == "2")
            assert cell(app, "accounts", "shop-a", "out") == "1"
            assert cell(app, "accounts", "shop-a", "paused") == "1"
            await pilot.press("2")
            key = conversation_key("shop-a", answered)
            await until(lambda: cell(app, "inbox", key, "status") == "replied")
            assert (cell(app, "inbox", key, "reply"), cell(app, "inbox", key, "rule")) == ("包邮的", "keyword[0]")
            assert cell(app, "inbox", conversation_key("shop-a", silent), "status") == "no_rule"

    asyncio.run(drive())
