"""The mtop gateway `/h5/<api>/<v>/`: the checks the real gateway makes before an API (sim/apis.py) runs.

Order of checks (each answers with the real ret strings, goofish-protocol.md §1.2, §7):
1. unknown api → FAIL_SYS_API_NOT_FOUNDED
2. slow_http fault → sleep (outside the lock), then go on
3. `unb` cookie names no account, its `cookie2` is not a live session of that account (sim/logins.py), or a
   session_expired fault → FAIL_SYS_SESSION_EXPIRED
4. token_expired fault, or `_m_h5_tk` not issued to this account / expired → FAIL_SYS_TOKEN_EXOIRED with a fresh
   `_m_h5_tk`/`_m_h5_tk_enc` Set-Cookie (the ONLY responses that set them; a fault also revokes IM tokens)
5. sign ≠ md5(token&t&34839810&data) → FAIL_SYS_ILLEGAL_ACCESS; `data` not a JSON object → the same
6. token/detail API on a risk-flagged account without a fresh x5sec (same UA) → RGV587 + punish URL

The passport's login renewals (hasLogin and friends) are sim/renewal.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

from sim.apis import APIS, RISK_CHECKED, ApiFail
from sim.httpd import HttpRequest, HttpResponse, cookie
from sim.state import SimState
from sim.world import World

SIGN_APP_KEY = "34839810"
SUCCESS = "SUCCESS::调用成功"
API_NOT_FOUND = "FAIL_SYS_API_NOT_FOUNDED::请求API不存在"
SESSION_EXPIRED = "FAIL_SYS_SESSION_EXPIRED::Session过期"
TOKEN_EXPIRED = "FAIL_SYS_TOKEN_EXOIRED::令牌过期"
ILLEGAL_ACCESS = "FAIL_SYS_ILLEGAL_ACCESS::非法请求"
RISK_RET = ["FAIL_SYS_USER_VALIDATE", "RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试"]

API_PATH = re.compile(r"^/+h5/(?P<api>[^/]+)/(?P<version>[^/]+)/?$")


def sign(token: str, t: str, data: str) -> str:
    return hashlib.md5(f"{token}&{t}&{SIGN_APP_KEY}&{data}".encode()).hexdigest()


def _envelope(api: str, version: str, ret: list[str], data: dict[str, Any] | None = None,
              set_cookies: tuple[str, ...] = ()) -> HttpResponse:
    return HttpResponse.json({"api": api, "data": data or {}, "ret": ret, "v": version}, set_cookies=set_cookies)


def slow_http_delay(state: SimState, unb: str) -> None:
    """Spend one slow_http firing, if armed, by sleeping outside the lock (mtop and passport share it)."""
    with state.transaction() as world:
        arming = world.faults.take(unb, "slow_http") if world.account(unb) else None
    if arming is not None:
        time.sleep(arming.delay)


def handle(state: SimState, request: HttpRequest, api_base: str) -> HttpResponse:
    match = API_PATH.match(request.path)
    if match is None or match["api"] not in APIS:
        return _envelope(match["api"] if match else "", match["version"] if match else "1.0", [API_NOT_FOUND])
    api, version = match["api"], match["version"]
    unb = request.cookies.get("unb", "")
    slow_http_delay(state, unb)
    with state.transaction() as world:
        return _gateway(world, request, api, version, unb, api_base)


def _gateway(world: World, request: HttpRequest, api: str, version: str, unb: str,
             api_base: str) -> HttpResponse:
    account = world.account(unb)
    if (account is None or not account.logins.session_live(request.cookies.get("cookie2", ""), world.now_ms())
            or world.faults.take(unb, "session_expired")):
        return _envelope(api, version, [SESSION_EXPIRED])
    token = request.cookies.get("_m_h5_tk", "").split("_")[0]
    if world.faults.take(unb, "token_expired"):
        world.credentials.revoke_access(unb)
        return _token_failure(world, unb, api, version)
    if not world.credentials.h5_valid(unb, token, world.now_ms()):
        return _token_failure(world, unb, api, version)
    raw = request.param("data") or ""
    if request.query.get("sign", "") != sign(token, request.query.get("t", ""), raw):
        return _envelope(api, version, [ILLEGAL_ACCESS])
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _envelope(api, version, [ILLEGAL_ACCESS])
    if api in RISK_CHECKED and _risk_blocked(world, request, unb):
        world.faults.note_fired(unb, "risk_control")
        ticket = world.credentials.punish_ticket(unb, api, version)
        url = (f"{api_base}/h5/{api}/{version}/_____tmd_____/punish?x5secdata={ticket.data}"
               f"&x5step=2&action=captcha&pureCaptcha=")
        return _envelope(api, version, RISK_RET, {"url": url})
    try:
        result = APIS[api](world, account, data)
    except ApiFail as fail:
        return _envelope(api, version, [fail.ret])
    return _envelope(api, version, [SUCCESS], result)


def _token_failure(world: World, unb: str, api: str, version: str) -> HttpResponse:
    fresh = world.credentials.issue_h5(unb, world.now_ms())
    return _envelope(api, version, [TOKEN_EXPIRED],
                     set_cookies=(cookie("_m_h5_tk", fresh.cookie_value), cookie("_m_h5_tk_enc", fresh.enc)))


def _risk_blocked(world: World, request: HttpRequest, unb: str) -> bool:
    """A flagged account stays blocked until enough slides are solved: each x5sec (same UA) pays off one."""
    if not world.faults.armed(unb, "risk_control"):
        return False
    x5sec = request.cookies.get("x5sec", "")
    if x5sec and world.credentials.spend_x5sec(x5sec, unb, request.user_agent):
        world.faults.spend(unb, "risk_control")
    return world.faults.armed(unb, "risk_control") is not None

