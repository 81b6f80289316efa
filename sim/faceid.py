"""The identity (face) check a QR login may demand: where a CONFIRMED's ``iframeRedirectUrl`` leads.

1. ``GET /iv/remote/mini/request.htm?ivToken=...`` (the ``iframeRedirectUrl``): an HTML page whose
   ``window.viewData = {...};`` holds ``ivToken``, ``checkType: "face"``, ``qrCodeContent`` (the URL the phone app
   scans for the face check) and ``queryUrl`` (the passport path to poll).
2. ``POST /iv/face/query.do`` (form ``ivToken``): ``content.data.status`` NEW → SCANED → CONFIRMED, or EXPIRED
   (not passed within a code's lifetime) / CANCELED. CONFIRMED carries the account's login cookies as Set-Cookie,
   exactly as the QR's CONFIRMED does without a check; nothing else ever does.

The phone's side is ``POST /_sim/qr`` face_scan / face_confirm / face_cancel (sim/qr.py ``act``).
"""

from __future__ import annotations

import html
import json
from typing import Any

from sim import passport
from sim.httpd import HttpRequest, HttpResponse
from sim.qr import IDENTITY_PAGE, logged_in
from sim.state import SimState
from sim.world import World

FACE_QUERY = "/iv/face/query.do"
FACE_SCAN = "/iv/face/scan.htm"     # what the face check's QR code says (the app opens it; not served here)
INVALID = (10003, "验证已失效，请重新登录")


def handle(state: SimState, request: HttpRequest, passport_base: str) -> HttpResponse | None:
    """The identity check's paths; None for a path that is not one of them."""
    if request.path not in (IDENTITY_PAGE, FACE_QUERY):
        return None
    with state.transaction() as world:
        if request.path == IDENTITY_PAGE:
            return page(world, request, passport_base)
        return query(world, request)


def page(world: World, request: HttpRequest, passport_base: str) -> HttpResponse:
    iv_token = request.query.get("ivToken", "")
    if world.qr.by_iv_token(iv_token) is None:
        return HttpResponse.html(f"<!DOCTYPE html><html><head><title>身份验证</title></head><body>"
                                 f"<p>{html.escape(INVALID[1])}</p></body></html>", 404)
    view = {"title": "身份验证", "ivToken": iv_token, "checkType": "face",
            "titleMsg": "为了你的账号安全，请使用闲鱼App扫码完成刷脸验证",
            "qrCodeContent": f"{passport_base}{FACE_SCAN}?ivToken={iv_token}&tbScanOpenType=Notification",
            "queryUrl": FACE_QUERY}
    # "</" inside the JSON would end the script element early; the platform escapes it the same way.
    data = json.dumps(view, ensure_ascii=False).replace("</", "<\\/")
    return HttpResponse.html("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>身份验证</title></head>"
                             f"<body><div id=\"iv\"></div><script>window.viewData = {data};</script></body></html>")


def query(world: World, request: HttpRequest) -> HttpResponse:
    code = world.qr.by_iv_token(request.param("ivToken") or "")
    if code is None or code.face is None:
        return passport.refused(*INVALID)
    status = code.face.current(world.now_ms())
    data: dict[str, Any] = {"status": status, "resultCode": passport.RESULT_OK}
    if status == "CONFIRMED":
        return logged_in(code, data)
    if status == "EXPIRED":
        data["titleMsg"] = "验证已超时，请重新扫码登录"
    elif status == "CANCELED":
        data["titleMsg"] = "你已取消验证"
    return passport.answer(data)
