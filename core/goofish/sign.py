"""The mtop request signature and the `_m_h5_tk` token it is keyed with (spec §2.1).

`_m_h5_tk` is `<32 hex token>_<expiry ms>`; the sign is md5 over "token&t&appKey&data" where `t` and `data`
are byte-for-byte what goes on the wire, so callers must sign the exact strings they send.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from core.goofish.cookies import CookieJar
from core.goofish.lenient import int_or_none

APP_KEY_SIGN = "34839810"
"""The h5api appKey that goes into the sign and the `appKey` query parameter."""

APP_KEY_IM = "444e9908a51d1cb236a27862abc769c9"
"""The IM app-key: the login.token request body and the `/reg` frame. Not the sign key."""

H5_TOKEN_COOKIE = "_m_h5_tk"

TokenSource = str | CookieJar | Mapping[str, str] | None


def mtop_sign(token: str, t: str, data: str, app_key: str = APP_KEY_SIGN) -> str:
    """md5 hex of "token&t&app_key&data" (UTF-8). An empty token is valid: the server answers TOKEN_EMPTY
    and sets the cookie, which is how a fresh jar gets its first token."""
    return hashlib.md5(f"{token}&{t}&{app_key}&{data}".encode()).hexdigest()


def _cookie_value(source: TokenSource) -> str:
    """The raw `_m_h5_tk` value from a cookie value, a jar or a name → value mapping."""
    if source is None:
        return ""
    if isinstance(source, str):
        return source
    return source.get(H5_TOKEN_COOKIE) or ""  # CookieJar and Mapping share .get


def h5_token(source: TokenSource) -> str:
    """The token part of `_m_h5_tk` (before the first "_"), or "" when there is no such cookie."""
    return _cookie_value(source).split("_", 1)[0]


def h5_token_expiry_ms(source: TokenSource) -> int | None:
    """The expiry (epoch ms) carried after the "_" of `_m_h5_tk`, or None when absent or not a number."""
    _, sep, expiry = _cookie_value(source).partition("_")
    return int_or_none(expiry) if sep else None
