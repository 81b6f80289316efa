"""The passport's QR login on the wire (spec §1.3): the login page's form data, a code, and the code's status.

What the web login page does, call for call: ``GET /mini_login.htm`` (``window.viewData.loginFormData`` holds the
fields every later call sends back), ``GET /newlogin/qrcode/generate.do`` (``content.data.{t, ck, codeContent}``),
then ``POST /newlogin/qrcode/query.do`` with ``t`` and ``ck`` until ``qrCodeStatus`` is CONFIRMED (the login's
cookies arrive as Set-Cookie), EXPIRED or CANCELED. A CONFIRMED answer with ``iframeRedirect`` means the platform
wants a check on the phone first. The flow around it (polling, new codes, what the seller sees) is
core/credentials/login.py; this module only speaks HTTP and never logs a cookie.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from core.goofish.cookies import CookieJar, set_cookie_headers
from core.goofish.endpoints import DEFAULT_UA, WEB_ORIGIN, Endpoints
from core.goofish.errors import TransportError

LOGIN_PAGE = "/mini_login.htm"
GENERATE = "/newlogin/qrcode/generate.do"
QUERY = "/newlogin/qrcode/query.do"
PAGE_QUERY = {"lang": "zh_cn", "appName": "xianyu", "appEntrance": "web", "styleType": "vertical",
              "bizParams": "", "notLoadSsoView": "false", "notKeepLogin": "false", "isMobile": "false"}
_VIEW_DATA = re.compile(r"window\.viewData\s*=\s*(\{.*?\})\s*;?\s*</script>", re.S)
# What the page would post when it has no form data of its own (the fields of spec §1.3's hasLogin form).
_FALLBACK_FORM = {"appName": "xianyu", "appEntrance": "web", "fromSite": "77", "bizParams": "taobaoBizLoginFrom=web",
                  "mainPage": "false", "isMobile": "false", "lang": "zh_CN", "umidTag": "SERVER", "returnUrl": ""}


@dataclass(frozen=True)
class QrCode:
    """One generated code: ``content`` is what the app scans; ``t`` and ``ck`` identify it to the passport."""

    t: str
    ck: str
    content: str


@dataclass(frozen=True)
class IdentityCheck:
    """The platform's identity check after a confirmed scan: a second code, scanned for the phone's face check;
    ``query_path`` is polled with ``token`` until the check is CONFIRMED (the login's cookies arrive then)."""

    token: str
    content: str
    query_path: str


@dataclass(frozen=True)
class QrStatus:
    """One poll's answer. ``status``: NEW, SCANED, CONFIRMED, EXPIRED, CANCELED, or ERROR (the passport refused
    the query: ``message`` says why). ``check_url``: CONFIRMED, but the platform wants a phone check there first."""

    status: str
    message: str = ""
    check_url: str | None = None


class PassportQr:
    """One QR login's HTTP conversation. ``jar`` collects every cookie the passport sets: the visitor's, then the
    login's, which is what the account keeps."""

    def __init__(self, endpoints: Endpoints, *, user_agent: str = DEFAULT_UA, timeout: float = 10.0,
                 proxy: str | None = None, session: requests.Session | None = None) -> None:
        self.jar = CookieJar()
        self._base = endpoints.passport.rstrip("/")
        self._http = session or requests.Session()
        self._verify: str | bool = endpoints.ca or True
        self._proxies = {"http": proxy, "https": proxy} if proxy else None
        self._timeout = timeout
        self._headers = {"user-agent": user_agent, "origin": WEB_ORIGIN, "referer": f"{WEB_ORIGIN}/"}
        self._form: dict[str, str] | None = None

    def form(self) -> dict[str, str]:
        """The login page's form data (fetched once per login)."""
        if self._form is None:
            page = self._request("GET", LOGIN_PAGE, params=PAGE_QUERY)
            self._form = _form_data(page.text)
        return self._form

    def generate(self) -> QrCode:
        data = _content(self._request("GET", GENERATE, params=self.form()), GENERATE)
        try:
            return QrCode(str(data["t"]), str(data["ck"]), str(data["codeContent"]))
        except KeyError as missing:
            raise TransportError(f"{GENERATE}: the answer has no {missing}") from None

    def query(self, code: QrCode) -> QrStatus:
        answer = self._request("POST", QUERY, data={**self.form(), "t": code.t, "ck": code.ck})
        data = _content(answer, QUERY, require_success=False)
        status = str(data.get("qrCodeStatus") or "ERROR")
        message = str(data.get("titleMsg") or "")
        if status == "CONFIRMED" and _truthy(data.get("iframeRedirect")):
            return QrStatus(status, message, str(data.get("iframeRedirectUrl") or ""))
        return QrStatus(status, message)

    def identity_check(self, url: str) -> IdentityCheck | None:
        """The check page at ``url``, followed only on the passport's own host (the login's cookies go nowhere
        else); None when it holds no second code (a check the seller finishes on the phone alone)."""
        parts, base = urlsplit(url), urlsplit(self._base)
        if parts.netloc and (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
        view = _view_data(self._request("GET", parts.path + (f"?{parts.query}" if parts.query else "")).text)
        token, content, query = view.get("ivToken"), view.get("qrCodeContent"), view.get("queryUrl")
        if not (token and content and isinstance(query, str) and query.startswith("/")):
            return None
        return IdentityCheck(str(token), str(content), query)

    def check_status(self, check: IdentityCheck) -> str:
        """NEW, SCANED, CONFIRMED (the cookies are in the jar now), EXPIRED, CANCELED, or ERROR."""
        answer = self._request("POST", check.query_path, data={"ivToken": check.token})
        return str(_content(answer, check.query_path, require_success=False).get("status") or "ERROR")

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self._headers, "cookie": self.jar.to_header()}
        try:
            response = self._http.request(method, f"{self._base}{path}", headers=headers, timeout=self._timeout,
                                          proxies=self._proxies, verify=self._verify, allow_redirects=False,
                                          **kwargs)
        except requests.RequestException as exc:
            raise TransportError(f"{path}: {type(exc).__name__} talking to the passport") from exc
        finally:
            self._http.cookies.clear()  # the jar, not requests, keeps cookies
        self.jar.merge_set_cookie(set_cookie_headers(response))
        if response.status_code >= 400:
            raise TransportError(f"{path}: HTTP {response.status_code}")
        return response


def _form_data(html: str) -> dict[str, str]:
    """``window.viewData.loginFormData`` as form fields (booleans as the page posts them), or the constants."""
    form = _view_data(html).get("loginFormData")
    if not isinstance(form, dict) or not form:
        return dict(_FALLBACK_FORM)
    return {str(k): (str(v).lower() if isinstance(v, bool) else "" if v is None else str(v)) for k, v in form.items()}


def _view_data(html: str) -> dict[str, Any]:
    """A passport page's ``window.viewData`` object ({} when it has none)."""
    match = _VIEW_DATA.search(html)
    try:
        view = json.loads(match.group(1)) if match else {}
    except ValueError:
        return {}
    return view if isinstance(view, dict) else {}


def _content(response: requests.Response, path: str, require_success: bool = True) -> dict[str, Any]:
    try:
        content = response.json()["content"]
        data = content.get("data") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise TransportError(f"{path}: HTTP {response.status_code}, not a passport answer") from None
    if require_success and not content.get("success"):
        raise TransportError(f"{path}: the passport refused: {data.get('titleMsg') or 'no reason given'}")
    if not isinstance(data, dict):
        raise TransportError(f"{path}: the passport's data is not an object")
    if not content.get("success") and "qrCodeStatus" not in data:
        return {"qrCodeStatus": "ERROR", "titleMsg": data.get("titleMsg") or "the passport refused the query"}
    return data


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
