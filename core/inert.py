"""Text from the platform made inert before it reaches a terminal: a log line, a dashboard cell.

Buyers write messages and nicks, sellers' items carry titles, and error bodies come from servers: none of it is
ours, and a terminal obeys what it is sent. ``"\\x1b]0;pwned\\x07"`` retitles the window, ``"\\x1b[2J"`` clears
it, OSC 52 writes the clipboard, a ``\\r`` or ``\\b`` in a nick overwrites the start of the line so a forged
line looks like the service's own, and the bidi overrides (U+202A–202E, U+2066–2069) show text in another
order than it is stored. So every C0 control but tab, DEL, every C1 control and those bidi characters are
shown escaped (``\\x1b``, ``\\x07``, ``\\u202e``): visible, unambiguous, never interpreted.

Line breaks: in a cell or a one-line context (``one_line=True``) ``\\n`` and ``\\r`` are escaped too. A log
record may span lines by design (a traceback, the list of config errors), so ``log_text`` keeps ``\\n`` but
indents every continuation line that does not already start with a blank: a line that starts at column 0 is
always the service's own (it starts with the time), never text that came in.

A backslash is left alone: it is harmless in a terminal, and not doubling it keeps ``inert`` idempotent, so a
value may safely pass through it twice (once in a cell helper, once more in the table).
"""

from __future__ import annotations

import re

_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROLS = (*(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)), 0x7F, *range(0x80, 0xA0))


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_KEEP_LINES = {**{code: _escape(code) for code in (*_CONTROLS, *_BIDI)}, 0x0D: "\\r"}
_ONE_LINE = {**_KEEP_LINES, 0x0A: "\\n", 0x0D: "\\r"}
_UNSAFE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_ONE_LINE)) + "]")
_UNINDENTED = re.compile(r"\n(?![ \t])")


def inert(text: str, *, one_line: bool = True) -> str:
    """``text`` with every character a terminal would act on shown escaped (module docstring); safe text is
    returned as it is (the common case costs one regex scan)."""
    if not _UNSAFE.search(text):
        return text
    return text.translate(_ONE_LINE if one_line else _KEEP_LINES)


def log_text(text: str) -> str:
    """A whole log record: inert, with its own line breaks kept and every continuation line indented."""
    text = inert(text, one_line=False)
    return _UNINDENTED.sub("\n  ", text) if "\n" in text else text
