"""The simulator's clock (``/_sim/clock``): what it answers, and that everything the platform decides by time
follows it — token and code lifetimes — while the IM socket lives through a 60-day jump."""

from __future__ import annotations

import time

from sim import qrcodes
from sim.logins import DAY_MS, HOUR_MS
from tests.sim.conftest import SELLER
from tests.sim.simclient import (
    TOKEN_API,
    Control,
    Im,
    Passport,
    Seller,
    decode_item,
    parse_cookie,
    set_cookies,
)

ITEM_LIST = "mtop.idle.web.xyh.item.list"


def test_the_clock_starts_at_real_time_and_only_moves_forward(control: Control) -> None:
    clock = control.get("clock")
    assert clock["offset_ms"] == 0 and abs(clock["now_ms"] - time.time() * 1000) < 5_000
    moved = control.post("clock", {"advance_ms": 2 * DAY_MS})
    assert moved["offset_ms"] == 2 * DAY_MS and moved["now_ms"] - clock["now_ms"] >= 2 * DAY_MS
    assert control.post("clock", {"advance_ms": 0})["offset_ms"] == 2 * DAY_MS
    assert control.post("clock", {"advance_ms": "1000"})["offset_ms"] == 2 * DAY_MS + 1000
    for bad in ({"advance_ms": -1}, {}, {"advance_ms": "soon"}, {"advance_ms": True}):
        assert "advance_ms" in control.post("clock", bad, expect=400)["error"]
    assert control.get("clock")["offset_ms"] == 2 * DAY_MS + 1000


def test_the_h5_token_expires_on_the_sim_clock(seller: Seller, control: Control) -> None:
    expiry = int(seller.cookies["_m_h5_tk"].split("_")[1])
    assert seller.mtop_raw(ITEM_LIST, {"userId": SELLER}).json()["ret"] == ["SUCCESS::调用成功"]
    now = control.post("clock", {"advance_ms": 2 * HOUR_MS + 1000})["now_ms"]
    assert now > expiry
    stale = seller.mtop_raw(ITEM_LIST, {"userId": SELLER})
    assert stale.json()["ret"] == ["FAIL_SYS_TOKEN_EXOIRED::令牌过期"]
    fresh = set_cookies(stale)
    assert int(fresh["_m_h5_tk"].split("_")[1]) > now, "a new token is dated on the sim's clock"


def test_a_qr_code_expires_on_the_sim_clock(passport: Passport, control: Control) -> None:
    code = passport.generate()
    control.post("clock", {"advance_ms": qrcodes.CODE_TTL_MS - 1000})
    assert passport.status(code) == "NEW"
    control.post("clock", {"advance_ms": 1000})
    assert passport.status(code) == "EXPIRED" and control.get("qr")["codes"][0]["status"] == "EXPIRED"
    fresh = passport.generate()
    assert int(fresh["t"]) >= int(code["t"]) + qrcodes.CODE_TTL_MS, "a code's t is sim time"


def test_an_access_token_expires_on_the_sim_clock(seller: Seller, control: Control) -> None:
    token = seller.token()
    control.post("clock", {"advance_ms": DAY_MS + 1000})
    refused = Im(seller.urls).register(token, seller.device_id)
    assert refused["code"] == 401 and "expired" in refused["body"]["reason"]


def test_an_open_socket_lives_through_a_60_day_jump(seller: Seller, control: Control) -> None:
    im = seller.connect()
    assert im.request("/!")["code"] == 200
    now = control.post("clock", {"advance_ms": 60 * DAY_MS})["now_ms"]
    assert im.request("/!")["code"] == 200, "heartbeats do not go by the sim's clock"
    assert control.account(SELLER)["online"] is True
    control.post("messages", {"seller": SELLER, "buyer": "3000000001", "buyer_nick": "买家甲",
                              "item_id": "900000000001", "text": "两个月后还在吗"})
    push = im.push(object_type=40000)
    message = decode_item(push["body"]["syncPushPackage"]["data"][0])[1]
    assert message[10]["reminderContent"] == "两个月后还在吗"
    assert abs(message[5] - now) < 5_000, "pushes are stamped with the sim's time"
    assert push["body"]["syncPushPackage"]["maxPts"] >= now * 1000
    im.ack(push)
    # A reconnect needs a live login: the one from before the jump died long ago, a new one works.
    assert seller.mtop(TOKEN_API, {"appKey": "x", "deviceId": seller.device_id})["ret"] == [
        "FAIL_SYS_SESSION_EXPIRED::Session过期"]
    seller.cookies = parse_cookie(control.post("accounts", {"unb": SELLER, "nick": "测试卖家"})["cookie"])
    again = seller.connect()
    assert again.request("/!")["code"] == 200 and control.account(SELLER)["open_connections"] == 2
