"""MtopClient against a tiny local gateway on 127.0.0.1 that checks the sign like the real one would:
token retry, risk control, dead sessions, timeouts, typed APIs, and no secrets in exception messages."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from core.goofish.cookies import CookieJar
from core.goofish.endpoints import Endpoints
from core.goofish.errors import ApiError, RiskControl, SessionExpired, TokenExpired, TransportError
from core.goofish.mtop import MtopClient

STALE_TOKEN = "0badc0de0badc0de0badc0de0badc0de"
FRESH_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
COOKIE2 = "SECRETcookie2SECRETcookie2SECRET"
SEED = f"unb=2202640918079; cookie2={COOKIE2}; _m_h5_tk={STALE_TOKEN}_1754570160098; _m_h5_tk_enc=encold; cna=CNAVALUE; XSRF-TOKEN=XSRFVALUE"
PUNISH = "http://127.0.0.1/h5/x/1.0/_____tmd_____/punish?x5secdata=SECRETX5DATA&x5step=2&action=captcha"
OK = ["SUCCESS::调用成功"]

Answer = tuple[dict[str, Any], list[str]]  # (JSON body, Set-Cookie values)


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]
    headers: dict[str, str]
    sign_ok: bool


@dataclass
class Gateway:
    """Answers each request with `handler(seen)`; records what it saw."""

    handler: Callable[[Seen], Answer]
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""


def _sign_ok(query: dict[str, str], form: dict[str, str], cookies: dict[str, str]) -> bool:
    token = cookies.get("_m_h5_tk", "").split("_")[0]
    expected = hashlib.md5(f"{token}&{query.get('t')}&34839810&{form.get('data', '')}".encode()).hexdigest()
    return query.get("sign") == expected


def _handler_class(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            cookies = dict(CookieJar.parse(self.headers.get("Cookie", "")).items())
            seen = Seen(parts.path, query, form, cookies, {k.lower(): v for k, v in self.headers.items()}, _sign_ok(query, form, cookies))
            gateway.seen.append(seen)
            body, set_cookies = gateway.handler(seen)
            payload = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            for value in set_cookies:
                self.send_header("Set-Cookie", value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway(handler=lambda seen: ({"ret": OK, "data": {}}, []))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(gw))
    server.daemon_threads = True
    gw.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield gw
    gw.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def make_client(gw: Gateway, jar: CookieJar | None = None, **kwargs: Any) -> MtopClient:
    return MtopClient(jar or CookieJar.parse(SEED), Endpoints("ws://127.0.0.1:1/", gw.url, gw.url), **kwargs)


def token_gateway(seen: Seen) -> Answer:
    """The real gateway's behaviour: a stale token gets TOKEN_EXOIRED plus a fresh `_m_h5_tk` cookie."""
    if not seen.sign_ok:
        return {"ret": ["FAIL_SYS_ILLEGAL_ACCESS::非法请求"], "data": {}}, []
    if seen.cookies.get("_m_h5_tk", "").split("_")[0] != FRESH_TOKEN:
        fresh = [f"_m_h5_tk={FRESH_TOKEN}_1999999999999; Path=/", "_m_h5_tk_enc=encnew; Path=/"]
        return {"ret": ["FAIL_SYS_TOKEN_EXOIRED::令牌过期"], "data": {}}, fresh
    return {"api": seen.query["api"], "ret": OK, "v": "1.0",
            "data": {"accessToken": "ACCESSTOKENSECRET", "accessTokenExpiredTime": "86400000", "refreshToken": "REFRESHSECRET"}}, []


def assert_no_secrets(error: BaseException) -> None:
    for text in (str(error), repr(error)):
        for secret in (STALE_TOKEN, FRESH_TOKEN, COOKIE2, "CNAVALUE", "XSRFVALUE", "SECRETX5DATA", "ACCESSTOKENSECRET"):
            assert secret not in text


def test_query_form_and_headers_are_exact(gateway: Gateway) -> None:
    gateway.handler = lambda seen: ({"ret": OK, "data": {"x": 1}}, [])
    client = make_client(gateway, clock=lambda: 1754570160000)
    assert client.call("mtop.some.api", {"itemId": "1", "text": "包邮"}) == {"x": 1}
    seen = gateway.seen[0]
    assert seen.path == "/h5/mtop.some.api/1.0/"
    assert list(seen.query) == ["jsv", "appKey", "t", "sign", "v", "type", "dataType", "accountSite", "timeout",
                                "api", "sessionOption", "spm_cnt"]
    assert seen.query["appKey"] == "34839810" and seen.query["t"] == "1754570160000"
    assert seen.query["type"] == "originaljson" and seen.query["dataType"] == "json"
    assert seen.query["api"] == "mtop.some.api" and seen.query["sessionOption"] == "AutoLoginOnly"
    assert seen.form == {"data": '{"itemId":"1","text":"包邮"}'}
    assert seen.sign_ok
    assert seen.headers["origin"] == "https://www.goofish.com"
    assert seen.headers["referer"] == "https://www.goofish.com/"
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.headers["accept"] == "application/json"
    assert "Chrome/133" in seen.headers["user-agent"]
    assert seen.cookies["cookie2"] == COOKIE2


