"""The mtop (h5api) HTTP client and the passport login check (spec §1.2, §1.3).

The account's `CookieJar` is the single source of truth for cookies: every request sends the jar as an
explicit Cookie header, every Set-Cookie is merged back into it, and requests' own session cookie jar is
cleared after each request (otherwise a domain-less seed cookie and a server update would coexist and the
wrong one could be sent). Redirects are not followed, because requests rebuilds the Cookie header from its
own jar on a redirect.

A TokenExpired answer carries a fresh `_m_h5_tk` in Set-Cookie; `call` merges it and retries exactly once.
Calls are serialised per client (one lock) so a token refresh and its retry always see one jar state.
Nothing here logs or raises with cookie or token values.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from core.goofish.cookies import CookieJar, mask, set_cookie_headers
from core.goofish.endpoints import DEFAULT_UA, WEB_ORIGIN, Endpoints
from core.goofish.errors import ApiError, SessionExpired, TokenExpired, TransportError, classify_ret
from core.goofish.ids import Clock, now_ms
from core.goofish.lenient import dig, int_or_none, text_or_none
from core.goofish.sign import APP_KEY_IM, APP_KEY_SIGN, h5_token, mtop_sign

API_LOGIN_TOKEN = "mtop.taobao.idlemessage.pc.login.token"
API_ITEM_DETAIL = "mtop.taobao.idle.pc.detail"
API_CONSIGN = "mtop.taobao.idle.logistic.consign.dummy"
API_ORDER_DETAIL = "mtop.idle.web.trade.order.detail"
HAS_LOGIN = "passport.hasLogin"
SILENT_HAS_LOGIN = "passport.silentHasLogin"
SET_LOGIN_SETTINGS = "passport.setLoginSettings"

# When login.token omits accessTokenExpiredTime, assume an hour: the public bots refresh hourly anyway.
_FALLBACK_TOKEN_LIFETIME_MS = 3_600_000

# Constant part of the hasLogin form, as the web page posts it (spec §1.3).
_HAS_LOGIN_FORM = {
    "ltl": "true",
    "appName": "xianyu",
    "appEntrance": "web",
    "umidToken": "",
    "returnUrl": "",
    "bizParams": "taobaoBizLoginFrom=web",
    "mainPage": "false",
    "isMobile": "false",
    "lang": "zh_CN",
    "fromSite": "77",
    "isIframe": "true",
    "documentReferer": f"{WEB_ORIGIN}/",
    "defaultView": "hasLogin",
    "umidTag": "SERVER",
}


@dataclass(frozen=True, repr=False)
class TokenInfo:
    """The IM access token for `/reg`; `expires_at_ms` is absolute (epoch ms)."""

    access_token: str
    expires_at_ms: int
    refresh_token: str | None

    def __repr__(self) -> str:
        return (
            f"TokenInfo(access_token={mask(self.access_token)}, expires_at_ms={self.expires_at_ms}, "
            f"refresh_token={mask(self.refresh_token)})"
        )


@dataclass(frozen=True)
class ItemInfo:
    """A listing as the item detail API describes it; `price` is the yuan string (e.g. "9.90")."""

    item_id: str
    title: str
    price: str | None
    desc: str
    quantity: int | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class OrderInfo:
    """What an order detail says about quantity and the amount paid (yuan string); None when absent."""

    order_id: str
    quantity: int | None
    amount: str | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def compact_json(data: Mapping[str, Any]) -> str:
    """The `data=` form value as the web client writes it (and as the sign covers it): no spaces."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class MtopClient:
    """Signed calls to the mtop gateway for one account, plus the passport hasLogin check."""

    def __init__(
        self,
        jar: CookieJar,
        endpoints: Endpoints,
        *,
        session: requests.Session | None = None,
        user_agent: str = DEFAULT_UA,
        timeout: float = 10.0,
        proxy: str | None = None,
        on_cookies_changed: Callable[[CookieJar], None] | None = None,
        clock: Clock = now_ms,
    ) -> None:
        self._jar = jar
        self._endpoints = endpoints
        self._session = session or requests.Session()
        self._user_agent = user_agent
        self._timeout = timeout
        self._proxies = {"http": proxy, "https": proxy} if proxy else None
        self._verify: str | bool = endpoints.ca or True
        self._on_cookies_changed = on_cookies_changed
        self._clock = clock
        self._call_lock = threading.Lock()  # one request (and its token retry) at a time per account

    # ---- transport ------------------------------------------------------------------------------------------

    def _post(self, label: str, url: str, form: Mapping[str, str], params: Mapping[str, str] | None = None) -> Any:
        """POST a form with the jar's cookies; merge Set-Cookie; return the decoded JSON answer."""
        headers = {
            "accept": "application/json",
            "content-type": "application/x-www-form-urlencoded",
            "origin": WEB_ORIGIN,
            "referer": f"{WEB_ORIGIN}/",
            "user-agent": self._user_agent,
            "cookie": self._jar.to_header(),
        }
        try:
            response = self._session.post(
                url, params=params, data=form, headers=headers, timeout=self._timeout,
                proxies=self._proxies, verify=self._verify, allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise TransportError(f"{label}: {type(exc).__name__} talking to {urlsplit(url).netloc}") from exc
        finally:
            self._session.cookies.clear()  # the jar, not requests, keeps cookies
        if self._jar.merge_set_cookie(set_cookie_headers(response)) and self._on_cookies_changed:
            self._on_cookies_changed(self._jar)
        try:
            return response.json()
        except ValueError:
            raise TransportError(f"{label}: HTTP {response.status_code}, answer is not JSON") from None

    def _call_once(self, api: str, data: str, v: str, extra_params: Mapping[str, str] | None) -> dict[str, Any]:
        t = str(self._clock())
        params = {
            "jsv": "2.7.2",
            "appKey": APP_KEY_SIGN,
            "t": t,
            "sign": mtop_sign(h5_token(self._jar), t, data),
            "v": v,
            "type": "originaljson",
            "dataType": "json",
            "accountSite": "xianyu",
            "timeout": "20000",
            "api": api,
            "sessionOption": "AutoLoginOnly",
            "spm_cnt": "a21ybx.im.0.0",
            **(extra_params or {}),
        }
        answer = self._post(api, self._endpoints.mtop_url(api, v), {"data": data}, params)
        if not isinstance(answer, dict):
            raise TransportError(f"{api}: answer is a JSON {type(answer).__name__}, expected an object")
        return answer

    def call(
        self, api: str, data: Mapping[str, Any] | str, v: str = "1.0", extra_params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Call `api` and return its `data` object ({} when absent). Raises an ApiError subclass or
        TransportError. A string `data` is sent (and signed) verbatim."""
        body = data if isinstance(data, str) else compact_json(data)
        with self._call_lock:
            answer = self._call_once(api, body, v, extra_params)
            error = classify_ret(api, answer.get("ret"), answer.get("data"))
            if isinstance(error, TokenExpired):
                # The answer's Set-Cookie (already merged) carries a fresh _m_h5_tk: sign again with it, once.
                answer = self._call_once(api, body, v, extra_params)
                error = classify_ret(api, answer.get("ret"), answer.get("data"))
        if error is not None:
            raise error
        result = answer.get("data")
        return result if isinstance(result, dict) else {}

    # ---- typed APIs -----------------------------------------------------------------------------------------

    def login_token(self, device_id: str) -> TokenInfo:
        """The IM access token for `/reg`; `device_id` must be the one the `/reg` frame will carry."""
        data = self.call(API_LOGIN_TOKEN, {"appKey": APP_KEY_IM, "deviceId": device_id})
        access_token = text_or_none(data.get("accessToken"))
        if access_token is None:
            raise ApiError([], API_LOGIN_TOKEN, detail="answer has no data.accessToken")
        lifetime = int_or_none(data.get("accessTokenExpiredTime")) or _FALLBACK_TOKEN_LIFETIME_MS
        return TokenInfo(access_token, self._clock() + lifetime, text_or_none(data.get("refreshToken")))

    def item_detail(self, item_id: str) -> ItemInfo:
        data = self.call(API_ITEM_DETAIL, {"itemId": str(item_id)})
        item = data.get("itemDO")
        if not isinstance(item, dict):
            raise ApiError([], API_ITEM_DETAIL, detail=f"answer has no data.itemDO for item {item_id}")
        return ItemInfo(
            item_id=str(item_id),
            title=text_or_none(item.get("title")) or "",
            price=text_or_none(item.get("soldPrice")) or _decimal_text(item.get("soldPrice")),
            desc=text_or_none(item.get("desc")) or "",
            quantity=int_or_none(item.get("quantity")),
            raw=data,
        )

    def confirm_shipment(self, order_id: str) -> None:
        """Mark a virtual-goods order shipped ("无需物流"). The data string is ZN's literal, space included."""
        data = f'{{"orderId":{json.dumps(str(order_id))}, "tradeText":"","picList":[],"newUnconsign":true}}'
        self.call(API_CONSIGN, data)

    def order_detail(self, order_id: str) -> OrderInfo:
        """Quantity and amount from the `orderInfoVO` component of the order detail."""
        data = self.call(API_ORDER_DETAIL, {"tid": str(order_id)})
        info = _component_data(data.get("components"), "orderInfoVO")
        return OrderInfo(
            order_id=str(order_id),
            quantity=int_or_none(dig(info, "itemInfo", "buyAmount")),
            amount=text_or_none(dig(info, "priceInfo", "amount", "value")),
            raw=data,
        )

    def has_login(self) -> bool:
        """True when passport still knows the login; SessionExpired otherwise (a new login is needed)."""
        if not self._passport(HAS_LOGIN, self._endpoints.has_login_url()):
            raise SessionExpired([], HAS_LOGIN, detail="passport says not logged in")
        return True

    def silent_has_login(self) -> bool:
        """The web SDK's silent login: a new session (``cookie2``) from the long login; False when passport says
        no (the long login is gone too, or the platform wants a pause: see ``sdkSilent``)."""
        return self._passport(SILENT_HAS_LOGIN, self._endpoints.silent_has_login_url())

    def set_login_settings(self) -> bool:
        """``status=0``: passport re-issues the long login (about 30 days) for a live login; False when it says no."""
        return self._passport(SET_LOGIN_SETTINGS, self._endpoints.set_login_settings_url(), status="0")

    def _passport(self, label: str, url: str, **extra: str) -> bool:
        form = {
            "hid": self._jar.get("unb") or "",
            "hsiz": self._jar.get("cookie2") or "",
            "_csrf_token": self._jar.get("XSRF-TOKEN") or "",
            "deviceId": self._jar.get("cna") or "",
            **_HAS_LOGIN_FORM,
            **extra,
        }
        with self._call_lock:
            answer = self._post(label, url, form)
        return bool(dig(answer, "content", "success"))


def _decimal_text(value: Any) -> str | None:
    """A numeric price rendered as text (the API normally sends a string, some fakes send a number)."""
    return str(value) if isinstance(value, float) else None


def _component_data(components: Any, render: str) -> Any:
    """The `data` of the first component rendered as `render` (order detail pages are component lists)."""
    if not isinstance(components, list):
        return None
    return next((c.get("data") for c in components if isinstance(c, dict) and c.get("render") == render), None)
