"""A small Goofish client for the simulator's tests, written from goofish-protocol.md (deliberately not core/):
a cookie dict, signed mtop calls, and a blocking IM socket (websocket-client) that keeps unread pushes aside."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from typing import Any

import msgpack
import requests
import websocket

SIGN_APP_KEY = "34839810"
IM_APP_KEY = "444e9908a51d1cb236a27862abc769c9"
TOKEN_API = "mtop.taobao.idlemessage.pc.login.token"
UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 "
      "Safari/537.36")

Frame = dict[str, Any]
HAS_LOGIN_FORM = {"umidToken": "", "returnUrl": "", "ltl": "true", "appName": "xianyu", "appEntrance": "web",
                  "bizParams": "taobaoBizLoginFrom=web", "mainPage": "false", "isMobile": "false", "lang": "zh_CN",
                  "fromSite": "77", "isIframe": "true", "documentReferer": "https://www.goofish.com/",
                  "defaultView": "hasLogin", "umidTag": "SERVER"}
SILENT_HAS_LOGIN = ("/newlogin/silentHasLogin.do?documentReferer=https%3A%2F%2Fwww.goofish.com%2F"
                    "&appEntrance=xianyu_sdkSilent&appName=xianyu&fromSite=0&ltl=true")


def sign(token: str, t: str, data: str) -> str:
    return hashlib.md5(f"{token}&{t}&{SIGN_APP_KEY}&{data}".encode()).hexdigest()


def device_id(unb: str) -> str:
    hexdigits = "0123456789ABCDEF"
    chars = []
    for i in range(36):
        r = random.randrange(16)
        if i in (8, 13, 18, 23):
            chars.append("-")
        elif i == 14:
            chars.append("4")
        elif i == 19:
            chars.append(hexdigits[(r & 3) | 8])
        else:
            chars.append(hexdigits[r])
    return "".join(chars) + "-" + unb


def client_mid() -> str:
    return f"{random.randint(0, 999)}{int(time.time() * 1000)} 0"


def parse_cookie(cookie: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in cookie.split(";") if "=" in part)


def set_cookies(response: requests.Response) -> dict[str, str]:
    """name → value of every Set-Cookie header (requests folds them into one header; urllib3 keeps them apart)."""
    return dict(value.split(";", 1)[0].split("=", 1) for value in response.raw.headers.getlist("Set-Cookie"))


def view_data(page: str) -> dict[str, Any]:
    """The `window.viewData = {...};` object of a passport page."""
    match = re.search(r"window\.viewData\s*=\s*(\{.*?\});</script>", page)
    assert match, page
    return json.loads(match.group(1))


def decode_item(item: dict[str, Any]) -> Any:
    """A push data item: msgpack with int keys, or (objectType 370000) JSON."""
    raw = base64.b64decode(item["data"])
    if item["objectType"] == 370000:
        return json.loads(raw)
    return msgpack.unpackb(raw, strict_map_key=False)


class Control:
    def __init__(self, urls: dict[str, str]) -> None:
        self.base = urls["control"]
        self.verify: str | bool = urls.get("ca", True)

    def post(self, call: str, body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        response = requests.post(f"{self.base}/{call}", json=body, verify=self.verify, timeout=10)
        assert response.status_code == expect, response.text
        return response.json()

    def get(self, call: str, expect: int = 200, **params: Any) -> dict[str, Any]:
        response = requests.get(f"{self.base}/{call}", params=params, verify=self.verify, timeout=10)
        assert response.status_code == expect, response.text
        return response.json()

    def account(self, unb: str) -> dict[str, Any]:
        return self.get("state")["accounts"][unb]

    def fault(self, seller: str, kind: str, count: int, **extra: Any) -> None:
        self.post("faults", {"seller": seller, "kind": kind, "count": count, **extra})


class Passport:
    """A browser-less web client of the passport: the login page's form data, then generate and poll."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.base = urls["passport"]
        self.http = requests.Session()
        page = self.http.get(f"{self.base}/mini_login.htm", params={"appName": "xianyu", "fromSite": "77"},
                             timeout=5)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        self.form: dict[str, Any] = view_data(page.text)["loginFormData"]
        self.page_cookies = set_cookies(page)

    def generate(self) -> dict[str, Any]:
        answer = self.http.get(f"{self.base}/newlogin/qrcode/generate.do", params=self.form, timeout=5).json()
        assert answer["hasError"] is False and answer["content"]["success"] is True
        return answer["content"]["data"]

    def query(self, code: dict[str, Any], ck: str | None = None) -> requests.Response:
        form = {**self.form, "t": code["t"], "ck": code["ck"] if ck is None else ck}
        return self.http.post(f"{self.base}/newlogin/qrcode/query.do", data=form, timeout=5)

    def status(self, code: dict[str, Any]) -> str:
        return self.query(code).json()["content"]["data"]["qrCodeStatus"]


