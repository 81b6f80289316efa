"""The Notifications screen on the fixed backend: the outbox rows newest first in a seller's words, one message in
full (the buyer's quote shown as typed, never as markup or a control sequence), rows kept in place as they change
and the empty state."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import DataTable

from tests.tui.fixed import BUYER_QUOTE, NOW, SEC, fixed_app
from tests.tui.pilot import cell, rows, select_row, text_of, until
from tui.screens.notifications import EMPTY, NotificationScreen, NotificationsScreen

TABLE = "notifications"


def states(app) -> list[str]:
    return [cell(app, TABLE, key, "state") for key in rows(app, TABLE)]


def test_rows_newest_first_and_one_message_in_full(tmp_path: Path) -> None:
    app = fixed_app(tmp_path)

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("6")
            await until(lambda: isinstance(app.screen, NotificationsScreen))
            await until(lambda: rows(app, TABLE) == ["6", "5", "4", "3", "2"], what="the outbox rows, newest first")
            assert states(app)[0] == "queued" and states(app)[1] == "sent" and states(app)[3] == "FAILED"
            assert states(app)[2].startswith("waiting 2/8 ")
            assert cell(app, TABLE, "6", "title") == "3 accounts need a QR scan: a, b, c"
            assert cell(app, TABLE, "6", "accounts") == "a, b, c"
            assert cell(app, TABLE, "3", "error").startswith("ntfy: 401 Unauthorized")
            assert "latest 5: sent 2 · pending 2 · failed 1" in text_of(app, "#notify-counts")

            select_row(app, TABLE, "5")
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, NotificationScreen))
            shown = text_of(app, "#notification")
            assert "shop-b: a buyer asks for a person" in shown
            # The body on its own lines; the buyer's markup as typed, the escape sequence visible and inert.
            assert "“转人工，我要退款 [b]快[/b]\\x1b[2J”\nAnswer on the Inbox screen (2)." in shown
            assert "\x1b" not in shown and BUYER_QUOTE.splitlines()[0] in shown
            for fact in ("phone", "shop-b", "needs you (warning)", "1 of 8", "none"):
                assert fact in shown

            await pilot.press("escape")
            await until(lambda: isinstance(app.screen, NotificationsScreen))
            assert app.screen.rows.selected_key() == "5"

    asyncio.run(drive())


def test_rows_keep_their_place_while_their_state_changes_and_new_ones_come_first(tmp_path: Path) -> None:
    app = fixed_app(tmp_path)
    notices = app.backend.notices  # type: ignore[attr-defined]

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("6")
            await until(lambda: rows(app, TABLE) == ["6", "5", "4", "3", "2"])
            table = app.screen.query_one(f"#{TABLE}", DataTable)
            untouched = table.get_cell("3", "title")
            select_row(app, TABLE, "3")

            notices[2] = notices[2].model_copy(update={"state": "sent", "attempts": 3, "sent_at_ms": NOW})
            await until(lambda: cell(app, TABLE, "4", "state") == "sent", what="the retry went through")
            assert table.get_cell("3", "title") is untouched  # only the cells that changed were written

            newest = notices[0].model_copy(update={"id": 7, "title": "shop-a: order paid", "accounts": "shop-a",
                                                   "created_at_ms": NOW + SEC})
            notices.insert(0, newest)
            await until(lambda: rows(app, TABLE)[0] == "7", what="the new message on top")
            assert rows(app, TABLE) == ["7", "6", "5", "4", "3", "2"]
            assert app.screen.rows.selected_key() == "3"  # the cursor stayed on the row being read

    asyncio.run(drive())


def test_nothing_yet_says_how_to_get_notifications(tmp_path: Path) -> None:
    app = fixed_app(tmp_path)
    app.backend.notices.clear()  # type: ignore[attr-defined]

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("6")
            await until(lambda: EMPTY in text_of(app, "#notify-counts"), what="the empty state")
            assert rows(app, TABLE) == []
            await pilot.press("enter")  # nothing to open
            assert isinstance(app.screen, NotificationsScreen)

    asyncio.run(drive())
