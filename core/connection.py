"""Opening the IM WebSocket: handshake headers, proxy, and one SSLContext for every account.

websocket-client builds a fresh SSLContext per connection unless given one; each costs ~0.9 MB and
~25 ms of CPU, which at a thousand accounts is most of the process. ``shared_ssl_context`` builds one
per CA file and every session reuses it (SSLContext is safe to share across threads).
"""

from __future__ import annotations

import functools
import ssl
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
