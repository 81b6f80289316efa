"""The HTTP side: one ThreadingHTTPServer for the mtop gateway, passport, slider page and control API.

Requests are parsed into a small immutable HttpRequest and routed by path to a handler that returns an
HttpResponse; handlers never touch the socket. With TLS, each accepted socket is wrapped without handshaking and
the handshake runs on the request's own thread, so one slow client cannot hold up the accept loop.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sim.credentials import parse_cookie_header

log = logging.getLogger("sim.http")


def _first_values(encoded: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(encoded, keep_blank_values=True).items()}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str                       # without the query
    query: dict[str, str]
    headers: dict[str, str]         # lower-case names; the last of duplicates
    body: bytes = b""
    cookies: dict[str, str] = field(default_factory=dict)

    @cached_property
    def form(self) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in self.headers.get("content-type", ""):
            return {}
        return _first_values(self.body.decode("utf-8", "replace"))

    def param(self, name: str) -> str | None:
        """A form field, else a query parameter (mtop accepts `data` in either)."""
        return self.form.get(name, self.query.get(name))

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    @property
    def user_agent(self) -> str:
        return self.headers.get("user-agent", "")


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    content_type: str
    set_cookies: tuple[str, ...] = ()

    @classmethod
    def json(cls, value: Any, status: int = 200, set_cookies: tuple[str, ...] = ()) -> HttpResponse:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, body, "application/json;charset=UTF-8", set_cookies)

    @classmethod
    def html(cls, text: str, status: int = 200) -> HttpResponse:
        return cls(status, text.encode("utf-8"), "text/html;charset=UTF-8")


def cookie(name: str, value: str) -> str:
    """A Set-Cookie value without Domain (a Domain=.goofish.com cookie would be dropped by clients on 127.0.0.1)."""
    return f"{name}={value}; Path=/"


Router = Callable[[HttpRequest], HttpResponse]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive, as the bots' requests.Session expects
    timeout = 60                        # an idle keep-alive connection frees its thread after this
    # Headers and body go out as two writes; with Nagle on, the body waits for the client's delayed ACK of the
    # headers (40 ms per request on a keep-alive connection, which a bot's requests.Session is).
    disable_nagle_algorithm = True
    server: SimHttpServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = HttpRequest(
            method=self.command, path=split.path, query=_first_values(split.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            cookies=parse_cookie_header("; ".join(self.headers.get_all("Cookie") or [])),
        )
        try:
            response = self.server.router(request)
        except Exception:
            log.exception("error serving %s %s", self.command, self.path)
            response = HttpResponse.json({"error": "internal error"}, 500)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for value in response.set_cookies:
            self.send_header("Set-Cookie", value)
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = _serve


class SimHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024           # a benchmark opens thousands of token requests at once

    def __init__(self, address: tuple[str, int], tls: ssl.SSLContext | None) -> None:
        super().__init__(address, _Handler)
        self.tls = tls
        self.router: Router = lambda request: HttpResponse.json({"error": "starting"}, 503)
        self._open_lock = threading.Lock()
        self._open: set[socket.socket] = set()     # keep-alive connections, cut by server_close()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._open_lock:
            self._open.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """Stop listening and end idle keep-alive connections, so no handler thread outlives the server."""
        super().server_close()
        with self._open_lock:
            lingering = list(self._open)
        for sock in lingering:
            with contextlib.suppress(OSError):     # already gone
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # TLS handshake failures and clients hanging up are routine here, not worth a traceback on stderr.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)
