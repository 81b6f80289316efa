"""Text from the platform made inert before it reaches a terminal: a log line, a dashboard cell.

Buyers write messages and nicks, sellers' items carry titles, and error bodies come from servers: none of it is
ours, and a terminal obeys what it is sent. ``"\\x1b]0;pwned\\x07"`` retitles the window, ``"\\x1b[2J"`` clears
it, OSC 52 writes the clipboard, a ``\\r`` or ``\\b`` in a nick overwrites the start of the line so a forged
line looks like the service's own, and the bidi overrides and isolates (U+202A–202E, U+2066–2069) show text in
another order than it is stored. So every C0 control but tab, DEL, every C1 control (U+0080–009F) and those
bidi characters are shown escaped, ``\\x1b``, ``\\x07``, ``\\x9b``, ``\\u202e``: visible, unambiguous, never
interpreted. Tab stays (harmless, and part of pasted text).

Line breaks. In a one-line context (``one_line=True``, the default: a log record's message, a table cell, a
header) ``\\n`` is shown as the two characters ``\\n`` and ``\\r`` as ``\\r``, so no text can split a line or
start a forged one. Where a widget shows a whole multi-line text (``one_line=False``: a notification, a
traceback) ``\\n`` stays a real line break, and ``\\r`` is still escaped (it would overwrite the line it is on).
``log_text`` is for the multi-line tail of a log record (its traceback): real line breaks, and every
continuation line that does not already start with a blank is indented, so a line that starts at column 0 is
always the service's own (it starts with the time).

A backslash is left alone: it is harmless in a terminal, and not doubling it keeps ``inert`` idempotent, so a
value may safely pass through it twice (a cell helper, then the table's own gate). The price is that a buyer
who types the four characters ``\\x1b`` looks the same as one who sent ESC; either way nothing is obeyed.

This runs on every log line and every cell: one precompiled character class decides whether there is anything
to do (the common case costs one scan and returns the same object), then one ``str.translate``.
"""

from __future__ import annotations

import re

BIDI = frozenset((*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
CONTROLS = frozenset((*(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)), 0x7F, *range(0x80, 0xA0)))


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_MULTI_LINE = {**{code: _escape(code) for code in CONTROLS | BIDI}, 0x0D: "\\r"}  # \n kept
_ONE_LINE = {**_MULTI_LINE, 0x0A: "\\n"}
_UNSAFE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_ONE_LINE)) + "]")
_UNINDENTED = re.compile(r"\n(?![ \t])")


def inert(text: str, *, one_line: bool = True) -> str:
    """``text`` with every character a terminal would act on shown escaped (see the module docstring); safe
    text comes back unchanged (the same object)."""
    if not _UNSAFE.search(text):
        return text
    return text.translate(_ONE_LINE if one_line else _MULTI_LINE)


def log_text(text: str) -> str:
    """A multi-line part of a log record (a traceback, a stack): inert, its line breaks kept, every
    continuation line that starts at column 0 indented by two spaces."""
    text = inert(text, one_line=False)
    return _UNINDENTED.sub("\n  ", text) if "\n" in text else text
