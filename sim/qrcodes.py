"""The QR codes the passport generated and where each one is in its life (sim/qr.py serves them), with the
identity (face) check a code may demand after its CONFIRMED (sim/faceid.py serves that)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.ids import Ids

CODE_TTL_MS = 300_000    # how long a code can be scanned (the real page shows a fresh one after a few minutes)
FINAL = ("CONFIRMED", "EXPIRED", "CANCELED")


def _aged(status: str, started_ms: int, now_ms: int) -> str:
    """A code, or a face check, not answered within CODE_TTL_MS has expired."""
    if status in ("NEW", "SCANED") and now_ms - started_ms >= CODE_TTL_MS:
        return "EXPIRED"
    return status


@dataclass
class FaceCheck:
    """The second code: the phone app scans it and the seller shows a face; only then the login's cookies come.
    It lives as long as a code does, from when the platform asked for it."""

    iv_token: str
    started_ms: int
    status: str = "NEW"

    def current(self, now_ms: int) -> str:
        self.status = _aged(self.status, self.started_ms, now_ms)
        return self.status


@dataclass
class QrCode:
    t: str                    # the code's id, a timestamp in ms as the real passport makes it
    ck: str                   # the secret that must come back with every query of it
    lg_token: str             # what the app reads off the scanned URL
    created_at_ms: int
    status: str = "NEW"
    phone_check: bool = False
    unb: str = ""
    nick: str = ""
    cookie: str = ""          # the login cookie, answered on every CONFIRMED poll ("" until the face check passes)
    face: FaceCheck | None = None   # after a CONFIRMED that needed a phone check

    def current(self, now_ms: int) -> str:
        self.status = _aged(self.status, self.created_at_ms, now_ms)
        return self.status

    def report(self, now_ms: int) -> dict[str, Any]:
        return {"t": self.t, "status": self.current(now_ms), "created_at_ms": self.created_at_ms,
                "face": self.face.current(now_ms) if self.face else None}


class QrCodes:
    """Every code the passport generated, in order; lives in the World (touched under the state lock)."""

    def __init__(self) -> None:
        self._codes: dict[str, QrCode] = {}
        self._faces: dict[str, QrCode] = {}     # ivToken → its code

    def generate(self, ids: Ids, now_ms: int) -> QrCode:
        stamp = now_ms
        while str(stamp) in self._codes:  # two codes in one millisecond
            stamp += 1
        code = QrCode(str(stamp), ids.opaque(48), ids.hex(32), now_ms)
        self._codes[code.t] = code
        return code

    def get(self, t: str) -> QrCode | None:
        return self._codes.get(t)

    def start_face_check(self, code: QrCode, ids: Ids, now_ms: int) -> FaceCheck:
        code.face = FaceCheck(ids.opaque(40), now_ms)
        self._faces[code.face.iv_token] = code
        return code.face

    def by_iv_token(self, iv_token: str) -> QrCode | None:
        return self._faces.get(iv_token)

    def listing(self, now_ms: int) -> list[dict[str, Any]]:
        return [code.report(now_ms) for code in self._codes.values()]
