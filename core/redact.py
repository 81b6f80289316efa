"""Keeping secrets out of logs: a masking helper and a logging filter as a last line of defence.

Code should never log a cookie or token in the first place; this filter catches the ones that slip in
through third-party messages (a requests exception that quotes a URL, a repr of a header dict).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from core.goofish.cookies import mask

# Names whose values are credentials (cookie names of spec §2.3, the IM token, API keys).
_SECRET_NAMES = (
    "unb", "_m_h5_tk", "_m_h5_tk_enc", "cookie2", "sgcookie", "x5sec", "x5secdata", "cna", "XSRF-TOKEN",
    "_tb_token_", "tracknick", "havana_lgc2_77", "_hvn_lgc_", "csg", "isg", "tfstk", "t",
    "accessToken", "refreshToken", "token", "api_key", "apikey", "password",
)
_PATTERN = re.compile(
    r"(?P<name>(?<![\w-])(?:" + "|".join(re.escape(n) for n in _SECRET_NAMES) + r"))"
    r"(?P<sep>\"?\s*[=:]\s*\"?)(?P<value>[^;\"'\s,&}]{4,})"
)


# API keys quoted on their own: an endpoint's "Incorrect API key provided: sk-…", an Authorization header.
_BARE_KEY = re.compile(r"(?P<lead>\b(?:sk|pk|rk)-|Bearer\s+)(?P<value>[A-Za-z0-9_\-.]{8,})")


# Secrets known only at run time (the tokens inside notification URLs): masked wherever they appear.
_HIDDEN: frozenset[str] = frozenset()


def hide(values: Iterable[str]) -> None:
    """Mask these literal values in every log line from now on (a channel's token, say)."""
    global _HIDDEN
    _HIDDEN = _HIDDEN | {value for value in values if value}


def redact(text: str) -> str:
    """Mask every ``name=value`` / ``"name": "value"`` pair whose name is a known secret, bare API keys and the
    values given to ``hide``."""
    for value in sorted(_HIDDEN, key=len, reverse=True) if _HIDDEN else ():
        if value in text:
            text = text.replace(value, mask(value))
    text = _PATTERN.sub(lambda m: f"{m['name']}{m['sep']}{mask(m['value'])}", text)
    return _BARE_KEY.sub(lambda m: f"{m['lead']}{mask(m['value'])}", text)


class RedactFilter(logging.Filter):
    """Rewrites each record's final message with secrets masked (args are folded in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, masked, so a formatter cannot print the raw exception text.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
