"""core.inert: what a terminal would act on is shown escaped; everything else passes untouched."""

from __future__ import annotations

import io
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.inert import inert, log_text
from core.logsink import log_formatter

DANGEROUS = {*(chr(c) for c in range(0x20) if c != 0x09), "\x7f", *(chr(c) for c in range(0x80, 0xA0)),
             *(chr(c) for c in range(0x202A, 0x202F)), *(chr(c) for c in range(0x2066, 0x206A))}


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b]0;pwned\x07hi\x1b[2J", "\\x1b]0;pwned\\x07hi\\x1b[2J"),            # retitle, then clear the screen
    ("\x1b]52;c;aGVsbG8=\x07", "\\x1b]52;c;aGVsbG8=\\x07"),                 # OSC 52: write the clipboard
    ("nick\rINFO forged", "nick\\rINFO forged"),
    ("ab\bc", "ab\\x08c"),
    ("a\nb", "a\\nb"),
    ("\x00\x7f", "\\x00\\x7f"),
    ("\x9b31m", "\\x9b31m"),                                                 # C1 CSI, one byte
    ("\u202etxt.exe", "\\u202etxt.exe"),
    ("\u2066x\u2069", "\\u2066x\\u2069"),
])
def test_controls_are_shown_escaped(raw: str, shown: str) -> None:
    assert inert(raw) == shown


@pytest.mark.parametrize("safe", ["包邮吗？", "a\tb", "[bold red]boom[/]", "[@click=app.quit]x[/]", "👨‍👩‍👧 ok",
                                  "C:\\path\\x1b", "", "Ｌｕｃｋｙ☆", "\u200dzwj"])
def test_safe_text_is_returned_unchanged(safe: str) -> None:
    assert inert(safe) == safe


def test_line_breaks_kept_only_where_asked() -> None:
    assert inert("a\nb\rc", one_line=False) == "a\nb\\rc"
    # A log record keeps its lines, but a continuation line never starts at column 0: it cannot pass for a line
    # of the service's own (those start with the time).
    assert log_text("shop: ← nick\n12:00:00 INFO    forged") == "shop: ← nick\n  12:00:00 INFO    forged"
    assert log_text("errors:\n  a.yml:3: x") == "errors:\n  a.yml:3: x"


@given(st.text())
def test_no_dangerous_character_survives(text: str) -> None:
    for one_line in (True, False):
        out = inert(text, one_line=one_line)
        assert not (set(out) & (DANGEROUS - ({"\n"} if not one_line else set())))
        assert inert(out, one_line=one_line) == out  # idempotent: passing twice is harmless


@given(st.text(alphabet=st.characters(blacklist_characters=sorted(DANGEROUS))))
def test_inert_is_the_identity_on_safe_text(text: str) -> None:
    assert inert(text) == text


def test_the_log_formatter_makes_arguments_and_tracebacks_inert() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log_formatter())
    logger = logging.getLogger("test_inert")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("buyer %s wrote %s", "\x1b]0;t\x07nick", "hi\x1b[2J")
        try:
            raise ValueError("server said \x1b[31mno\r\nINFO fake")
        except ValueError:
            logger.exception("send failed")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert not set(out) & (DANGEROUS - {"\n"})
    assert "buyer \\x1b]0;t\\x07nick wrote hi\\x1b[2J" in out
    assert "server said \\x1b[31mno\\r\n  INFO fake" in out
    assert all(line[:2].isdigit() or line.startswith(" ") for line in out.splitlines()), out
