"""A local webhook receiver for the notification tests and benchmarks: a real HTTP server on 127.0.0.1 that
records what apprise posts to it — a generic JSON webhook (apprise's ``json://``: {version, title, message, type})
and an ntfy server (``ntfy://``: {topic, title, message} posted to /) — and can be told to fail (HTTP 500 with a
DingTalk-style error body) or to hang (no answer until released)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    title: str
    message: str
    kind: str  # the JSON webhook's "type" (info, warning, failure, success); "" for ntfy
    topic: str  # ntfy's topic; "" for the JSON webhook
    at: float


class Receiver:
    """``with Receiver() as hook: hook.url("json", "/hook/TOKEN")``; ``hook.mode = "ok" | "fail" | "hang"``."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[Received] = []
        self.attempts = 0  # every POST, answered or not
        self._released = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                with receiver._lock:
                    receiver.attempts += 1
                    mode = receiver.mode
                if mode == "hang":
                    receiver._released.wait(60)
                    return
                if mode == "fail":
                    self._answer(500, {"errcode": 310000, "errmsg": "keywords not in content"})
                    return
                receiver._record(self.path, body)
                self._answer(200, {"errcode": 0, "errmsg": "ok"})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()

    def _record(self, path: str, body: bytes) -> None:
        payload = json.loads(body or b"{}")
        with self._lock:
            self.received.append(Received(path, payload.get("title", ""), payload.get("message", ""),
                                          payload.get("type", ""), payload.get("topic", ""), time.monotonic()))

    def url(self, scheme: str, path: str = "/hook") -> str:
        """An apprise URL for this receiver: ``json`` (a JSON webhook at *path*) or ``ntfy`` (*path* = /topic)."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def release(self) -> None:
        """End every hanging request (their clients have given up long ago)."""
        self._released.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
