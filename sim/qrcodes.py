"""The QR codes the passport generated and where each one is in its life (sim/qr.py serves them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.ids import Ids

CODE_TTL_MS = 300_000    # how long a code can be scanned (the real page shows a fresh one after a few minutes)
FINAL = ("CONFIRMED", "EXPIRED", "CANCELED")


@dataclass
class QrCode:
    t: str                    # the code's id, a timestamp in ms as the real passport makes it
    ck: str                   # the secret that must come back with every query of it
    lg_token: str             # what the app reads off the scanned URL
    created_at_ms: int
    status: str = "NEW"
    phone_check: bool = False
    unb: str = ""
    cookie: str = ""          # the login cookie issued on confirmation, answered on every CONFIRMED poll

    def current(self, now_ms: int) -> str:
        if self.status in ("NEW", "SCANED") and now_ms - self.created_at_ms >= CODE_TTL_MS:
            self.status = "EXPIRED"
        return self.status

    def report(self, now_ms: int) -> dict[str, Any]:
        return {"t": self.t, "status": self.current(now_ms), "created_at_ms": self.created_at_ms}


class QrCodes:
    """Every code the passport generated, in order; lives in the World (touched under the state lock)."""

    def __init__(self) -> None:
        self._codes: dict[str, QrCode] = {}

    def generate(self, ids: Ids, now_ms: int) -> QrCode:
        stamp = now_ms
        while str(stamp) in self._codes:  # two codes in one millisecond
            stamp += 1
        code = QrCode(str(stamp), ids.opaque(48), ids.hex(32), now_ms)
        self._codes[code.t] = code
        return code

    def get(self, t: str) -> QrCode | None:
        return self._codes.get(t)

    def listing(self, now_ms: int) -> list[dict[str, Any]]:
        return [code.report(now_ms) for code in self._codes.values()]
