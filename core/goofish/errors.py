"""Every exception the Goofish client raises, and the mapping from mtop answers to them.

The tree::

    GoofishError                  anything this package raises on purpose
    ├── TransportError            network failure, timeout, TLS, non-JSON answer (wraps requests' errors)
    ├── FrameError                an LWP frame builder got bad arguments, or a frame is not a JSON object
    └── ApiError(ret, api)        mtop answered, and not with SUCCESS
        ├── TokenExpired          FAIL_SYS_TOKEN_EXOIRED / _EMPTY / _ILLEGAL: merge Set-Cookie and retry
        ├── RiskControl(url)      slider / captcha wall; `url` is the punish page to solve, when given
        ├── SessionExpired        the login itself is dead (also: hasLogin says "not logged in")
        └── IllegalRequest        FAIL_SYS_ILLEGAL_ACCESS: bad sign or parameters

Messages never carry cookie or token values: callers log `str(exc)` freely.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

SUCCESS_MARK = "SUCCESS::调用成功"

# Both spellings: the gateway's own typo "EXOIRED" is what is seen live; the correct one costs nothing.
_TOKEN_CODES = (
    "FAIL_SYS_TOKEN_EXOIRED",
    "FAIL_SYS_TOKEN_EXPIRED",
    "FAIL_SYS_TOKEN_EMPTY",
    "FAIL_SYS_TOKEN_ILLEGAL",
)
_SESSION_MARKS = ("FAIL_SYS_SESSION_EXPIRED", "Session过期")
# The bots' union of risk-control markers in `ret` (spec §1.2). "哎哟喂,被挤爆啦" is seen with an ASCII and a
# full-width comma, so the marker starts after the comma and matches both.
_RISK_MARKS = (
    "FAIL_SYS_USER_VALIDATE",
    "RGV587_ERROR",
    "被挤爆啦",
    "挤爆了",
    "punish?x5secdata",
)
_RISK_URL = re.compile(r"punish|captcha|validate", re.IGNORECASE)
_ILLEGAL_MARK = "FAIL_SYS_ILLEGAL_ACCESS"
_MAX_RET_CHARS = 200


class GoofishError(Exception):
    """Base of everything raised on purpose by `core.goofish`."""


class TransportError(GoofishError):
    """The request did not produce a usable mtop answer (connection, timeout, TLS, HTML error page)."""


class FrameError(GoofishError, ValueError):
    """A frame builder was given bad arguments, or received text is not a JSON object frame."""


class ApiError(GoofishError):
    """mtop answered with a failure code.

    `ret` is the server's list as received; `detail` explains failures the server did not name, such as a
    SUCCESS answer that lacks the field the caller needs.
    """

    def __init__(self, ret: Sequence[str], api: str, detail: str = "") -> None:
        self.ret: list[str] = [str(code) for code in ret]
        self.api = api
        self.detail = detail
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [code[:_MAX_RET_CHARS] for code in self.ret]
        if self.detail:
            parts.append(self.detail)
        return f"{self.api}: {'; '.join(parts) or 'failed'}"


class TokenExpired(ApiError):
    """`_m_h5_tk` is missing, stale or mismatched; the answer's Set-Cookie carries a fresh one."""


class RiskControl(ApiError):
    """The gateway wants a slider/captcha solved first. `url` is the page to open (may be None)."""

    def __init__(self, ret: Sequence[str], api: str, url: str | None = None) -> None:
        self.url = url
        super().__init__(ret, api, detail=f"verify at {_url_without_query(url)}" if url else "")


class SessionExpired(ApiError):
    """The login cookies are dead: a new cookie (QR or password login) is needed, retrying will not help."""


class IllegalRequest(ApiError):
    """The gateway rejected the request itself: usually a wrong sign or missing parameters."""


def _url_without_query(url: str) -> str:
    """The punish URL's query holds one-shot verification data; messages keep only where it points."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else "(unparsable url)"


def _risk_url(data: Any) -> str | None:
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url else None


def classify_ret(api: str, ret: Any, data: Any) -> ApiError | None:
    """Map an mtop answer to the exception it means, or None when it succeeded.

    Success is "some ret element contains SUCCESS::调用成功" (what every bot tests). The order of the checks
    matters: a risk-control wall first (it is the one that needs a human), then a dead session (retrying a
    token is pointless), then the token family (recoverable), then a bad request.
    """
    codes = [str(code) for code in ret] if isinstance(ret, list) else []
    if any(SUCCESS_MARK in code for code in codes):
        return None
    joined = " ".join(codes)
    url = _risk_url(data)
    if any(mark in joined for mark in _RISK_MARKS) or (url and _RISK_URL.search(url)):
        return RiskControl(codes, api, url)
    if any(mark in joined for mark in _SESSION_MARKS):
        return SessionExpired(codes, api)
    if any(code in joined for code in _TOKEN_CODES):
        return TokenExpired(codes, api)
    if _ILLEGAL_MARK in joined:
        return IllegalRequest(codes, api)
    return ApiError(codes, api, detail="" if codes else "answer has no ret")
