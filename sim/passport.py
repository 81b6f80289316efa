"""The passport's answer envelope, shared by the QR login, the identity check and the login renewals.

Every passport JSON answer has the same shape: ``{"content": {"data": {...}, "status": 0, "success": bool},
"hasError": false}``; a refusal is ``success: false`` with a ``titleMsg`` (and a ``resultCode``) in ``data``, never
an HTTP error, and cookies always come as Set-Cookie headers (no Domain, sim/httpd.py ``cookie``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.httpd import HttpResponse, cookie

RESULT_OK = 100


def answer(data: Mapping[str, Any], success: bool = True, cookies: Mapping[str, str] | None = None) -> HttpResponse:
    set_cookies = tuple(cookie(name, value) for name, value in (cookies or {}).items())
    return HttpResponse.json({"content": {"data": dict(data), "status": 0, "success": success}, "hasError": False},
                             set_cookies=set_cookies)


def refused(result_code: int, title: str, **extra: Any) -> HttpResponse:
    return answer({"resultCode": result_code, "titleMsg": title, **extra}, success=False)
