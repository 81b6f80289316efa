"""The passport calls that keep a login alive for weeks, as the platform's web client makes them (issue 13 §2).

1. ``POST /newlogin/hasLogin.do`` (form of goofish-protocol.md §1.3): a live session (``cookie2``, else the form's
   ``hsiz``) → success and a fresh session (``cookie2``, ``sgcookie``); a dead one → ``success: false``.
2. ``GET|POST /newlogin/silentHasLogin.do?appEntrance=xianyu_sdkSilent...``: a live long login (``havana_lgc2_77``)
   → success, a new session and ``sdkSilent`` = the epoch ms before which no silent renewal may follow.
3. ``POST /newlogin/setLoginSettings.do`` (form ``status=0`` plus the hasLogin fields): a live session or long
   login → success and a new long login (``havana_lgc2_77``, ``_hvn_lgc_``, ``havana_lgc_exp``, ``cookie3_bak_exp``).

The account is the ``unb`` cookie (else the form's ``hid``); the credentials are checked against what the sim
issued to it (sim/logins.py). Checks, in order: unknown account → not logged in; ``slow_http`` → sleep; (2 and 3)
inside the silent fatigue window → a fatigue violation, counted, refused with a security-check answer; a
``renewal_fail`` fault → refused, nothing changes; dead credentials (or, for 1, a ``session_expired`` fault) → not
logged in; else success, counted in the account's ``renewals``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim import passport
from sim.accounts import Account
from sim.httpd import HttpRequest, HttpResponse
from sim.mtop import slow_http_delay
from sim.state import SimState
from sim.world import World

NOT_LOGGED_IN = (14032, "登录状态已失效，请重新登录")
BUSY = (10010, "系统繁忙，请稍后再试")
BAD_SETTINGS = (10003, "非法请求，请刷新页面重试")
# A silent renewal inside its fatigue window is what the platform's risk control answers with a security check.
FATIGUE = (14060, "为了你的账号安全，请完成安全校验后再试")


class Refused(Exception):
    def __init__(self, reason: tuple[int, str]) -> None:
        super().__init__(reason[1])
        self.reason = reason


Renew = Callable[[World, HttpRequest, Account, int], dict[str, str]]


def _session_of(request: HttpRequest) -> str:
    return request.cookies.get("cookie2") or request.param("hsiz") or ""


def has_login(world: World, request: HttpRequest, account: Account, now_ms: int) -> dict[str, str]:
    live = account.logins.session_live(_session_of(request), now_ms)
    if not live or world.faults.take(account.unb, "session_expired"):   # a dead session spends no fault
        raise Refused(NOT_LOGGED_IN)
    return account.logins.new_session(world.ids, now_ms)


def silent_has_login(world: World, request: HttpRequest, account: Account, now_ms: int) -> dict[str, str]:
    logins = account.logins
    if not logins.long_login_live(request.cookies.get("havana_lgc2_77", ""), now_ms):
        raise Refused(NOT_LOGGED_IN)
    return {**logins.new_session(world.ids, now_ms), **logins.silenced(now_ms)}


def set_login_settings(world: World, request: HttpRequest, account: Account, now_ms: int) -> dict[str, str]:
    logins = account.logins
    if request.param("status") != "0":   # 0 = keep me logged in; the only setting a renewal sends
        raise Refused(BAD_SETTINGS)
    if not (logins.session_live(_session_of(request), now_ms)
            or logins.long_login_live(request.cookies.get("havana_lgc2_77", ""), now_ms)):
        raise Refused(NOT_LOGGED_IN)
    return logins.new_long_login(world.ids, now_ms)


@dataclass(frozen=True)
class RenewalCall:
    name: str                 # the key in the account's `renewals`
    renew: Renew
    fatigue_checked: bool     # silent renewals are rate-limited, the plain login check is not


CALLS: dict[str, RenewalCall] = {
    "/newlogin/hasLogin.do": RenewalCall("has_login", has_login, False),
    "/newlogin/silentHasLogin.do": RenewalCall("silent_has_login", silent_has_login, True),
    "/newlogin/setLoginSettings.do": RenewalCall("set_login_settings", set_login_settings, True),
}


def handle(state: SimState, request: HttpRequest) -> HttpResponse | None:
    """The renewal paths; None for a path that is not one of them."""
    call = CALLS.get(request.path)
    if call is None:
        return None
    unb = request.cookies.get("unb") or request.param("hid") or ""
    slow_http_delay(state, unb)
    with state.transaction() as world:
        return _answer(world, request, call, unb)


def _answer(world: World, request: HttpRequest, call: RenewalCall, unb: str) -> HttpResponse:
    account = world.account(unb)
    if account is None:
        return passport.refused(*NOT_LOGGED_IN)
    now = world.now_ms()
    logins = account.logins
    fatigue_until = logins.fatigue_until(request.cookies.get("sdkSilent", ""))
    if call.fatigue_checked and fatigue_until > now:
        logins.fatigue_violations += 1
        return passport.refused(*FATIGUE, checkType="securityCheck", errorCode="SDK_SILENT_FATIGUE",
                                retryAfterMs=fatigue_until - now)
    if world.faults.take(unb, "renewal_fail"):
        return passport.refused(*BUSY)
    try:
        cookies = call.renew(world, request, account, now)
    except Refused as refusal:
        return passport.refused(*refusal.reason)
    logins.renewals[call.name] += 1
    data = {"hid": account.unb, "nick": account.nick, "resultCode": passport.RESULT_OK, "loginResult": "success"}
    return passport.answer(data, cookies=cookies)
