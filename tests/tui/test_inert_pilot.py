"""Buyer text in the dashboard, on a real Service against the simulator: markup is shown as typed, control
sequences escaped, in the Inbox, the Chat and the Log; the app never acts on either."""

from __future__ import annotations

import asyncio

from textual.widgets import Log

from tests.service.conftest import BUYER, BUYER2, Env
from tests.tui.pilot import cell, dashboard, detach_log, rows, select_row, text_of, until
from tui.model import conversation_key
from tui.screens.chat import ChatScreen

MARKUP = "[b]x[/] [@click=app.quit]q[/]"
ESCAPES = "\x1b]0;pwned\x07hi\x1b[2J"
NICK = "熊\x1b[31m\r"


def test_markup_is_literal_and_controls_are_escaped_on_every_screen(env: Env) -> None:
    run = env.start([env.seller("shop-a", default_reply="收到")])
    unb = env.unb("shop-a")
    app = dashboard(run.svc, with_log=True)

    async def drive() -> None:
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press("2")
            marked = env.ctl.message(unb, BUYER, MARKUP, buyer_nick="老王")["cid"]
            escaped = env.ctl.message(unb, BUYER2, ESCAPES, buyer_nick=NICK)["cid"]
            key, other = conversation_key("shop-a", marked), conversation_key("shop-a", escaped)
            await until(lambda: cell(app, "inbox", key, "status") == "replied")
            await until(lambda: cell(app, "inbox", other, "status") == "replied")
            assert cell(app, "inbox", key, "text") == MARKUP
            assert cell(app, "inbox", other, "text") == "\\x1b]0;pwned\\x07hi\\x1b[2J"
            assert cell(app, "inbox", other, "buyer") == "熊\\x1b[31m"  # the trailing \r became a space, trimmed

            select_row(app, "inbox", other)
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, ChatScreen))
            await until(lambda: len(rows(app, "history")) == 2)
            assert "buyer 熊\\x1b[31m\\r" in text_of(app, "#chat-head")

            await pilot.press("escape", "5")
            log = app.screen.query_one(Log)
            await until(lambda: any("pwned" in line for line in log.lines))
            shown = "\n".join(log.lines)
            assert "\\x1b]0;pwned\\x07hi\\x1b[2J" in shown and MARKUP in shown
            assert not {"\x1b", "\x07", "\r"} & set(shown)
            assert app.is_running  # [@click=app.quit] was text, not an action
    try:
        asyncio.run(drive())
    finally:
        detach_log(app)
