"""The identity (face) check behind a CONFIRMED's ``iframeRedirect``: its page, its own QR code, its polling, and
that the login's cookies come only once the seller passed it (the phone played by ``/_sim/qr``)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sim import qrcodes
from sim.server import Simulator
from tests.sim.simclient import Control, Passport, Seller, set_cookies, view_data

NEW_SELLER = "2200000000888"


def _act(control: Control, code: dict[str, Any], action: str, expect: int = 200, **extra: Any) -> dict[str, Any]:
    return control.post("qr", {"t": code["t"], "action": action, **extra}, expect=expect)


def _face_of(control: Control, code: dict[str, Any]) -> str | None:
    return next(c["face"] for c in control.get("qr")["codes"] if c["t"] == str(code["t"]))


class FaceCheck:
    """The web client's side: follow iframeRedirectUrl, read the page's viewData, poll its queryUrl."""

    def __init__(self, passport: Passport, confirmed: dict[str, Any]) -> None:
        self.passport = passport
        page = passport.http.get(confirmed["iframeRedirectUrl"], timeout=5)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        self.view = view_data(page.text)

    def query(self) -> requests.Response:
        return self.passport.http.post(f"{self.passport.base}{self.view['queryUrl']}",
                                       data={"ivToken": self.view["ivToken"]}, timeout=5)

    def status(self) -> str:
        answer = self.query().json()
        assert answer["hasError"] is False and answer["content"]["success"] is True
        return answer["content"]["data"]["status"]


def _checked_code(passport: Passport, control: Control) -> tuple[dict[str, Any], FaceCheck]:
    """A code the seller confirmed on the phone, for which the platform wants a face check."""
    code = passport.generate()
    _act(control, code, "phone_check")
    assert _face_of(control, code) is None, "no face check before the confirm"
    _act(control, code, "scan")
    _act(control, code, "confirm", unb=NEW_SELLER, nick="刷脸卖家")
    answer = passport.query(code)
    data = answer.json()["content"]["data"]
    assert data["qrCodeStatus"] == "CONFIRMED" and data["iframeRedirect"] is True
    assert "Set-Cookie" not in answer.headers
    return code, FaceCheck(passport, data)


def test_the_face_check_page_and_its_code(passport: Passport, control: Control) -> None:
    code, face = _checked_code(passport, control)
    view = face.view
    assert view["checkType"] == "face" and view["queryUrl"] == "/iv/face/query.do"
    assert view["ivToken"] and view["ivToken"] in passport.query(code).json()["content"]["data"]["iframeRedirectUrl"]
    assert view["qrCodeContent"].startswith(passport.base) and view["ivToken"] in view["qrCodeContent"]
    assert face.status() == "NEW" and _face_of(control, code) == "NEW"


def test_cookies_come_only_with_the_face_confirm(passport: Passport, control: Control, sim: Simulator) -> None:
    code, face = _checked_code(passport, control)
    assert NEW_SELLER not in control.get("state")["accounts"], "no login before the face check passes"
    _act(control, code, "face_scan")
    scanned = face.query()
    assert scanned.json()["content"]["data"]["status"] == "SCANED" and "Set-Cookie" not in scanned.headers
    assert _face_of(control, code) == "SCANED"
    _act(control, code, "face_confirm")
    confirmed = face.query()
    data = confirmed.json()["content"]["data"]
    assert data["status"] == "CONFIRMED" and data["hid"] == NEW_SELLER
    jar = set_cookies(confirmed)
    assert jar["unb"] == NEW_SELLER and {"cookie2", "_m_h5_tk", "havana_lgc2_77", "havana_lgc_exp"} <= set(jar)
    assert jar == set_cookies(face.query()), "every CONFIRMED poll answers the same login"
    assert "Set-Cookie" not in passport.query(code).headers, "the QR query still only points at the check"
    seller = Seller(sim.urls, NEW_SELLER, cookies=jar)
    assert seller.mtop("mtop.idle.web.xyh.item.list", {"userId": NEW_SELLER})["ret"] == ["SUCCESS::调用成功"]
    assert control.account(NEW_SELLER)["nick"] == "刷脸卖家"
    assert _act(control, code, "face_cancel", expect=400)["error"].endswith("is CONFIRMED already")


@pytest.mark.parametrize("ending, status, said", [("cancel", "CANCELED", "取消"), ("expire", "EXPIRED", "超时")])
def test_a_cancelled_or_expired_face_check_never_logs_in(passport: Passport, control: Control, ending: str,
                                                         status: str, said: str) -> None:
    code, face = _checked_code(passport, control)
    if ending == "cancel":
        _act(control, code, "face_cancel")
    else:
        control.post("clock", {"advance_ms": qrcodes.CODE_TTL_MS})
    answer = face.query()
    data = answer.json()["content"]["data"]
    assert data["status"] == status and said in data["titleMsg"] and "Set-Cookie" not in answer.headers
    assert _face_of(control, code) == status
    refused = _act(control, code, "face_confirm", expect=400)
    assert refused["error"] == f"the face check of QR code {code['t']} is {status} already"
    assert NEW_SELLER not in control.get("state")["accounts"]


def test_face_actions_and_queries_that_make_no_sense(passport: Passport, control: Control) -> None:
    plain = passport.generate()
    assert "has no face check" in _act(control, plain, "face_confirm", expect=400)["error"]
    wrong = passport.http.post(f"{passport.base}/iv/face/query.do", data={"ivToken": "nope"}, timeout=5).json()
    assert wrong["content"]["success"] is False and wrong["content"]["data"]["titleMsg"]
    page = passport.http.get(f"{passport.base}/iv/remote/mini/request.htm", params={"ivToken": "nope"}, timeout=5)
    assert page.status_code == 404 and "window.viewData" not in page.text
