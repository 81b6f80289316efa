"""core.inert: what a terminal would act on is shown escaped; everything else passes untouched. And the log
formatter that applies it to every line, whoever logged what."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import events as ev
from core.inert import inert, log_text
from core.logsink import format_event, log_formatter

C0 = [chr(c) for c in range(0x20) if c != 0x09]  # \n and \r included: escaped on one line
C1 = [chr(c) for c in range(0x80, 0xA0)]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
DANGEROUS = {*C0, "\x7f", *C1, *BIDI}


@pytest.mark.parametrize("char", [c for c in C0 if c not in "\n\r"], ids=lambda c: f"{ord(c):#04x}")
def test_every_c0_control_is_shown_as_a_hex_escape(char: str) -> None:
    assert inert(f"a{char}b") == f"a\\x{ord(char):02x}b"
    assert inert(f"a{char}b", one_line=False) == f"a\\x{ord(char):02x}b"


@pytest.mark.parametrize("char", [*C1, "\x7f"], ids=lambda c: f"{ord(c):#04x}")
def test_c1_controls_and_del_are_shown_as_hex_escapes(char: str) -> None:
    assert inert(char) == f"\\x{ord(char):02x}"


@pytest.mark.parametrize("char", BIDI, ids=lambda c: f"U+{ord(c):04X}")
def test_each_bidi_override_and_isolate_is_shown_as_a_unicode_escape(char: str) -> None:
    assert inert(f"abc{char}exe.txt") == f"abc\\u{ord(char):04x}exe.txt"


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b]0;pwned\x07hi\x1b[2J", "\\x1b]0;pwned\\x07hi\\x1b[2J"),            # retitle, then clear the screen
    ("\x1b]52;c;aGVsbG8=\x07", "\\x1b]52;c;aGVsbG8=\\x07"),                 # OSC 52: write the clipboard
    ("\x1b]52;c;aGVsbG8=\x1b\\", "\\x1b]52;c;aGVsbG8=\\x1b\\"),             # the same, ST-terminated
    ("\x9b31mred", "\\x9b31mred"),                                           # C1 CSI, one byte
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("nick\rINFO forged", "nick\\rINFO forged"),                             # CR: overwrite the line
    ("ab\bc", "ab\\x08c"),                                                   # BS: overwrite a character
    ("a\nb", "a\\nb"),                                                       # LF: a second, forged line
    ("a\r\nb", "a\\r\\nb"),
    ("\x00\x7f", "\\x00\\x7f"),
])
def test_terminal_sequences_are_shown_escaped(raw: str, shown: str) -> None:
    assert inert(raw) == shown
    assert not DANGEROUS & set(inert(raw))


def test_multi_line_keeps_line_feeds_but_never_carriage_returns() -> None:
    assert inert("a\nb\rc\r\nd", one_line=False) == "a\nb\\rc\\r\nd"
    assert inert("\x1b[2J\n\u202e", one_line=False) == "\\x1b[2J\n\\u202e"


@pytest.mark.parametrize("safe", [
    "包邮吗？最低多少钱", "a\tb",                                             # CJK; tab stays
    "[bold red]boom[/]", "[@click=app.quit]x[/]", "[link=file:///etc/passwd]x[/link]",  # markup is just text
    "👨‍👩‍👧‍👦 family", "🏳️‍🌈", "👍🏽", "\u200dzwj alone", "e\u0301",                     # ZWJ, flags, skin tones, combining
    "Ｌｕｃｋｙ☆", "¥9.90 → 发货", "", " ", "C:\\path\\x1b",                    # fullwidth, symbols, a typed "\x1b"
    "\u200e\u200f",                                                          # LRM/RLM: marks, not overrides
])
def test_safe_text_comes_back_as_the_same_object(safe: str) -> None:
    assert inert(safe) is safe
    assert inert(safe, one_line=False) is safe


def test_a_backslash_is_not_doubled_so_inert_is_idempotent() -> None:
    once = inert("\x1b[2J\\x1b\n")
    assert once == "\\x1b[2J\\x1b\\n"
    assert inert(once) == once


@given(st.text())
def test_no_dangerous_character_survives(text: str) -> None:
    one = inert(text)
    assert not DANGEROUS & set(one)
    many = inert(text, one_line=False)
    assert not (DANGEROUS - {"\n"}) & set(many)
    assert many.count("\n") == text.count("\n")  # real line breaks are kept, none added
    assert inert(one) == one and inert(many, one_line=False) == many


@given(st.text(alphabet=st.characters(blacklist_characters=sorted(DANGEROUS))))
def test_inert_is_the_identity_on_safe_text(text: str) -> None:
    assert inert(text) == text
    assert inert(text, one_line=False) == text


@given(st.text())
def test_a_log_texts_continuation_lines_never_start_at_column_zero(text: str) -> None:
    out = log_text(text)
    assert not (DANGEROUS - {"\n"}) & set(out)
    assert all(line[:1] in (" ", "\t") for line in out.split("\n")[1:])


# ---- the log formatter ---------------------------------------------------------------------------------


@contextmanager
def captured(*formatters: logging.Formatter) -> Iterator[tuple[logging.Logger, list[io.StringIO]]]:
    logger = logging.getLogger("test_inert")
    streams, handlers = [], []
    for formatter in formatters:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        streams.append(stream)
        handlers.append(handler)
    logger.propagate, logger.level = False, logging.DEBUG
    try:
        yield logger, streams
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        logger.propagate = True


def own_lines_only(out: str) -> bool:
    """Every line starts with the time (the service's own) or with a blank (a traceback's continuation)."""
    return all(line[:2].isdigit() or line[:1] == " " for line in out.splitlines())


def test_a_records_message_is_one_line_whatever_its_arguments() -> None:
    with captured(log_formatter()) as (logger, [stream]):
        logger.warning("buyer %s wrote %s", "\x1b]0;t\x07nick\r\b", "hi\n12:00:00 INFO    forged\x1b[2J")
        logger.info("%r", {"body": "\x1b]52;c;aGk=\x07"})
        logger.info("plain %d", 3)
    out = stream.getvalue()
    assert not (DANGEROUS - {"\n"}) & set(out)
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert lines[0].endswith("buyer \\x1b]0;t\\x07nick\\r\\x08 wrote hi\\n12:00:00 INFO    forged\\x1b[2J")
    assert "\\x1b]52;c;aGk=\\x07" in lines[1]  # repr escapes it too; inert leaves its backslashes alone
    assert lines[2].endswith("INFO    plain 3")


def test_a_traceback_keeps_its_lines_escaped_and_indented() -> None:
    with captured(log_formatter()) as (logger, [stream]):
        try:
            raise ValueError("server said \x1b[31mno\r\nINFO fake\u202e")
        except ValueError:
            logger.exception("send failed: %s", "body\n2")
    out = stream.getvalue()
    assert not (DANGEROUS - {"\n"}) & set(out)
    assert out.splitlines()[0].endswith("ERROR   send failed: body\\n2")
    assert "  Traceback (most recent call last):" in out
    assert "server said \\x1b[31mno\\r\n  INFO fake\\u202e" in out
    assert own_lines_only(out), out


def test_a_traceback_another_handler_formatted_first_is_still_made_inert() -> None:
    # The first formatter caches the raw exc_text on the record; ours must not print that cache as it is.
    with captured(logging.Formatter("%(message)s"), log_formatter()) as (logger, [plain, ours]):
        try:
            raise RuntimeError("\x1b]0;pwned\x07")
        except RuntimeError:
            logger.exception("x")
    assert "\x1b" in plain.getvalue()
    assert "\x1b" not in ours.getvalue() and "RuntimeError: \\x1b]0;pwned\\x07" in ours.getvalue()


def test_event_lines_are_one_line_and_inert() -> None:
    received = ev.MessageReceived("shop-a", cid="c1", sender_id="b1", sender_nick="evil\r\b12:00 INFO x",
                                  text="在吗\n\x1b[2J多少钱", message_id="m1", item_id=None, kind="chat")
    line = format_event(received)
    assert line == "shop-a: ← evil\\r\\x0812:00 INFO x [chat c1]: 在吗\\n\\x1b[2J多少钱"
    error = format_event(ev.AccountError("shop-a", message="HTTP 500: <html>\n\x1b[5m</html>"))
    assert error == "shop-a: error: HTTP 500: <html>\\n\\x1b[5m</html>"
    invalid = format_event(ev.ConfigInvalid("*", errors=("a.yml:3: x: bad", "a.yml:9: y: worse")))
    assert invalid == "config edit rejected, the running config stays: a.yml:3: x: bad; a.yml:9: y: worse"
