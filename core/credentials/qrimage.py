"""A login QR code for a terminal (half-block characters: two modules per character cell) and as a PNG.

A version-5/6 code with a two-module quiet zone is 41–45 modules square, so 21–23 lines at half height: it fits an
80×24 terminal with a status line. Phone scanners want dark modules on a light ground: with colour, the cells get
black on bright white (both in the 16-colour palette); without colour the light modules are drawn as blocks, which
is right on the usual dark terminal background.
"""

from __future__ import annotations

import os
from pathlib import Path

import segno

BORDER = 2
_COLOUR_ON, _COLOUR_OFF = "\x1b[30;107m", "\x1b[0m"
# (upper module dark, lower module dark) → the character, drawn in the dark colour on the light ground.
_DARK_ON_LIGHT = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
# The same, drawing the light modules instead (a terminal's own dark background is the dark colour).
_LIGHT_ON_DARK = {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}


def _code(content: str) -> segno.QRCode:
    return segno.make(content, error="l", micro=False)


def terminal_lines(content: str, colour: bool = True) -> list[str]:
    """The code as text lines; with ``colour`` each line carries its own ANSI colours (16-colour safe)."""
    lines = half_blocks(content, dark_on_light=colour)
    return [f"{_COLOUR_ON}{line}{_COLOUR_OFF}" for line in lines] if colour else lines


def half_blocks(content: str, dark_on_light: bool = True) -> list[str]:
    """The code as uncoloured half-block lines: the dark modules drawn (to be shown dark on a light ground, as
    the dashboard styles them), or the light ones (for a dark terminal background)."""
    rows = modules(content)
    if len(rows) % 2:
        rows.append(tuple(False for _ in rows[0]))
    table = _DARK_ON_LIGHT if dark_on_light else _LIGHT_ON_DARK
    return ["".join(table[(up, down)] for up, down in zip(rows[i], rows[i + 1], strict=True))
            for i in range(0, len(rows), 2)]


def modules(content: str) -> list[tuple[bool, ...]]:
    """The code's modules with its quiet zone, True for dark (a front end draws them its own way)."""
    return [tuple(bool(m) for m in row) for row in _code(content).matrix_iter(border=BORDER)]


def write_png(content: str, path: Path) -> Path:
    """The code as a PNG (for a phone held up to another screen), readable only by its owner: scanned by the
    wrong phone it logs that account in here."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # data/ holds the database too: private
    scratch = path.with_name(f".{path.name}.tmp")
    _code(content).save(str(scratch), kind="png", scale=8, border=4)
    os.chmod(scratch, 0o600)
    os.replace(scratch, path)
    return path
