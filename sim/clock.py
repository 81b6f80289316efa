"""The simulated platform's clock: real time plus an offset that tests move forward (`POST /_sim/clock`).

Everything the platform decides by time (token, session and long-login lifetimes, QR code lifetimes, push
timestamps) reads this clock, so a test can live through 60 days in a second. Only the platform's idea of "now"
jumps: waits between frames and requests (the sync deadline, demo buyers) use `time.monotonic()` and are not
affected. The offset only grows, so sim time never runs backwards (push `pts` stay increasing).

Not thread-safe: only used inside a state transaction (under the state lock).
"""

from __future__ import annotations

import time


class SimClock:
    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def now_us(self) -> int:
        return time.time_ns() // 1000 + self.offset_ms * 1000

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("the clock only moves forward")
        self.offset_ms += ms

    def report(self) -> dict[str, int]:
        return {"now_ms": self.now_ms(), "offset_ms": self.offset_ms}
