"""The IM WebSocket: handshake headers, proxy, one SSLContext for every account, and ``Channel``.

websocket-client builds a fresh SSLContext per connection unless given one; each costs ~0.9 MB and
~25 ms of CPU, which at a thousand accounts is most of the process. ``shared_ssl_context`` builds one
per CA file and every session reuses it (SSLContext is safe to share across threads).

``Channel`` is how threads share one socket. Replies are sent from handler threads and heartbeats from
the scheduler while the session thread reads. websocket-client locks sends against sends and reads
against reads, but a TLS connection is one OpenSSL object that must not be read and written at the same
time (under load that corrupted connections: "Connection to remote host was lost"). So the reader waits
for data in ``poll`` *without* the lock and takes the I/O lock only to read what has arrived; writers take
the same lock. Neither side ever holds it while waiting for the network.
"""

from __future__ import annotations

import functools
import select
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import websocket

ORIGIN = "https://www.goofish.com"


@dataclass(frozen=True)
class WsOptions:
    url: str
    user_agent: str       # the browser UA: HTTP, WebSocket handshake and the slider browser all send it
    im_user_agent: str    # the DingTalk-style UA that goes inside /reg
    ca: str | None = None
    proxy: str | None = None


@functools.cache
def shared_ssl_context(ca: str | None) -> ssl.SSLContext:
    """One verifying client context per CA file (None = the system's trust store)."""
    return ssl.create_default_context(cafile=ca)


def handshake_headers(user_agent: str, cookie: str) -> list[str]:
    # What the browser sends (spec §1.1); websocket-client adds Host/Upgrade/Connection and the
    # Origin (passed as its own option, or it would send two) itself.
    return [
        f"Cookie: {cookie}",
        "Pragma: no-cache",
        "Cache-Control: no-cache",
        f"User-Agent: {user_agent}",
        "Accept-Language: zh-CN,zh;q=0.9",
    ]


def proxy_options(proxy: str | None) -> dict[str, object]:
    """websocket-client's proxy keywords from a URL like ``http://user:pass@host:port``."""
    if not proxy:
        return {}
    parts = urlsplit(proxy)
    options: dict[str, object] = {
        "http_proxy_host": parts.hostname,
        "http_proxy_port": parts.port or (1080 if parts.scheme.startswith("socks") else 8080),
        "proxy_type": parts.scheme if parts.scheme in ("socks4", "socks4a", "socks5", "socks5h") else "http",
    }
    if parts.username:
        options["http_proxy_auth"] = (parts.username, parts.password or "")
    return options


def open_socket(options: WsOptions, cookie: str, timeout: float) -> websocket.WebSocket:
    """Connect with a timeout; raises websocket/OS errors for the session to back off on."""
    sslopt = {"context": shared_ssl_context(options.ca)} if options.url.startswith("wss://") else {}
    return websocket.create_connection(
        options.url,
        timeout=timeout,
        header=handshake_headers(options.user_agent, cookie),
        origin=ORIGIN,
        sslopt=sslopt,
        skip_utf8_validation=True,  # frames are JSON we parse anyway; validation costs CPU per frame
        **proxy_options(options.proxy),
    )


class Channel:
    """One connected WebSocket shared by a reader thread and any number of writer threads."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self._ws = ws
        self._io = threading.Lock()
        self._poll = select.poll()  # not select(): descriptors beyond 1024 are normal at 1,000 accounts
        self._poll.register(ws.sock, select.POLLIN | select.POLLPRI)

    def send(self, text: str) -> None:
        with self._io:
            self._ws.send(text)

    def recv(self, timeout: float) -> str | None:
        """The next text frame, "" when the server closed, or None when nothing came within ``timeout``."""
        sock = self._ws.sock
        if sock is None:
            raise websocket.WebSocketConnectionClosedException("socket is already closed")
        # Bytes OpenSSL already decrypted are invisible to poll(); read them first.
        buffered = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        if not buffered and not self._poll.poll(max(0, int(timeout * 1000))):
            return None
        with self._io:
            frame = self._ws.recv()
        return frame if isinstance(frame, str) else frame.decode("utf-8", "replace")

    def abort(self) -> None:
        """Wake the reader now (shutdown needs no lock: it only flags the socket)."""
        self._ws.abort()

    def close(self) -> None:
        self._ws.shutdown()
