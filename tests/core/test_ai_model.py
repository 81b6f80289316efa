"""`ModelClient` against endpoints that answer badly: a 200 that is no chat completion is a failure, not a crash."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.ai.errors import ModelFailed
from core.ai.model import ModelClient
from core.config.ai_schema import AiSettings


class _Junk(BaseHTTPRequestHandler):
    body = b"<html>gateway</html>"

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def junk_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Junk)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("body", [b"<html>gateway</html>", b'{"choices": "nope"}', b"[]"])
def test_a_body_that_is_no_chat_completion_fails_cleanly(junk_url: str, body: bytes,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Junk, "body", body)
    client = ModelClient()
    try:
        with pytest.raises(ModelFailed, match="not a chat completion"):
            client.complete(AiSettings(enabled=True, base_url=junk_url, model="m", structured=False),
                            [{"role": "user", "content": "在吗"}])
    finally:
        client.close()