def test_token_expired_retries_once_with_the_fresh_cookie(gateway: Gateway) -> None:
    gateway.handler = token_gateway
    changes: list[str] = []
    jar = CookieJar.parse(SEED)
    client = make_client(gateway, jar, on_cookies_changed=lambda j: changes.append(j.get("_m_h5_tk") or ""))
    token = client.login_token("DEVICE-2202640918079")
    assert len(gateway.seen) == 2
    assert all(s.sign_ok for s in gateway.seen)
    assert gateway.seen[1].cookies["_m_h5_tk"].startswith(FRESH_TOKEN)
    assert jar.get("_m_h5_tk") == f"{FRESH_TOKEN}_1999999999999" and jar.get("_m_h5_tk_enc") == "encnew"
    assert changes == [f"{FRESH_TOKEN}_1999999999999"]
    assert token.access_token == "ACCESSTOKENSECRET" and token.refresh_token == "REFRESHSECRET"
    assert gateway.seen[0].form["data"] == '{"appKey":"444e9908a51d1cb236a27862abc769c9","deviceId":"DEVICE-2202640918079"}'
    assert "ACCESSTOKENSECRET" not in repr(token) and "REFRESHSECRET" not in repr(token)


def test_token_expiry_is_absolute(gateway: Gateway) -> None:
    gateway.handler = token_gateway
    jar = CookieJar.parse(SEED.replace(STALE_TOKEN, FRESH_TOKEN))
    token = make_client(gateway, jar, clock=lambda: 1_000_000).login_token("D")
    assert token.expires_at_ms == 1_000_000 + 86_400_000
    assert len(gateway.seen) == 1  # a valid token needs no retry


def test_second_token_expired_raises(gateway: Gateway) -> None:
    gateway.handler = lambda seen: ({"ret": ["FAIL_SYS_TOKEN_EXOIRED::令牌过期"], "data": {}},
                                    [f"_m_h5_tk={FRESH_TOKEN}_1; Path=/"])
    with pytest.raises(TokenExpired) as caught:
        make_client(gateway).call("mtop.x", {})
    assert len(gateway.seen) == 2
    assert_no_secrets(caught.value)


def test_risk_control_carries_the_url(gateway: Gateway) -> None:
    gateway.handler = lambda seen: (
        {"ret": ["FAIL_SYS_USER_VALIDATE", "RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试"], "data": {"url": PUNISH}}, [])
    with pytest.raises(RiskControl) as caught:
        make_client(gateway).login_token("D")
    assert caught.value.url == PUNISH
    assert len(gateway.seen) == 1
    assert_no_secrets(caught.value)


def test_session_expired(gateway: Gateway) -> None:
    gateway.handler = lambda seen: ({"ret": ["FAIL_SYS_SESSION_EXPIRED::Session过期"], "data": {}}, [])
    with pytest.raises(SessionExpired) as caught:
        make_client(gateway).item_detail("1")
    assert_no_secrets(caught.value)


def test_timeout_is_a_quick_transport_error(gateway: Gateway) -> None:
    def slow(seen: Seen) -> Answer:
        gateway.release.wait(5)
        return {"ret": OK, "data": {}}, []

    gateway.handler = slow
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        make_client(gateway, timeout=0.3).call("mtop.x", {})
    assert time.monotonic() - started < 2
    assert "Timeout" in str(caught.value)
    assert_no_secrets(caught.value)
    assert isinstance(caught.value.__cause__, requests.RequestException)


