"""Every fault kind fires exactly its count, and the fire counters in /_sim/state say so."""

from __future__ import annotations

import base64
import binascii
import time

import msgpack
import pytest
import requests
import websocket

from sim.server import Simulator
from tests.sim.conftest import SELLER
from tests.sim.simclient import TOKEN_API, Control, Im, Seller, set_cookies

ITEM = "900000000001"
BUYER = "3000000001"


def fired(control: Control, kind: str, unb: str = SELLER) -> dict[str, int]:
    return control.account(unb)["faults"][kind]


def test_disconnect_cuts_the_next_connections_right_after_reg(seller: Seller, control: Control) -> None:
    control.fault(SELLER, "disconnect", 2)
    for attempt in (1, 2):
        im = Im(seller.urls)
        assert im.register(seller.token(), seller.device_id)["code"] == 200
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            im.quiet(2.0)
            im.request("/!")
        assert fired(control, "disconnect") == {"remaining": 2 - attempt, "fired": attempt}
    im = seller.connect()
    assert im.request("/!")["code"] == 200
    assert control.account(SELLER)["connections"] == 3


def test_disconnect_for_everyone_covers_later_accounts(sim: Simulator, control: Control, seller: Seller) -> None:
    control.fault("*", "disconnect", 1)
    later = Seller(sim.urls, "2200000000002")
    im = Im(later.urls)
    assert im.register(later.token(), later.device_id)["code"] == 200
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        im.quiet(2.0)
        im.request("/!")
    assert fired(control, "disconnect", later.unb) == {"remaining": 0, "fired": 1}


def test_stall_heartbeat_swallows_n_replies(seller: Seller, control: Control) -> None:
    im = seller.connect()
    control.fault(SELLER, "stall_heartbeat", 2)
    for _ in range(2):
        im.send({"lwp": "/!", "headers": {"mid": "1 0"}})
    assert not [f for f in im.quiet(0.5) if f.get("code") == 200]
    assert im.request("/!")["code"] == 200
    assert fired(control, "stall_heartbeat") == {"remaining": 0, "fired": 2}
    assert control.account(SELLER)["heartbeats"] == 3


def test_refuse_connect_answers_503_during_the_handshake(seller: Seller, control: Control) -> None:
    control.fault(SELLER, "refuse_connect", 1)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Im(seller.urls, cookie=seller.cookie_header)
    assert refused.value.status_code == 503
    Im(seller.urls, cookie=seller.cookie_header)
    assert fired(control, "refuse_connect") == {"remaining": 0, "fired": 1}


def test_refuse_connect_for_everyone_covers_cookieless_handshakes(sim: Simulator, control: Control) -> None:
    control.fault("*", "refuse_connect", 1)
    with pytest.raises(websocket.WebSocketBadStatusException):
        Im(sim.urls)
    Im(sim.urls)


def test_token_expired_fails_mtop_and_revokes_im_tokens(seller: Seller, control: Control) -> None:
    token = seller.token()
    control.fault(SELLER, "token_expired", 1)
    response = seller.mtop_raw(TOKEN_API, {"appKey": "444e9908a51d1cb236a27862abc769c9", "deviceId": seller.device_id})
    assert response.json()["ret"] == ["FAIL_SYS_TOKEN_EXOIRED::令牌过期"]
    assert set(set_cookies(response)) == {"_m_h5_tk", "_m_h5_tk_enc"}
    assert Im(seller.urls).register(token, seller.device_id)["code"] == 401
    seller.cookies.update(set_cookies(response))
    assert seller.connect().request("/!")["code"] == 200
    assert fired(control, "token_expired") == {"remaining": 0, "fired": 1}


def test_session_expired_fails_mtop_and_has_login(seller: Seller, control: Control, sim: Simulator) -> None:
    control.fault(SELLER, "session_expired", 2)
    assert seller.mtop_raw(TOKEN_API, {"deviceId": seller.device_id}).json()["ret"] == [
        "FAIL_SYS_SESSION_EXPIRED::Session过期"]
    has_login = requests.post(f"{sim.urls['passport']}/newlogin/hasLogin.do", data={"hid": SELLER},
                              headers={"Cookie": seller.cookie_header}, timeout=5)
    assert has_login.json()["content"]["success"] is False
    assert seller.token()
    assert fired(control, "session_expired") == {"remaining": 0, "fired": 2}


def test_malformed_pushes_are_ackable_and_harmless(seller: Seller, control: Control) -> None:
    im = seller.connect()
    control.fault(SELLER, "malformed_push", 4)
    frames = im.quiet(1.0)
    assert len(im.raw_texts) == 1                       # the non-JSON text frame
    pushes = [f for f in frames if f.get("lwp") == "/s/para"]
    assert len(pushes) == 3
    items = [p["body"]["syncPushPackage"]["data"][0] for p in pushes]
    with pytest.raises(binascii.Error):
        base64.b64decode(items[0]["data"], validate=True)
    with pytest.raises(ValueError):
        msgpack.unpackb(base64.b64decode(items[1]["data"]), strict_map_key=False)
    assert items[2]["objectType"] not in (40000, 40006, 40103, 370000)
    acks_before = control.account(SELLER)["acks"]
    for push in pushes:
        im.ack(push)
    assert im.request("/!")["code"] == 200
    assert control.account(SELLER)["acks"] == acks_before + 3
    assert fired(control, "malformed_push") == {"remaining": 0, "fired": 4}


def test_malformed_push_armed_offline_arrives_at_next_sync(seller: Seller, control: Control) -> None:
    control.fault(SELLER, "malformed_push", 1)
    assert fired(control, "malformed_push") == {"remaining": 1, "fired": 0}
    im = seller.connect()
    push = im.wait(lambda f: f.get("lwp") == "/s/para")
    assert push["body"]["syncPushPackage"]["data"][0]["data"] == "%%not*base64!!"
    assert fired(control, "malformed_push") == {"remaining": 0, "fired": 1}


def test_send_error_is_500_and_not_recorded(seller: Seller, control: Control) -> None:
    im = seller.connect()
    cid = control.post("messages", {"seller": SELLER, "buyer": BUYER, "item_id": ITEM, "text": "在吗"})["cid"]
    control.fault(SELLER, "send_error", 1)
    failed = im.send_text(cid, BUYER, SELLER, "第一次")
    assert failed["code"] == 500 and failed["body"]["reason"]
    assert im.send_text(cid, BUYER, SELLER, "第二次")["code"] == 200
    assert [m["text"] for m in control.get("sent", seller=SELLER)["messages"]] == ["第二次"]
    assert fired(control, "send_error") == {"remaining": 0, "fired": 1}


def test_slow_http_delays_api_calls_but_not_control(seller: Seller, control: Control) -> None:
    control.fault(SELLER, "slow_http", 1, delay=0.6)
    started = time.monotonic()
    control.get("state")
    assert time.monotonic() - started < 0.5
    seller.token()
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    seller.token()
    assert time.monotonic() - started < 0.5
    assert fired(control, "slow_http") == {"remaining": 0, "fired": 1}


def test_unlimited_count_keeps_firing_until_disarmed(seller: Seller, control: Control) -> None:
    control.fault(SELLER, "session_expired", -1)
    for _ in range(3):
        assert "SESSION_EXPIRED" in seller.mtop_raw(TOKEN_API, {"deviceId": "d"}).json()["ret"][0]
    control.fault(SELLER, "session_expired", 0)
    assert seller.token()
    assert fired(control, "session_expired") == {"remaining": 0, "fired": 3}
