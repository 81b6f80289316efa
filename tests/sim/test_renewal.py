"""Logins that last weeks (issue 13 §2): sessions, the long login, the three renewal calls and their fatigue rule,
lived through on the simulator's clock (``POST /_sim/clock``) over real sockets."""

from __future__ import annotations

from typing import Any

from sim.logins import DAY_MS, HOUR_MS, LONG_LOGIN_TTL_MS, SESSION_TTL_MS, SILENT_FATIGUE_MS
from sim.server import Simulator
from tests.sim.conftest import SELLER
from tests.sim.simclient import Control, Seller

ITEM_LIST = "mtop.idle.web.xyh.item.list"
SESSION_EXPIRED = ["FAIL_SYS_SESSION_EXPIRED::Session过期"]
SUCCESS = ["SUCCESS::调用成功"]
MINUTE_MS = 60_000


def _advance(control: Control, ms: int) -> int:
    """Move the sim's clock; its new now (ms)."""
    return control.post("clock", {"advance_ms": ms})["now_ms"]


def _works(seller: Seller) -> bool:
    """An mtop call goes through (a token failure is retried once with the fresh _m_h5_tk, as bots do)."""
    ret = seller.mtop(ITEM_LIST, {"userId": seller.unb})["ret"]
    assert ret in (SUCCESS, SESSION_EXPIRED), ret
    return ret == SUCCESS


def _ok(answer: dict[str, Any]) -> bool:
    assert answer["hasError"] is False
    return answer["content"]["success"] is True


def _login(control: Control) -> dict[str, Any]:
    return {key: control.account(SELLER)[key]
            for key in ("session_expires_at_ms", "long_login_expires_at_ms", "renewals", "fatigue_violations")}


def test_a_login_carries_a_session_and_a_30_day_long_login(seller: Seller, control: Control) -> None:
    now = control.get("clock")["now_ms"]
    cookies = seller.cookies
    assert cookies["_hvn_lgc_"] == "0" and len(cookies["havana_lgc2_77"]) >= 32
    assert cookies["havana_lgc_exp"] == cookies["cookie3_bak_exp"]
    expiry = int(cookies["havana_lgc_exp"])
    assert now - 60_000 < expiry - LONG_LOGIN_TTL_MS <= now
    login = _login(control)
    assert login["long_login_expires_at_ms"] == expiry
    assert expiry - LONG_LOGIN_TTL_MS - 60_000 < login["session_expires_at_ms"] - SESSION_TTL_MS <= now
    assert login["renewals"] == {"has_login": 0, "silent_has_login": 0, "set_login_settings": 0}
    assert login["fatigue_violations"] == 0
    assert _works(seller)


def test_every_mtop_call_needs_a_live_cookie2_of_that_account(seller: Seller, sim: Simulator) -> None:
    other = Seller(sim.urls, "2200000000002")
    for cookie2 in ("", "0" * 32, other.cookies["cookie2"]):
        seller.cookies["cookie2"] = cookie2
        for api, data in ((ITEM_LIST, {"userId": SELLER}), ("mtop.taobao.idle.pc.detail", {"itemId": "1"})):
            assert seller.mtop(api, data) == {"api": api, "data": {}, "ret": SESSION_EXPIRED, "v": "1.0"}


def test_without_renewal_the_session_dies_after_a_day_and_the_long_login_after_30(seller: Seller,
                                                                                  control: Control) -> None:
    _advance(control, SESSION_TTL_MS - MINUTE_MS)
    assert _works(seller)
    _advance(control, 2 * MINUTE_MS)
    assert not _works(seller)
    dead = seller.has_login()
    assert not _ok(dead) and dead["content"]["data"]["titleMsg"] == "登录状态已失效，请重新登录"
    assert not _works(seller), "a refused hasLogin sets no cookie"
    _advance(control, LONG_LOGIN_TTL_MS - SESSION_TTL_MS - 2 * MINUTE_MS)  # a minute before the long login ends
    assert _ok(seller.silent_has_login()) and _works(seller)
    _advance(control, SESSION_TTL_MS + MINUTE_MS)   # past the new session and the long login; fatigue over
    assert not _works(seller)
    assert not _ok(seller.silent_has_login()) and not _ok(seller.set_login_settings())
    assert _login(control)["fatigue_violations"] == 0


