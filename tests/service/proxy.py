"""A tiny HTTP proxy on 127.0.0.1 that wants a password, for the tests of a configured ``accounts[].proxy``.

It serves the two ways the service goes through a proxy: ``CONNECT host:port`` (websocket-client's IM socket),
then bytes both ways; and absolute-URI requests (requests' mtop and passport calls over http://), sent on to the
host as a relative request with ``Connection: close``, so each connection carries one request and its answer.
A request without the expected ``Proxy-Authorization`` gets 407; ``authorised`` counts the ones let through, so a
test knows the password was really used.
"""

from __future__ import annotations

import base64
import contextlib
import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit


class _Handler(socketserver.StreamRequestHandler):
    server: PasswordProxy
    rbufsize = 0  # the head is read byte by byte, so nothing after it sits in a buffer the pipe would not see

    def handle(self) -> None:
        head = self._head()
        if not head:
            return
        method, target, version = head[0].split(" ", 2)
        headers = [line for line in head[1:] if line]
        auth = next((line.split(":", 1)[1].strip() for line in headers
                     if line.lower().startswith("proxy-authorization:")), "")
        if auth != self.server.expected:
            self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n"
                             b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        self.server.count()
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)), timeout=10)
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            parts = urlsplit(target)
            upstream = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
            kept = [line for line in headers if not line.lower().startswith(("proxy-", "connection:"))]
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            upstream.sendall("\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
                             .encode("latin-1"))
        with upstream:
            self._pipe(upstream)

    def _head(self) -> list[str]:
        lines = []
        while True:
            line = self.rfile.readline(65536).decode("latin-1").rstrip("\r\n")
            if not line:
                return lines
            lines.append(line)

    def _pipe(self, upstream: socket.socket) -> None:
        ends = [self.connection, upstream]
        while True:
            ready, _, _ = select.select(ends, [], [], 30)
            if not ready:
                return
            for end in ready:
                data = end.recv(65536)
                if not data:
                    return
                (upstream if end is self.connection else self.connection).sendall(data)


class PasswordProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, user: str, password: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.url = f"http://{user}:{password}@127.0.0.1:{self.server_address[1]}"
        self.authorised = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.1,), name="test-proxy", daemon=True)
        self._thread.start()

    def count(self) -> None:
        with self._lock:
            self.authorised += 1

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        with contextlib.suppress(RuntimeError):
            self._thread.join(5)
