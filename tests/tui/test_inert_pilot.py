"""Buyer text in the dashboard, on a real Service against the simulator: markup is shown as typed, control
sequences escaped, in the Inbox, the Chat, the reply dialog and the Log; the app never acts on either."""

from __future__ import annotations

import asyncio

from textual.widgets import Label, Log

from tests.service.conftest import BUYER, BUYER2, Env
from tests.tui.pilot import cell, dashboard, detach_log, rows, select_row, text_of, until
from tui.format import clip
from tui.model import conversation_key
from tui.screens.chat import ChatScreen
from tui.screens.common import TextScreen

MARKUP = "[bold red]boom[/] [@click=app.quit]x[/]"
MARKUP_NICK = "[@click=app.quit]老王[/]"
ESCAPES = "\x1b]0;pwned\x07hi\x1b[2J\n第二行"
NICK = "熊\x1b[31m\r\b"
CONTROLS = {"\x1b", "\x07", "\r", "\b"}


def history_texts(app) -> list[str]:
    return [cell(app, "history", key, "text") for key in rows(app, "history")]


def test_markup_is_literal_and_controls_are_escaped_on_every_screen(env: Env) -> None:
    run = env.start([env.seller("shop-a", default_reply="收到")])
    unb = env.unb("shop-a")
    app = dashboard(run.svc, with_log=True)

    async def drive() -> None:
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press("2")
            marked = env.ctl.message(unb, BUYER, MARKUP, buyer_nick=MARKUP_NICK)["cid"]
            escaped = env.ctl.message(unb, BUYER2, ESCAPES, buyer_nick=NICK)["cid"]
            key, other = conversation_key("shop-a", marked), conversation_key("shop-a", escaped)
            await until(lambda: cell(app, "inbox", key, "status") == "replied")
            await until(lambda: cell(app, "inbox", other, "status") == "replied")

            # Inbox: markup as typed (the cell is 30 wide: the message is clipped, never interpreted).
            assert cell(app, "inbox", key, "text") == clip(MARKUP, 30) == "[bold red]boom[/] [@click=app…"
            assert cell(app, "inbox", key, "buyer") == clip(MARKUP_NICK, 12) == "[@click=app…"
            # Escapes visible; the line break is shown as \n on the one line of a cell.
            assert cell(app, "inbox", other, "text") == "\\x1b]0;pwned\\x07hi\\x1b[2J\\n第…"
            assert cell(app, "inbox", other, "buyer") == "熊\\x1b[31m\\…"

            # Chat: the history table and the header.
            select_row(app, "inbox", other)
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, ChatScreen))
            await until(lambda: len(rows(app, "history")) == 2)
            assert "\\x1b]0;pwned\\x07hi\\x1b[2J\\n第二行" in history_texts(app)
            assert "buyer 熊\\x1b[31m\\r\\x08  item" in text_of(app, "#chat-head")
            await pilot.press("escape")

            select_row(app, "inbox", key)
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, ChatScreen) and app.screen.conversation.cid == marked)
            await until(lambda: len(rows(app, "history")) == 2)
            assert MARKUP in history_texts(app)
            assert f"buyer {MARKUP_NICK}  item" in text_of(app, "#chat-head")

            # The reply dialog names the buyer: as typed, and clicking the nick is no action.
            await pilot.press("r")
            await until(lambda: isinstance(app.screen, TextScreen))
            question = app.screen.query_one("#question", Label)
            assert str(question.render()).startswith(f"Reply to {MARKUP_NICK} (")
            await pilot.click("#question", offset=(len("Reply to ") + 2, 0))
            await pilot.pause()
            assert app.is_running and isinstance(app.screen, TextScreen)
            await pilot.press("escape", "escape")

            # Log: the same lines as --no-tui, one line per message.
            await pilot.press("5")
            log = app.screen.query_one(Log)
            await until(lambda: any("pwned" in line for line in log.lines))
            shown = "\n".join(log.lines)
            assert "熊\\x1b[31m\\r\\x08 [chat" in shown
            assert any("\\x1b]0;pwned\\x07hi\\x1b[2J\\n第二行" in line for line in log.lines)  # not split
            assert not any(line.startswith("第二行") for line in log.lines)
            assert f"← {MARKUP_NICK} [chat" in shown and MARKUP in shown
            assert not CONTROLS & set(shown)
            assert app.is_running  # [@click=app.quit] was text, never an action
    try:
        asyncio.run(drive())
    finally:
        detach_log(app)
