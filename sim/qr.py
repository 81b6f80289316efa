"""QR login on the passport (goofish-protocol.md §1.3; control calls: docs/contracts.md §3.3).

The web client's flow, as the real passport serves it:

1. ``GET /mini_login.htm``: the login page; its ``window.viewData`` holds ``loginFormData``, the form fields every
   later call sends back (``_csrf_token``, ``hsiz``, ``appName``, ``fromSite`` …), and the answer sets the
   visitor's ``XSRF-TOKEN`` and ``cna`` cookies.
2. ``GET /newlogin/qrcode/generate.do``: a code: ``content.data.{t, ck, codeContent}`` (``codeContent`` is the URL
   the app scans, with the code's ``lgToken``).
3. ``POST /newlogin/qrcode/query.do`` (form ``t``, ``ck``), polled about once a second:
   ``content.data.qrCodeStatus`` NEW → SCANED → CONFIRMED, or EXPIRED (its lifetime passed) / CANCELED (the
   seller said no in the app). CONFIRMED carries the account's login cookies as Set-Cookie headers; when the
   platform wants a phone check first it carries ``iframeRedirect: true`` and ``iframeRedirectUrl`` instead, and
   no cookie: the identity (face) check behind that URL (sim/faceid.py) hands out the cookies once passed.

What the seller does on the phone is the control API's ``POST /_sim/qr`` (scan, confirm, cancel, expire,
phone_check, and face_scan, face_confirm, face_cancel for the face check); ``GET /_sim/qr`` lists the codes.
"""

from __future__ import annotations

import json
from typing import Any

from sim import passport
from sim.credentials import parse_cookie_header
from sim.httpd import HttpRequest, HttpResponse, cookie
from sim.qrcodes import FINAL, QrCode
from sim.state import SimState
from sim.world import BadRequest, NotFound, World

LOGIN_PAGE = "/mini_login.htm"
GENERATE_PATH = "/newlogin/qrcode/generate.do"
QUERY_PATH = "/newlogin/qrcode/query.do"
IDENTITY_PAGE = "/iv/remote/mini/request.htm"    # where iframeRedirectUrl leads (sim/faceid.py serves it)
ACTIONS = ("scan", "confirm", "cancel", "expire", "phone_check")
FACE_ACTIONS = ("face_scan", "face_confirm", "face_cancel")


# --------------------------------------------------------------------------------------------- the passport


def handle(state: SimState, request: HttpRequest, passport_base: str) -> HttpResponse | None:
    """The passport's QR paths; None for a path that is not one of them."""
    with state.transaction() as world:
        if request.path == LOGIN_PAGE:
            return login_page(world, request)
        if request.path == GENERATE_PATH:
            return generate(world, passport_base)
        if request.path == QUERY_PATH:
            return query(world, request, passport_base)
    return None


def login_page(world: World, request: HttpRequest) -> HttpResponse:
    """The mini login page: the form data in ``window.viewData``, the visitor's cookies set."""
    csrf = request.cookies.get("XSRF-TOKEN") or world.ids.uuid()
    cna = request.cookies.get("cna") or world.ids.chars(24)
    form = {"appName": request.query.get("appName", "xianyu"), "appEntrance": "web", "_csrf_token": csrf,
            "umidToken": "", "hsiz": world.ids.hex(32), "bizParams": "taobaoBizLoginFrom=web", "mainPage": False,
            "isMobile": False, "lang": "zh_CN", "returnUrl": "", "fromSite": request.query.get("fromSite", "77"),
            "umidTag": "SERVER", "isIframe": True, "documentReferer": "https://www.goofish.com/",
            "defaultView": "qrcode", "deviceId": cna}
    view = {"title": "闲鱼登录", "loginFormData": form, "qrCodeApi": GENERATE_PATH, "qrQueryApi": QUERY_PATH}
    html = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>闲鱼登录</title></head><body>"
            "<div id=\"login\"></div><script>window.viewData = "
            f"{json.dumps(view, ensure_ascii=False)};</script></body></html>")
    return HttpResponse(200, html.encode("utf-8"), "text/html;charset=UTF-8",
                        (cookie("XSRF-TOKEN", csrf), cookie("cna", cna)))


