"""The account's cookies as one ordered name → value map, and the rules for merging server updates into it.

Why not `requests.cookies.RequestsCookieJar`: it keys cookies by (domain, path, name), so a domain-less seed
cookie and a Set-Cookie for the same name live side by side and `get()` raises `CookieConflictError`
(spec §2.3). Goofish only ever needs one value per name, newest wins, which is what this jar stores.
The jar is shared between the WebSocket thread (handshake header) and the scheduler (token refresh), so every
access takes its lock.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from http.cookiejar import http2time
from typing import Any

import requests

# Split a folded "Set-Cookie: a=1; Expires=Thu, 01 Jan 2099 ..., b=2" at commas that start a new cookie,
# not at the comma inside an Expires date (what follows such a comma is a day number, not `name=`).
_FOLDED_SPLIT = re.compile(r",\s*(?=[^;,=\s]+=)")


def mask(secret: str | None) -> str:
    """Render a secret for logs: at most its first 4 characters and its length, e.g. `abcd…(32)`.

    Short values keep proportionally less (a quarter), so masking never reveals most of a short secret.
    """
    if secret is None:
        return "None"
    shown = secret[: min(4, len(secret) // 4)]
    return f"{shown}…({len(secret)})"


class CookieJar:
    """Ordered cookie map: the single source of truth for an account's cookies."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._lock = threading.Lock()  # guards _cookies against the WS and scheduler threads
        self._cookies: dict[str, str] = dict(items)

    @classmethod
    def parse(cls, cookie_string: str) -> CookieJar:
        """Parse a browser `Cookie:` header value ("k=v; k2=v2"); later duplicates win, blanks are skipped."""
        jar = cls()
        for part in cookie_string.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name.strip():
                jar._cookies[name.strip()] = value.strip()
        return jar

    def get(self, name: str, default: str | None = None) -> str | None:
        with self._lock:
            return self._cookies.get(name, default)

    def set(self, name: str, value: str) -> None:
        with self._lock:
            self._cookies[name] = value

    def names(self) -> list[str]:
        with self._lock:
            return list(self._cookies)

    def items(self) -> list[tuple[str, str]]:
        """A snapshot, so callers can iterate while another thread merges."""
        with self._lock:
            return list(self._cookies.items())

    @property
    def unb(self) -> str | None:
        """The account's user id; every Goofish login cookie has it."""
        return self.get("unb")

    def merge(self, other: CookieJar | Mapping[str, str]) -> bool:
        """Copy every cookie of `other` over this jar. Returns whether anything changed."""
        incoming = other.items() if isinstance(other, CookieJar) else list(other.items())
        with self._lock:
            before = dict(self._cookies)
            self._cookies.update(incoming)
            return before != self._cookies

    def merge_set_cookie(self, headers: Iterable[str], now: float | None = None) -> bool:
        """Apply `Set-Cookie` header values in order (newest wins). Returns whether anything changed.

        A cookie whose Max-Age is ≤ 0, or whose Expires lies before `now` (epoch seconds), is deleted: that
        is how the server retires e.g. a stale `x5sec`. Max-Age outranks Expires, as in RFC 6265.
        """
        clock = time.time() if now is None else now
        changed = False
        with self._lock:
            for header in headers:
                parsed = _parse_set_cookie(header, clock)
                if parsed is None:
                    continue
                name, value, alive = parsed
                if alive and self._cookies.get(name) != value:
                    self._cookies[name] = value
                    changed = True
                elif not alive and name in self._cookies:
                    del self._cookies[name]
                    changed = True
        return changed

    def to_header(self) -> str:
        """The `Cookie:` request header value."""
        return "; ".join(f"{name}={value}" for name, value in self.items())

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._cookies

    def __len__(self) -> int:
        with self._lock:
            return len(self._cookies)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CookieJar) and self.items() == other.items()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={mask(value)}" for name, value in self.items())
        return f"CookieJar({shown})"


def _parse_set_cookie(header: str, now: float) -> tuple[str, str, bool] | None:
    """(name, value, alive) of one Set-Cookie value, or None when it has no `name=`."""
    first, *attributes = header.split(";")
    name, sep, value = first.strip().partition("=")
    if not sep or not name.strip():
        return None
    attrs = {key.strip().lower(): val.strip() for key, _, val in (a.partition("=") for a in attributes)}
    return name.strip(), value.strip(), _is_alive(attrs, now)


def _is_alive(attrs: Mapping[str, str], now: float) -> bool:
    if "max-age" in attrs:
        try:
            return int(attrs["max-age"]) > 0
        except ValueError:
            pass  # an unparsable Max-Age is ignored (RFC 6265 §5.2.2); fall through to Expires
    if "expires" in attrs:
        expires = http2time(attrs["expires"])
        if expires is not None:
            return expires > now
    return True


def set_cookie_headers(response: requests.Response) -> list[str]:
    """Every Set-Cookie value of a response, one per cookie.

    `response.headers` folds repeated headers with ", ", and Expires dates contain commas, so read the
    unfolded list from urllib3 when it is there; a hand-built Response (tests, adapters) falls back to
    splitting the folded value at commas that start a new `name=`.
    """
    raw_headers: Any = getattr(response.raw, "headers", None)
    if raw_headers is not None and hasattr(raw_headers, "getlist"):
        return [str(value) for value in raw_headers.getlist("Set-Cookie")]
    folded = response.headers.get("Set-Cookie")
    return _FOLDED_SPLIT.split(folded) if folded else []
