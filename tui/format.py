"""How values look on screen: short ages, coloured states, text clipped by display width (CJK aware).

Platform text (messages, nicks, item titles, order texts, error bodies) reaches a cell or a header only through
``clip`` or ``cell_text``, both inert (core/inert.py): a control character is shown escaped (``\\x1b``), a line
break as ``\\n``, a carriage return as ``\\r``; and a cell is a ``rich.text.Text``, never console markup, so
``[bold red]x[/]`` or ``[@click=app.quit]`` typed by a buyer is shown as typed. (The Log screen's lines come
inert from core.logsink's formatter; dialogs and notifications use ``inert`` with ``markup=False``.)

Colours are the 8 basic ANSI names, so a 16-colour terminal (TERM=screen, xterm) shows them as-is and
256/true-colour terminals lose nothing.
"""

from __future__ import annotations

import time

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from core import events as ev
from core.goofish.cookies import mask
from core.inert import inert

LOGIN_EXPIRING = "login_expiring"  # online, on a login that ends soon (shown in place of "online")
STATE_STYLES = {
    ev.AccountState.ONLINE: "bold green",
    ev.AccountState.STARTING: "cyan",
    ev.AccountState.BACKOFF: "yellow",
    ev.AccountState.NEEDS_VERIFICATION: "bold magenta",
    ev.AccountState.LOGIN_REQUIRED: "bold red",
    ev.AccountState.STOPPED: "dim",
    ev.AccountState.DISABLED: "dim",
    LOGIN_EXPIRING: "bold yellow",
}
STATE_LABELS = {ev.AccountState.NEEDS_VERIFICATION: "needs verification", ev.AccountState.LOGIN_REQUIRED: "login required",
                LOGIN_EXPIRING: "login ends"}  # + the time left: "login ends 2d05h"
# The header summary's order: the states a seller must act on come right after "online".
SUMMARY_ORDER = (ev.AccountState.ONLINE, ev.AccountState.BACKOFF, ev.AccountState.NEEDS_VERIFICATION, ev.AccountState.LOGIN_REQUIRED, ev.AccountState.STARTING, ev.AccountState.STOPPED,
                 ev.AccountState.DISABLED)


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


def state_cell(state: str) -> tuple[str, str]:
    """``state`` may carry a detail after a space (``login_expiring 2d03h``): the label and colour are the state's."""
    kind, _, detail = state.partition(" ")
    return " ".join(filter(None, (state_label(kind), detail))), STATE_STYLES.get(kind, "")


def summary(states: list[str]) -> str:
    """``online 47 · backoff 2 · needs verification 1`` (states with no account are left out)."""
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    ordered = [s for s in SUMMARY_ORDER if s in counts] + sorted(set(counts) - set(SUMMARY_ORDER))
    return " · ".join(f"{state_label(s)} {counts[s]}" for s in ordered) or "no accounts"


def span(ms: int | None) -> str:
    """A duration, two significant units at most: ``42s``, ``3m05s``, ``2h14m``, ``3d04h``."""
    if ms is None:
        return "—"
    seconds = max(0, ms // 1000)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def age(now_ms: int, then_ms: int | None) -> str:
    return "—" if not then_ms else span(now_ms - then_ms)


def left(now_ms: int, until_ms: int | None) -> str:
    if not until_ms:
        return "—"
    return "expired" if until_ms <= now_ms else span(until_ms - now_ms)


def date_time(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def clock(ms: int | None, seconds: bool = True) -> str:
    """Local wall-clock time of day, as the log lines print it (``seconds=False``: ``03:20``)."""
    return "—" if not ms else time.strftime("%H:%M:%S" if seconds else "%H:%M", time.localtime(ms / 1000))


def when(now_ms: int, ms: int | None) -> str:
    """Today's time of day, or the date of an older moment (a time alone would read as today's)."""
    if not ms:
        return "—"
    then = time.localtime(ms / 1000)
    return clock(ms) if then[:3] == time.localtime(now_ms / 1000)[:3] else time.strftime("%Y-%m-%d", then)


def masked_id(value: str) -> str:
    return mask(value) if value else "—"


def cell_text(text: str, style: str = "") -> Text:
    """The one way a value becomes what a cell, a header or a table row shows: inert, on one line, as plain
    text (a ``str`` given to a widget or a rich table would be parsed as markup)."""
    return Text(inert(text), style=style)


def clip(text: str, width: int) -> str:
    """One line of at most ``width`` terminal cells; a wide (CJK) character never straddles the edge. Made
    inert first (a line break is shown as ``\\n``, a carriage return as ``\\r``), then runs of blanks become one
    space."""
    text = " ".join(inert(text).split())
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1).rstrip() + "…"


def latency(ms: int | None) -> str:
    if ms is None:
        return ""
    return f"{ms} ms" if ms < 10_000 else f"{ms / 1000:.0f} s"
