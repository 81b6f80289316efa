"""Every cell, header and dialog line built from platform text is inert and never markup (no service needed)."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import Label

from tui.format import cell_text, clip
from tui.screens.common import ConfirmScreen, renderable

SEQUENCES = "\x1b]0;pwned\x07\x1b]52;c;aGk=\x07\x9b2J\u202e\r\b"


def shown(renderable_: object) -> str:
    """What a terminal would get, as text (no colour codes of our own)."""
    console = Console(width=200, file=io.StringIO(), color_system=None, force_terminal=False)
    console.print(renderable_, end="")
    return console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["[bold red]boom[/]", "[@click=app.quit]x[/]", "[link=http://e.x]y[/link]",
                                  ":smile: [b]"])
def test_markup_in_a_cell_is_shown_as_typed(text: str) -> None:
    assert shown(renderable(text)) == text
    assert shown(renderable((text, "bold"))) == text
    assert shown(cell_text(text)) == text
    assert not cell_text(text).spans  # no style, no link, no action came out of the text


def test_a_cell_never_carries_a_control_character() -> None:
    for cell in (renderable(SEQUENCES), renderable((SEQUENCES, "red")), cell_text(SEQUENCES)):
        assert cell.plain == "\\x1b]0;pwned\\x07\\x1b]52;c;aGk=\\x07\\x9b2J\\u202e\\r\\x08"
        assert not {"\x1b", "\x07", "\x9b", "\u202e", "\r", "\b"} & set(shown(cell))


def test_clip_escapes_line_breaks_before_it_measures() -> None:
    assert clip("在吗\n多少钱", 30) == "在吗\\n多少钱"
    assert clip("nick\r\b", 30) == "nick\\r\\x08"
    assert clip("a \t  b", 30) == "a b"  # blanks still collapse
    # The escapes count for the width: the cell never overflows, and a CJK character never straddles.
    assert clip("\x1b[2J包邮吗包邮吗", 12) == "\\x1b[2J包邮…"
    assert clip("\x1b[2J包邮吗包邮吗", 11) == "\\x1b[2J包…"  # 邮 would straddle the edge: left out
    assert clip("👨‍👩‍👧 ok", 30) == "👨‍👩‍👧 ok"


def test_a_confirm_dialog_naming_a_buyer_shows_the_nick_as_typed_and_clicking_it_does_nothing() -> None:
    # The Orders screen asks "Send order …'s codes to <buyer nick> again?": the nick is the buyer's.
    question = "Send order 1's codes to [@click=app.quit]老王\x1b[2J[/] again?"
    answers: list[bool | None] = []

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ConfirmScreen(question), answers.append)

    async def drive() -> None:
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            label = app.screen.query_one("#question", Label)
            assert str(label.render()) == "Send order 1's codes to [@click=app.quit]老王\\x1b[2J[/] again?"
            await pilot.click("#question", offset=(len("Send order 1's codes to ") + 1, 0))
            await pilot.pause()
            assert app.is_running and isinstance(app.screen, ConfirmScreen) and answers == []
            await pilot.press("n")
            await pilot.pause()
            assert answers == [False]
    asyncio.run(drive())
