"""Client-generated identifiers: the device id, LWP frame mids and message uuids (spec §2.2).

The formats copy the site's JavaScript, because the server (and our simulator) parse them: the device id is
a v4-UUID-shaped string plus "-<unb>", mids are "<0–999><now ms> 0", uuids "-<now ms>1".
Clock and randomness are injectable so tests get exact values.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

Clock = Callable[[], int]
"""Returns the current time in epoch milliseconds."""

_HEX = "0123456789ABCDEF"
_DASHES = frozenset({8, 13, 18, 23})
_VERSION_POS = 14  # always "4", as in a UUID v4
_VARIANT_POS = 19  # one of 8/9/A/B, as in a UUID v4


def now_ms() -> int:
    """Wall-clock epoch milliseconds (the default Clock)."""
    return time.time_ns() // 1_000_000


def device_id(unb: str, rng: random.Random | None = None) -> str:
    """A fresh device id for account `unb`; it must be reused for login.token and `/reg` of one session."""
    pick = (rng or random).random
    chars = []
    for pos in range(36):
        if pos in _DASHES:
            chars.append("-")
        elif pos == _VERSION_POS:
            chars.append("4")
        else:
            r = int(16 * pick())
            chars.append(_HEX[(r & 3) | 8] if pos == _VARIANT_POS else _HEX[r])
    return "".join(chars) + "-" + unb


def new_mid(clock: Clock = now_ms, rng: random.Random | None = None) -> str:
    """A request mid: the server echoes it in its reply, which is how replies are matched to requests."""
    return f"{int(1000 * (rng or random).random())}{clock()} 0"


def new_uuid(clock: Clock = now_ms) -> str:
    """The client-side id of a sent message ("-<ms>1"), as the web client makes it."""
    return f"-{clock()}1"