class Seller:
    """One logged-in account: its cookies and device id."""

    def __init__(self, urls: dict[str, str], unb: str, nick: str = "测试卖家",
                 cookies: dict[str, str] | None = None) -> None:
        """A new login through the control API, or the given `cookies` (e.g. from a QR login)."""
        self.urls = urls
        self.unb = unb
        self.control = Control(urls)
        if cookies is None:
            cookies = parse_cookie(self.control.post("accounts", {"unb": unb, "nick": nick})["cookie"])
        self.cookies = dict(cookies)
        self.device_id = device_id(unb)
        self.http = requests.Session()
        self.verify: str | bool = urls.get("ca", True)

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def mtop_raw(self, api: str, data: dict[str, Any], *, ua: str = UA, token: str | None = None,
                 t: str | None = None, signature: str | None = None) -> requests.Response:
        data_text = json.dumps(data, separators=(",", ":"))
        t = t or str(int(time.time() * 1000))
        token = self.cookies.get("_m_h5_tk", "").split("_")[0] if token is None else token
        params = {"jsv": "2.7.2", "appKey": SIGN_APP_KEY, "t": t, "sign": signature or sign(token, t, data_text),
                  "v": "1.0", "type": "originaljson", "accountSite": "xianyu", "dataType": "json",
                  "timeout": "20000", "api": api, "sessionOption": "AutoLoginOnly", "spm_cnt": "a21ybx.im.0.0"}
        return self.http.post(f"{self.urls['api']}/h5/{api}/1.0/", params=params, data={"data": data_text},
                              headers={"Cookie": self.cookie_header, "User-Agent": ua,
                                       "Origin": "https://www.goofish.com"}, verify=self.verify, timeout=15)

    def mtop(self, api: str, data: dict[str, Any], ua: str = UA) -> dict[str, Any]:
        """A call the way bots make it: on a token failure merge the new cookies and retry once."""
        response = self.mtop_raw(api, data, ua=ua)
        if "FAIL_SYS_TOKEN_EXOIRED" in response.json()["ret"][0]:
            self.cookies.update(set_cookies(response))
            response = self.mtop_raw(api, data, ua=ua)
        return response.json()

    def passport(self, path: str, form: dict[str, str] | None = None, method: str = "POST") -> dict[str, Any]:
        """A passport call with the account's cookies; its Set-Cookie merged like the bots merge it."""
        response = self.http.request(method, f"{self.urls['passport']}{path}", data=form,
                                     headers={"Cookie": self.cookie_header, "User-Agent": UA},
                                     verify=self.verify, timeout=10)
        self.cookies.update(set_cookies(response))
        return response.json()

    def login_form(self) -> dict[str, str]:
        """The hasLogin form of goofish-protocol.md §1.3."""
        return {"hid": self.unb, "hsiz": self.cookies.get("cookie2", ""),
                "_csrf_token": self.cookies.get("XSRF-TOKEN", ""), "deviceId": self.cookies.get("cna", ""),
                **HAS_LOGIN_FORM}

    def has_login(self) -> dict[str, Any]:
        return self.passport("/newlogin/hasLogin.do?appName=xianyu&fromSite=77", self.login_form())

    def silent_has_login(self) -> dict[str, Any]:
        return self.passport(SILENT_HAS_LOGIN, method="GET")

    def set_login_settings(self, status: str = "0") -> dict[str, Any]:
        return self.passport("/newlogin/setLoginSettings.do", {**self.login_form(), "status": status})

    def token(self) -> str:
        answer = self.mtop(TOKEN_API, {"appKey": IM_APP_KEY, "deviceId": self.device_id})
        assert answer["ret"] == ["SUCCESS::调用成功"], answer
        return answer["data"]["accessToken"]

    def connect(self, token: str | None = None, ack_diff: bool = True) -> Im:
        """Token → WebSocket → /reg (→ ackDiff): the XianyuAutoAgent connection sequence."""
        im = Im(self.urls)
        reply = im.register(token or self.token(), self.device_id)
        assert reply["code"] == 200, reply
        if ack_diff:
            im.ack_diff()
        return im