def test_has_login_hands_out_a_fresh_session_for_another_day(seller: Seller, control: Control) -> None:
    first = seller.cookies["cookie2"]
    now = _advance(control, 20 * HOUR_MS)
    answer = seller.has_login()
    assert _ok(answer) and answer["content"]["data"]["hid"] == SELLER
    assert seller.cookies["cookie2"] != first
    assert control.account(SELLER)["session_expires_at_ms"] - SESSION_TTL_MS in range(now, now + 5_000)
    _advance(control, 10 * HOUR_MS)   # the first session is over, the fresh one is not
    assert _works(seller)
    seller.cookies["cookie2"] = first
    assert not _works(seller)
    assert _login(control)["renewals"]["has_login"] == 1


def test_silent_has_login_turns_the_long_login_into_a_session_once_a_day(seller: Seller, control: Control) -> None:
    now = _advance(control, SESSION_TTL_MS + MINUTE_MS)
    assert not _works(seller)
    answer = seller.silent_has_login()
    assert _ok(answer)
    until = int(seller.cookies["sdkSilent"])
    assert until - SILENT_FATIGUE_MS in range(now, now + 5_000)
    assert _works(seller)
    _advance(control, SILENT_FATIGUE_MS - MINUTE_MS)
    again = seller.silent_has_login()
    data = again["content"]["data"]
    assert not _ok(again) and data["checkType"] == "securityCheck" and data["errorCode"] == "SDK_SILENT_FATIGUE"
    assert 0 < data["retryAfterMs"] <= MINUTE_MS
    assert "Set-Cookie" not in str(again) and seller.cookies["sdkSilent"] == str(until)
    login = _login(control)
    assert login["fatigue_violations"] == 1 and login["renewals"]["silent_has_login"] == 1
    _advance(control, 2 * MINUTE_MS)
    assert _ok(seller.silent_has_login())
    assert _login(control)["renewals"]["silent_has_login"] == 2


def test_a_future_sdk_silent_cookie_alone_is_a_fatigue_violation(seller: Seller, control: Control) -> None:
    now = control.get("clock")["now_ms"]
    seller.cookies["sdkSilent"] = str(now + HOUR_MS)   # the server never renewed silently; the client says wait
    assert not _ok(seller.silent_has_login())
    assert not _ok(seller.set_login_settings())
    assert _login(control)["fatigue_violations"] == 2
    seller.cookies["sdkSilent"] = str(now - 1)
    assert _ok(seller.silent_has_login())


def test_set_login_settings_issues_a_new_30_day_long_login(seller: Seller, control: Control) -> None:
    old_token, old_expiry = seller.cookies["havana_lgc2_77"], int(seller.cookies["havana_lgc_exp"])
    now = _advance(control, 20 * DAY_MS)
    refused = seller.set_login_settings(status="1")
    assert not _ok(refused) and seller.cookies["havana_lgc2_77"] == old_token
    assert _ok(seller.set_login_settings())
    expiry = int(seller.cookies["havana_lgc_exp"])
    assert seller.cookies["havana_lgc2_77"] != old_token and seller.cookies["cookie3_bak_exp"] == str(expiry)
    assert expiry - LONG_LOGIN_TTL_MS in range(now, now + 5_000) and expiry > old_expiry
    assert _login(control)["long_login_expires_at_ms"] == expiry
    _advance(control, 15 * DAY_MS)    # past the old long login, inside the new one
    assert _ok(seller.silent_has_login())
    assert _login(control)["renewals"] == {"has_login": 0, "silent_has_login": 1, "set_login_settings": 1}