def closed_port() -> int:
    """A port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_a_transport_error() -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    client = MtopClient(CookieJar.parse(SEED), Endpoints("ws://127.0.0.1:1/", base, base))
    with pytest.raises(TransportError) as caught:
        client.call("mtop.x", {})
    assert_no_secrets(caught.value)


def test_non_json_answer_is_a_transport_error(gateway: Gateway) -> None:
    client = make_client(gateway)
    gateway.handler = lambda seen: ({"ret": OK}, [])
    original = client._session.post  # noqa: SLF001 - swap the answer body for an HTML page

    def html_post(*args: Any, **kwargs: Any) -> requests.Response:
        response = original(*args, **kwargs)
        response._content = b"<html>502</html>"  # noqa: SLF001
        return response

    client._session.post = html_post  # type: ignore[method-assign]  # noqa: SLF001
    with pytest.raises(TransportError, match="not JSON"):
        client.call("mtop.x", {})


def test_item_detail(gateway: Gateway) -> None:
    gateway.handler = lambda seen: ({"ret": OK, "data": {"itemDO": {
        "title": "二手键盘", "desc": "九成新", "soldPrice": "9.90", "quantity": "3", "skuList": []}}}, [])
    item = make_client(gateway).item_detail("900052644277")
    assert (item.item_id, item.title, item.price, item.desc, item.quantity) == ("900052644277", "二手键盘", "9.90", "九成新", 3)
    assert gateway.seen[0].form["data"] == '{"itemId":"900052644277"}'
    assert gateway.seen[0].path == "/h5/mtop.taobao.idle.pc.detail/1.0/"
    gateway.handler = lambda seen: ({"ret": OK, "data": {}}, [])
    with pytest.raises(ApiError, match="itemDO"):
        make_client(gateway).item_detail("1")


def test_confirm_shipment_sends_the_literal_data(gateway: Gateway) -> None:
    make_client(gateway).confirm_shipment("2503688126356636370")
    seen = gateway.seen[0]
    assert seen.path == "/h5/mtop.taobao.idle.logistic.consign.dummy/1.0/"
    assert seen.form["data"] == '{"orderId":"2503688126356636370", "tradeText":"","picList":[],"newUnconsign":true}'
    assert seen.sign_ok


def test_order_detail(gateway: Gateway) -> None:
    components = [{"render": "other", "data": {}},
                  {"render": "orderInfoVO", "data": {"itemInfo": {"buyAmount": 2}, "priceInfo": {"amount": {"value": "19.80"}}}}]
    gateway.handler = lambda seen: ({"ret": OK, "data": {"components": components}}, [])
    order = make_client(gateway).order_detail("2503688126356636370")
    assert (order.order_id, order.quantity, order.amount) == ("2503688126356636370", 2, "19.80")
    assert gateway.seen[0].form["data"] == '{"tid":"2503688126356636370"}'
    gateway.handler = lambda seen: ({"ret": OK, "data": {"components": "x"}}, [])
    assert make_client(gateway).order_detail("1").quantity is None


def test_has_login(gateway: Gateway) -> None:
    gateway.handler = lambda seen: ({"content": {"success": True}}, ["cookie2=renewed; Path=/"])
    jar = CookieJar.parse(SEED)
    assert make_client(gateway, jar).has_login() is True
    seen = gateway.seen[0]
    assert seen.path == "/newlogin/hasLogin.do"
    assert seen.query == {"appName": "xianyu", "fromSite": "77"}
    assert seen.form["hid"] == "2202640918079" and seen.form["hsiz"] == COOKIE2
    assert seen.form["_csrf_token"] == "XSRFVALUE" and seen.form["deviceId"] == "CNAVALUE"
    assert seen.form["defaultView"] == "hasLogin" and seen.form["umidToken"] == ""
    assert jar.get("cookie2") == "renewed"


def test_has_login_false_is_session_expired(gateway: Gateway) -> None:
    gateway.handler = lambda seen: ({"content": {"success": False}}, [])
    with pytest.raises(SessionExpired) as caught:
        make_client(gateway).has_login()
    assert_no_secrets(caught.value)


def test_requests_session_keeps_no_cookies(gateway: Gateway) -> None:
    # The server sets a cookie on every answer; the jar gets it, requests' own jar must not keep a copy.
    gateway.handler = lambda seen: ({"ret": OK, "data": {}}, ["x5sec=abc; Path=/"])
    session = requests.Session()
    jar = CookieJar.parse(SEED)
    client = make_client(gateway, jar, session=session)
    client.call("mtop.x", {})
    jar.merge_set_cookie(["x5sec=; Max-Age=0"])
    client.call("mtop.x", {})
    assert len(session.cookies) == 0
    assert "x5sec" not in gateway.seen[1].cookies  # deleted in the jar ⇒ not sent


def test_ca_and_proxy_reach_requests(gateway: Gateway) -> None:
    calls: list[dict[str, Any]] = []
    proxy = f"http://127.0.0.1:{closed_port()}"

    class Recording(requests.Session):
        def post(self, url: Any, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            calls.append(kwargs)
            return super().post(url, data=data, json=json, **kwargs)

    client = MtopClient(CookieJar.parse(SEED), Endpoints("wss://127.0.0.1:1/", gateway.url, gateway.url, ca="/tmp/ca.pem"),
                        session=Recording(), proxy=proxy)
    with pytest.raises(TransportError):
        client.call("mtop.x", {})  # the proxy port is closed
    assert calls[0]["verify"] == "/tmp/ca.pem"
    assert calls[0]["proxies"] == {"http": proxy, "https": proxy}
    assert calls[0]["timeout"] == 10.0 and calls[0]["allow_redirects"] is False
