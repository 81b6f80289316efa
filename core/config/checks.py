"""The rules on single values of accounts.yml (and between two settings).

Each rule says why a value is unacceptable, or returns None; the loader reports that reason with the
value's FILE:LINE. None of them quotes a secret: a cookie, a proxy or a database URL may carry one.
"""

import difflib
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from core.config.schema import LOG_LEVELS, MatchKind, Settings
from core.goofish.cookies import CookieJar

# Account ids become job ids ("kind:account"), log fields and file names, so they stay plain.
ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
HTTP = ("http", "https")
_ITEM_ID = re.compile(r"\d{1,20}")


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of *choices* to a misspelt *word*, for "did you mean" hints."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return close[0] if close else None


def setting_problem(name: str, value: Any) -> str | None:
    if isinstance(value, str):
        if not value:
            return "must not be empty"
        if name == "log_level" and value.upper() not in LOG_LEVELS:
            return f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}"
        return None
    minimum = Settings.__dataclass_fields__[name].metadata["minimum"]
    if value >= minimum:
        return None
    return f"must not be negative, got {value:g}" if minimum == 0 else f"must be at least {minimum:g}, got {value:g}"


def settings_conflicts(settings: Settings) -> list[tuple[str, str]]:
    """Rules between two settings, as (setting name, message) pairs."""
    conflicts = []
    if settings.token_refresh_jitter >= settings.token_refresh_interval:
        conflicts.append(("token_refresh_jitter", "must be smaller than token_refresh_interval"))
    if settings.reconnect_backoff_cap < settings.reconnect_backoff_base:
        conflicts.append(("reconnect_backoff_cap", "must not be smaller than reconnect_backoff_base"))
    return conflicts


def name_problem(value: str, what: str) -> str | None:
    """Account ids and stock names end up in job ids, log fields and CLI arguments, so they stay plain."""
    return None if ACCOUNT_ID.fullmatch(value) else f"{what} is 1-64 of A-Z a-z 0-9 _ . -, got {value!r}"


def pattern_problem(kind: MatchKind, pattern: str) -> str | None:
    if not pattern.strip():
        return "empty pattern (it would match every message)"
    if kind == "regex":
        try:
            re.compile(pattern)  # re caches it, so KeywordRule compiling it again costs nothing
        except re.error as err:
            return f"bad regex: {err}"
    return None


def item_problem(value: str) -> str | None:
    return None if _ITEM_ID.fullmatch(value) else f"an item id is digits (as in goofish.com/item?id=…), got {value!r}"


def url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    if re.match(rf"({'|'.join(schemes)})://[^/\s]", url):
        return None
    return f"expected a {' or '.join(f'{scheme}://' for scheme in schemes)} URL, got {url!r}"


def proxy_problem(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        port_ok = parts.port is not None or parts.scheme in ("http", "https")
    except ValueError:  # a port that is not a number
        port_ok = False
    if parts.scheme in ("http", "https", "socks5", "socks5h") and parts.hostname and port_ok:
        return None
    return "expected a proxy URL like http://USER:PASS@HOST:PORT (http, https, socks5, socks5h)"


def database_problem(url: str) -> str | None:
    if re.match(r"(sqlite:///|postgresql(\+\w+)?://)", url):
        return None
    return "expected sqlite:///PATH or postgresql://USER:PASS@HOST/DB"


def cookie_problem(cookie: str) -> str | None:
    # Parsed by the same jar the client uses, so what passes here is what the session will send.
    if CookieJar.parse(cookie).unb:
        return None
    return "no unb= in the cookie; copy the whole Cookie header of a logged-in goofish.com tab"