def test_set_login_settings_needs_a_live_session_or_long_login(seller: Seller, control: Control) -> None:
    _advance(control, LONG_LOGIN_TTL_MS + MINUTE_MS)
    answer = seller.set_login_settings()
    assert not _ok(answer) and answer["content"]["data"]["resultCode"] == 14032


def test_set_login_settings_inside_the_fatigue_window_is_a_violation(seller: Seller, control: Control) -> None:
    _advance(control, SESSION_TTL_MS + MINUTE_MS)
    assert _ok(seller.silent_has_login())
    assert not _ok(seller.set_login_settings())
    assert _login(control)["fatigue_violations"] == 1


def test_renewal_fail_refuses_the_next_renewals_and_changes_nothing(seller: Seller, control: Control) -> None:
    cookies, before = dict(seller.cookies), _login(control)
    control.fault(SELLER, "renewal_fail", 3)
    answers = [seller.has_login(), seller.silent_has_login(), seller.set_login_settings()]
    assert [a["content"]["success"] for a in answers] == [False, False, False]
    assert {a["content"]["data"]["resultCode"] for a in answers} == {10010}
    assert seller.cookies == cookies and _login(control) == before
    assert control.account(SELLER)["faults"]["renewal_fail"] == {"remaining": 0, "fired": 3}
    assert _ok(seller.has_login()) and _login(control)["renewals"]["has_login"] == 1


def test_the_session_expired_fault_still_fails_has_login(seller: Seller, control: Control) -> None:
    control.fault(SELLER, "session_expired", 2)
    assert not _works(seller) and not _ok(seller.has_login())
    assert _works(seller) and _ok(seller.has_login())


def test_sixty_days_on_renewals_alone_without_a_new_scan(seller: Seller, control: Control) -> None:
    """The web client's routine: hasLogin every 6 h, setLoginSettings every 20 days, silentHasLogin only when the
    session is dead and sdkSilent allows it. mtop works throughout; no fatigue violation; no new login."""
    first_expiry = control.get("state")["accounts"][SELLER]["long_login_expires_at_ms"]
    step = 6 * HOUR_MS
    for n in range(1, 60 * 4 + 1):
        now = _advance(control, step)
        if n % (20 * 4) == 0:
            assert _ok(seller.set_login_settings()), f"day {n / 4}"
        if not _ok(seller.has_login()):
            assert int(seller.cookies.get("sdkSilent", "0")) <= now
            assert _ok(seller.silent_has_login()), f"day {n / 4}"
        assert _works(seller), f"day {n / 4}"
    login = _login(control)
    assert login["fatigue_violations"] == 0
    assert login["renewals"]["has_login"] == 240 and login["renewals"]["set_login_settings"] == 3
    assert login["long_login_expires_at_ms"] > first_expiry + 59 * DAY_MS


def test_sixty_days_with_a_dead_session_now_and_then(seller: Seller, control: Control) -> None:
    """Every few days the keep-alive is missed for over a day: silentHasLogin brings the session back each time
    (never twice within its fatigue window), and setLoginSettings, well after it, keeps the long login going."""
    end = control.get("clock")["now_ms"] + 60 * DAY_MS
    last_settings = control.get("clock")["now_ms"]
    while (now := _advance(control, SESSION_TTL_MS + 2 * HOUR_MS)) < end:
        assert not _works(seller) and not _ok(seller.has_login())
        assert int(seller.cookies.get("sdkSilent", "0")) <= now
        assert _ok(seller.silent_has_login()) and _works(seller)
        for _ in range(2):
            now = _advance(control, 20 * HOUR_MS)
            assert _ok(seller.has_login()) and _works(seller)
        if now - last_settings >= 20 * DAY_MS:
            assert _ok(seller.set_login_settings())
            last_settings = now
    login = _login(control)
    assert login["fatigue_violations"] == 0
    assert login["renewals"]["silent_has_login"] >= 20 and login["renewals"]["set_login_settings"] == 2