def generate(world: World, passport_base: str) -> HttpResponse:
    code = world.qr.generate(world.ids, world.now_ms())
    content = f"{passport_base}/qrcodeCheck.htm?lgToken={code.lg_token}&tbScanOpenType=Notification"
    return passport.answer({"t": int(code.t), "ck": code.ck, "codeContent": content,
                            "resultCode": passport.RESULT_OK, "processFinished": False})


def query(world: World, request: HttpRequest, passport_base: str) -> HttpResponse:
    t, ck = request.param("t") or "", request.param("ck") or ""
    code = world.qr.get(t)
    if code is None or code.ck != ck:
        return passport.refused(10003, "非法请求，请刷新页面重试")
    status = code.current(world.now_ms())
    data: dict[str, Any] = {"qrCodeStatus": status, "resultCode": passport.RESULT_OK}
    if status != "CONFIRMED":
        if status == "EXPIRED":
            data["titleMsg"] = "二维码已失效，请点击刷新"
        elif status == "CANCELED":
            data["titleMsg"] = "你已取消登录"
        return passport.answer(data)
    if code.face is not None:
        data.update(iframeRedirect=True, iframeRedirectUrl=(
            f"{passport_base}{IDENTITY_PAGE}?lgToken={code.lg_token}&ivToken={code.face.iv_token}"))
        return passport.answer(data)
    return logged_in(code, data)


def logged_in(code: QrCode, data: dict[str, Any]) -> HttpResponse:
    """A passed login (the QR's CONFIRMED, or the face check's): the account's login cookies as Set-Cookie."""
    data = {**data, "loginResult": "success", "loginType": "qrcode", "hid": code.unb,
            "returnUrl": "https://www.goofish.com/"}
    return passport.answer(data, cookies=parse_cookie_header(code.cookie))


# --------------------------------------------------------------------------------------------- the phone


def act(world: World, t: str, action: str, unb: str, nick: str) -> None:
    """What the seller does in the app to code ``t`` (POST /_sim/qr)."""
    if action not in ACTIONS + FACE_ACTIONS:
        raise BadRequest(f"action must be one of {', '.join(ACTIONS + FACE_ACTIONS)}, not {action!r}")
    code = world.qr.get(t)
    if code is None:
        raise NotFound(f"unknown QR code t={t!r}")
    if action in FACE_ACTIONS:
        _act_face(world, code, action)
        return
    status = code.current(world.now_ms())
    if action == "phone_check":
        code.phone_check = True     # decided at the confirm: a code confirmed already keeps its plain login
        return
    if action == "expire":
        if status in ("NEW", "SCANED"):
            code.status = "EXPIRED"
        return
    if status in FINAL:
        raise BadRequest(f"QR code {t} is {status} already")
    if action == "scan":
        code.status = "SCANED"
    elif action == "cancel":
        code.status = "CANCELED"
    else:  # confirm, in the app after a scan (a confirm without one scans it too)
        if not unb:
            raise BadRequest("confirm needs the unb of the account that logs in")
        code.unb, code.nick, code.status = unb, nick or f"seller-{unb[-4:]}", "CONFIRMED"
        if code.phone_check:   # no login (no cookie, no session) before the face check passes
            world.qr.start_face_check(code, world.ids, world.now_ms())
        else:
            code.cookie = world.create_account(code.unb, code.nick)


def _act_face(world: World, code: QrCode, action: str) -> None:
    if code.face is None:
        raise BadRequest(f"QR code {code.t} has no face check (phone_check, then confirm)")
    status = code.face.current(world.now_ms())
    if status in FINAL:
        raise BadRequest(f"the face check of QR code {code.t} is {status} already")
    if action == "face_scan":
        code.face.status = "SCANED"
    elif action == "face_cancel":
        code.face.status = "CANCELED"
    else:  # face_confirm: only now the account logs in
        code.cookie = world.create_account(code.unb, code.nick)
        code.face.status = "CONFIRMED"
