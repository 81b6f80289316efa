"""`Answers`: requests written to the socket that wait for the server's answer to their mid.

A waiter is a blocked caller (`request`: a history read, a delivery's send) or a callback (`send_text_nowait`:
a reply), run on the socket thread with a deadline the read loop enforces. When the connection drops, every
waiter hears "connection lost before the server answered" — maybe delivered, so a resend asks first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from core.errors import SendFailed
from core.goofish.frames import Response

Answered = Callable[[SendFailed | None], None]


class Waiter:
    __slots__ = ("done", "response", "on_answer", "deadline")

    def __init__(self, on_answer: Answered | None = None, deadline: float = 0.0) -> None:
        self.done = threading.Event()
        self.response: Response | None = None
        self.on_answer = on_answer
        self.deadline = deadline


class Answers:
    def __init__(self, send_timeout: float) -> None:
        self._send_timeout = send_timeout
        self._waiters: dict[str, Waiter] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._waiters)

    def add(self, mid: str, waiter: Waiter) -> None:
        with self._lock:
            self._waiters[mid] = waiter

    def drop(self, mid: str) -> None:
        with self._lock:
            self._waiters.pop(mid, None)

    def wait(self, mid: str, waiter: Waiter) -> Response:
        """Block until the answer to `mid` (raises SendFailed when it is a refusal, lost, or late)."""
        try:
            if not waiter.done.wait(self._send_timeout):
                raise SendFailed(f"no answer within {self._send_timeout:.0f}s", maybe_delivered=True)
        finally:
            self.drop(mid)
        response = waiter.response
        if response is None:
            raise SendFailed("connection lost before the server answered", maybe_delivered=True)
        refused = refusal(response)
        if refused is not None:
            raise refused
        return response

    def answer(self, response: Response) -> None:
        """The server answered a mid (on the socket thread)."""
        with self._lock:
            waiter = self._waiters.get(response.mid)
            if waiter is not None and waiter.on_answer is not None:
                del self._waiters[response.mid]
        if waiter is None:
            return
        if waiter.on_answer is not None:
            waiter.on_answer(refusal(response))
            return
        waiter.response = response
        waiter.done.set()

    def expire(self) -> None:
        """Callbacks whose answer is overdue get a timeout (blocked callers time out by themselves)."""
        now = time.monotonic()
        with self._lock:
            expired = [(mid, w) for mid, w in self._waiters.items() if w.on_answer is not None and w.deadline < now]
            for mid, _ in expired:
                del self._waiters[mid]
        for _, waiter in expired:
            assert waiter.on_answer is not None
            waiter.on_answer(SendFailed(f"no answer within {self._send_timeout:.0f}s", maybe_delivered=True))

    def wait_for(self, longest: float) -> float:
        """How long the read loop may wait before the earliest callback's deadline (at most ``longest``)."""
        with self._lock:
            deadlines = [w.deadline for w in self._waiters.values() if w.on_answer is not None]
        return max(0.0, min(longest, min(deadlines, default=float("inf")) - time.monotonic()))

    def fail_all(self) -> None:
        """The connection is gone: nobody will answer."""
        with self._lock:
            waiters = list(self._waiters.values())
            for mid in [mid for mid, w in self._waiters.items() if w.on_answer is not None]:
                del self._waiters[mid]
        for waiter in waiters:
            if waiter.on_answer is not None:
                waiter.on_answer(SendFailed("connection lost before the server answered", maybe_delivered=True))
            else:
                waiter.done.set()  # response stays None: the caller sees "connection lost"


def refusal(response: Response) -> SendFailed | None:
    """None for the server's yes (200), else why it said no."""
    if response.code == 200:
        return None
    body = response.body if isinstance(response.body, dict) else {}
    reason = body.get("reason") or body.get("message") or body.get("developerMessage") or ""
    return SendFailed(f"server answered {response.code} {reason}".strip())
