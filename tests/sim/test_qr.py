"""The passport's QR login, driven as the web client drives it (plain HTTP), the phone played by ``/_sim/qr``."""

from __future__ import annotations

from typing import Any

import pytest

from sim import qrcodes
from tests.sim.simclient import Control, Passport, set_cookies

NEW_SELLER = "2200000000777"


def _act(control: Control, code: dict[str, Any], action: str, expect: int = 200, **extra: Any) -> dict[str, Any]:
    return control.post("qr", {"t": code["t"], "action": action, **extra}, expect=expect)


def test_the_login_page_hands_out_the_form_data_and_the_visitors_cookies(passport: Passport) -> None:
    assert {"appName", "fromSite", "_csrf_token", "hsiz", "umidTag", "bizParams"} <= set(passport.form)
    assert passport.form["appName"] == "xianyu" and passport.form["fromSite"] == "77"
    assert passport.page_cookies["XSRF-TOKEN"] == passport.form["_csrf_token"]
    assert set(passport.page_cookies) == {"XSRF-TOKEN", "cna"}


def test_scan_then_confirm_logs_the_account_in_with_its_cookies(passport: Passport, control: Control) -> None:
    code = passport.generate()
    assert set(code) >= {"t", "ck", "codeContent"} and isinstance(code["t"], int)
    assert code["codeContent"].startswith(passport.base) and "lgToken=" in code["codeContent"]
    assert passport.status(code) == "NEW"
    assert control.get("qr")["codes"] == [{"t": str(code["t"]), "status": "NEW", "face": None,
                                           "created_at_ms": control.get("qr")["codes"][0]["created_at_ms"]}]
    _act(control, code, "scan")
    assert passport.status(code) == "SCANED"
    _act(control, code, "confirm", unb=NEW_SELLER, nick="新卖家")
    confirmed = passport.query(code)
    data = confirmed.json()["content"]["data"]
    assert data["qrCodeStatus"] == "CONFIRMED" and "iframeRedirect" not in data
    jar = set_cookies(confirmed)
    assert jar["unb"] == NEW_SELLER and {"_m_h5_tk", "_m_h5_tk_enc", "cookie2", "sgcookie", "tracknick"} <= set(jar)
    assert jar == set_cookies(passport.query(code)), "every CONFIRMED poll answers the same login"
    assert control.account(NEW_SELLER)["online"] is False  # the account exists now, not connected yet
    assert control.get("qr")["codes"][0]["status"] == "CONFIRMED"


def test_a_phone_check_comes_as_an_iframe_redirect_without_cookies(passport: Passport, control: Control) -> None:
    code = passport.generate()
    _act(control, code, "phone_check")
    _act(control, code, "confirm", unb=NEW_SELLER, nick="新卖家")
    answer = passport.query(code)
    data = answer.json()["content"]["data"]
    assert data["qrCodeStatus"] == "CONFIRMED" and data["iframeRedirect"] is True
    assert data["iframeRedirectUrl"].startswith(passport.base)
    assert "Set-Cookie" not in answer.headers
    # The next code, without a check, logs in.
    second = passport.generate()
    _act(control, second, "confirm", unb=NEW_SELLER)
    assert set_cookies(passport.query(second))["unb"] == NEW_SELLER


@pytest.mark.parametrize("action, status, said", [("cancel", "CANCELED", "取消"), ("expire", "EXPIRED", "失效")])
def test_a_cancelled_or_expired_code_says_so_and_stays_so(passport: Passport, control: Control, action: str,
                                                          status: str, said: str) -> None:
    code = passport.generate()
    _act(control, code, "scan")
    _act(control, code, action)
    data = passport.query(code).json()["content"]["data"]
    assert data["qrCodeStatus"] == status and said in data["titleMsg"]
    refused = _act(control, code, "confirm", expect=400, unb=NEW_SELLER)
    assert refused["error"] == f"QR code {code['t']} is {status} already"
    assert passport.status(code) == status


def test_a_code_expires_by_itself_after_its_lifetime(passport: Passport, control: Control,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code = passport.generate()
    monkeypatch.setattr(qrcodes, "CODE_TTL_MS", 0)
    assert passport.status(code) == "EXPIRED"
    assert control.get("qr")["codes"][0]["status"] == "EXPIRED"


def test_bad_queries_and_bad_control_calls(passport: Passport, control: Control) -> None:
    code = passport.generate()
    wrong = passport.query(code, ck="not-the-ck").json()
    assert wrong["content"]["success"] is False and "qrCodeStatus" not in wrong["content"]["data"]
    assert _act(control, {"t": "1"}, "scan", expect=404)["error"] == "unknown QR code t='1'"
    assert "action must be one of" in _act(control, code, "wave", expect=400)["error"]
    assert "unb" in _act(control, code, "confirm", expect=400)["error"]
    assert passport.status(code) == "NEW"