class Im:
    """A blocking IM connection that answers requests by mid and keeps pushes in arrival order."""

    opened: list[Im] = []      # closed by the fixtures' teardown, so the sim's stop() needs no close timeout

    def __init__(self, urls: dict[str, str], **options: Any) -> None:
        sslopt = {"ca_certs": urls["ca"]} if "ca" in urls else None
        self.ws = websocket.create_connection(urls["ws"], timeout=10, sslopt=sslopt,
                                              header=[f"User-Agent: {UA}"], **options)
        self.pushes: list[Frame] = []
        self.raw_texts: list[str] = []      # non-JSON frames
        Im.opened.append(self)

    def send(self, frame: Frame) -> None:
        self.ws.send(json.dumps(frame))

    def request(self, lwp: str, body: Any = None, **headers: Any) -> Frame:
        mid = client_mid()
        frame: Frame = {"lwp": lwp, "headers": {"mid": mid, **headers}}
        if body is not None:
            frame["body"] = body
        self.send(frame)
        return self.wait(lambda f: "code" in f and f["headers"].get("mid") == mid)

    def _next(self, deadline: float) -> Frame | None:
        self.ws.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            text = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        try:
            return json.loads(text)
        except ValueError:
            self.raw_texts.append(text)
            return {}

    def wait(self, match: Callable[[Frame], bool], timeout: float = 5.0) -> Frame:
        """The first frame that matches (earlier pushes are kept aside, replies to others dropped)."""
        for index, push in enumerate(self.pushes):
            if match(push):
                return self.pushes.pop(index)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self._next(deadline)
            if frame is None:
                break
            if match(frame):
                return frame
            if "lwp" in frame:
                self.pushes.append(frame)
        raise AssertionError(f"no matching frame within {timeout}s; pushes seen: {self.pushes}")

    def push(self, timeout: float = 5.0, object_type: int | None = None) -> Frame:
        """The next push with a data item (of `object_type` if given)."""
        def match(frame: Frame) -> bool:
            items = frame.get("body", {}).get("syncPushPackage", {}).get("data", []) if "lwp" in frame else []
            return bool(items) and (object_type is None or items[0]["objectType"] == object_type)
        return self.wait(match, timeout)

    def quiet(self, seconds: float) -> list[Frame]:
        """Every frame that arrives within `seconds` (for asserting that nothing more comes)."""
        deadline = time.monotonic() + seconds
        frames = []
        while (frame := self._next(deadline)) is not None:
            frames.append(frame)
        return frames

    def ack(self, push: Frame) -> None:
        headers = push["headers"]
        self.send({"code": 200, "headers": {"mid": headers["mid"], "sid": headers.get("sid", "")}})

    def register(self, token: str, did: str) -> Frame:
        return self.request("/reg", None, **{
            "cache-header": "app-key token ua wv", "app-key": IM_APP_KEY, "token": token, "ua": UA + " DingTalk(2.1.5)",
            "dt": "j", "wv": "im:3,au:3,sy:6", "sync": "0,0;0;0;", "did": did})

    def ack_diff(self, pts: int | None = None) -> Frame:
        now = int(time.time() * 1000)
        return self.request("/r/SyncStatus/ackDiff", [{
            "pipeline": "sync", "tooLong2Tag": "PNM,1", "channel": "sync", "topic": "sync", "highPts": 0,
            "pts": now * 1000 if pts is None else pts, "seq": 0, "timestamp": now}])

    def send_text(self, cid: str, peer: str, me: str, text: str) -> Frame:
        inner = base64.b64encode(json.dumps({"contentType": 1, "text": {"text": text}}).encode()).decode()
        return self.request("/r/MessageSend/sendByReceiverScope", [
            {"uuid": f"-{int(time.time() * 1000)}1", "cid": f"{cid}@goofish", "conversationType": 1,
             "content": {"contentType": 101, "custom": {"type": 1, "data": inner}},
             "redPointPolicy": 0, "extension": {"extJson": "{}"}, "ctx": {"appVersion": "1.0", "platform": "web"},
             "mtags": {}, "msgReadStatusSetting": 1},
            {"actualReceivers": [f"{peer}@goofish", f"{me}@goofish"]}])

    def close(self) -> None:
        self.ws.close(timeout=1)

    @classmethod
    def close_all(cls) -> None:
        while cls.opened:
            cls.opened.pop().close()


def message_of(push: Frame) -> dict[int, Any]:
    """The decoded 40000 message (`1` of the payload) of a push."""
    return decode_item(push["body"]["syncPushPackage"]["data"][0])[1]
