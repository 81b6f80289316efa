"""The IM WebSocket end to end, with a client written in the test: registration, heartbeats, pushes and ACKs,
sending, the sync/delivery model across reconnects, and the conversation requests."""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from urllib.parse import urlsplit

import pytest
import websocket

from sim.server import Simulator
from tests.sim.conftest import SELLER
from tests.sim.simclient import Control, Im, Seller, client_mid, decode_item

ITEM = "900000000001"
BUYER = "3000000001"


def post(control: Control, text: str, buyer: str = BUYER) -> dict:
    return control.post("messages", {"seller": SELLER, "buyer": buyer, "buyer_nick": "买家甲", "item_id": ITEM,
                                     "text": text})


def payload(push: dict) -> dict:
    items = push["body"]["syncPushPackage"]["data"]
    assert len(items) == 1, "one data item per frame"
    return decode_item(items[0])


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_end_to_end_conversation_and_reconnect(seller: Seller, control: Control) -> None:
    im = Im(seller.urls)
    reg = im.register(seller.token(), seller.device_id)
    headers = reg["headers"]
    assert reg["code"] == 200 and headers["reg-uid"] == f"{SELLER}@goofish" and headers["dt"] == "j"
    assert re.fullmatch(r"[0-9a-f]{44}", headers["reg-sid"]) and headers["sid"] == headers["reg-sid"]
    assert reg["body"]["unitName"] == "PNM" and reg["body"]["isFromChina"] is True
    for route in ("/s/sync", "/s/vulcan"):
        push = im.wait(lambda f, route=route: f.get("lwp") == route)
        assert re.fullmatch(r"[0-9a-f]{8} 0", push["headers"]["mid"])
        im.ack(push)
    im.ack_diff()
    assert control.account(SELLER)["online"] is True

    heartbeat = im.request("/!")
    assert heartbeat == {"headers": {"mid": heartbeat["headers"]["mid"]}, "code": 200}

    posted = post(control, "在吗，包邮吗")
    push = im.push(object_type=40000)
    assert push["lwp"] == "/s/para" and push["headers"]["sid"] == headers["sid"]
    message = payload(push)
    ext = message[1][10]
    assert message[1][2] == f"{posted['cid']}@goofish" and message[3] == {"needPush": "true"}
    assert (ext["reminderContent"], ext["senderUserId"], ext["reminderTitle"]) == ("在吗，包邮吗", BUYER, "买家甲")
    assert f"itemId={ITEM}&" in ext["reminderUrl"]
    assert json.loads(ext["bizTag"])["messageId"] == posted["message_id"]
    assert abs(message[1][5] - time.time() * 1000) < 5000
    im.ack(push)
    im.ack(push)        # XianyuAutoAgent ACKs twice

    reply = im.send_text(posted["cid"], BUYER, SELLER, "包邮的")
    assert reply["code"] == 200 and reply["body"]["messageId"].endswith(".PNM")
    echo_push = im.push(object_type=40000)
    im.ack(echo_push)
    echo = payload(echo_push)
    assert echo[3] == {"needPush": "false"}
    assert (echo[1][10]["senderUserId"], echo[1][10]["reminderContent"]) == (SELLER, "包邮的")
    sent = control.get("sent", seller=SELLER, since=0)["messages"]
    assert [(m["seq"], m["cid"], m["to"], m["text"], m["content_type"]) for m in sent] == [
        (1, posted["cid"], BUYER, "包邮的", 1)]
    assert control.get("sent", seller=SELLER, since=1) == {"messages": []}
    wait_until(lambda: control.account(SELLER)["unacked"] == 0)
    state = control.account(SELLER)
    assert state["heartbeats"] == 1 and state["duplicate_acks"] >= 1

    control.fault(SELLER, "disconnect", 1)
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        im.quiet(2.0)
        im.request("/!")
    state = control.account(SELLER)
    assert state["online"] is False and state["faults"]["disconnect"] == {"remaining": 0, "fired": 1}

    post(control, "人呢？")
    assert control.account(SELLER)["queued"] == 1
    again = seller.connect()
    late = payload(again.push(object_type=40000))
    assert late[1][10]["reminderContent"] == "人呢？"
    assert control.account(SELLER)["connections"] == 2


def test_unacked_push_is_redelivered_until_acked(seller: Seller, control: Control) -> None:
    im = seller.connect()
    post(control, "第一条")
    first = payload(im.push(object_type=40000))
    im.close()
    wait_until(lambda: not control.account(SELLER)["online"])

    im = seller.connect()
    push = im.push(object_type=40000)
    assert push["lwp"] == "/s/sync"
    assert payload(push)[1][3] == first[1][3]       # the same server message id
    im.ack(push)
    wait_until(lambda: control.account(SELLER)["unacked"] == 0)
    im.close()

    im = seller.connect()
    assert not [f for f in im.quiet(1.5) if f.get("lwp") in ("/s/sync", "/s/para")
                and f["body"]["syncPushPackage"]["data"]]


def test_backlog_arrives_without_ack_diff_after_the_wait(seller: Seller, control: Control) -> None:
    post(control, "离线时发的")
    im = seller.connect(ack_diff=False)
    started = time.monotonic()
    assert payload(im.push(object_type=40000, timeout=4))[1][10]["reminderContent"] == "离线时发的"
    assert time.monotonic() - started > 0.5     # ackdiff_wait is 1 s in these tests


def test_ack_diff_position_replays_acked_items_after_it(seller: Seller, control: Control) -> None:
    im = seller.connect()
    post(control, "一")
    first = im.push(object_type=40000)
    im.ack(first)
    post(control, "二")
    second = im.push(object_type=40000)
    im.ack(second)
    wait_until(lambda: control.account(SELLER)["unacked"] == 0)
    im.close()
    im = seller.connect(ack_diff=False)
    im.ack_diff(pts=first["body"]["syncPushPackage"]["maxPts"])
    assert payload(im.push(object_type=40000))[1][10]["reminderContent"] == "二"
    assert control.account(SELLER)["last_sync_pts"] == first["body"]["syncPushPackage"]["maxPts"]


def test_duplicate_host_and_connection_headers_are_accepted(sim: Simulator) -> None:
    url = urlsplit(sim.urls["ws"])
    request = (
        "GET / HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Host: wss-goofish.dingtalk.com\r\nConnection: Upgrade\r\n"
        "Origin: https://www.goofish.com\r\nCookie: unb=1; _m_h5_tk=x\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=5) as raw:
        raw.sendall(request.encode())
        assert raw.recv(1024).startswith(b"HTTP/1.1 101")


@pytest.mark.parametrize("bad", ["token", "did"])
def test_bad_registration_is_401(seller: Seller, control: Control, bad: str) -> None:
    im = Im(seller.urls)
    token = seller.token()
    reply = im.register("nope" if bad == "token" else token, seller.device_id + ("x" if bad == "did" else ""))
    assert reply["code"] == 401 and reply["body"]["reason"]
    assert control.account(SELLER)["online"] is False


def test_garbage_never_kills_the_connection(seller: Seller) -> None:
    im = Im(seller.urls)
    assert im.request("/r/SyncStatus/ackDiff", [{}])["code"] == 400    # before /reg
    assert im.request("/!")["code"] == 200
    im.register(seller.token(), seller.device_id)
    for junk in ("not json", "[1, 2]", '{"headers": 5}', '{"lwp": 7}'):
        im.ws.send(junk)
    assert im.request("/r/Nope/nothing", [])["code"] == 404
    assert im.request("/r/MessageSend/sendByReceiverScope", [{"cid": "1@goofish"}])["code"] == 400
    for _ in range(3):  # XianyuAutoAgent repeats one constant mid
        im.send({"lwp": "/r/SyncStatus/ackDiff", "headers": {"mid": "5701741704675979 0"}, "body": [{"pts": 1}]})
    assert im.request("/!")["code"] == 200
    assert im.request("/r/SyncStatus/getState", [{"topic": "sync"}])["body"]["topic"] == "sync"


def test_conversation_requests(seller: Seller, control: Control) -> None:
    im = seller.connect()
    created = im.request("/r/SingleChatConversation/create", [{
        "pairFirst": f"{BUYER}@goofish", "pairSecond": f"{SELLER}@goofish", "bizType": "1",
        "extension": {"itemId": ITEM}, "ctx": {"appVersion": "1.0", "platform": "web"}}])
    cid = created["body"]["singleChatConversation"]["cid"]
    assert re.fullmatch(r"\d{11}@goofish", cid)
    assert post(control, "你好")["cid"] + "@goofish" == cid
    im.send_text(cid.split("@")[0], BUYER, SELLER, "在的")
    page = im.request("/r/MessageManager/listUserMessages", [cid, False, 9007199254740991, 20, False])["body"]
    texts = [base64.b64decode(m["message"]["content"]["custom"]["data"]).decode() for m in page["userMessageModels"]]
    assert ["在的" in texts[0], "你好" in texts[1], page["hasMore"]] == [True, True, False]
    convs = im.request("/r/Conversation/listNewestPagination", [9007199254740991, 20])["body"]["userConvs"]
    conv = convs[0]["singleChatUserConversation"]
    assert conv["singleChatConversation"]["cid"] == cid and conv["redPoint"] == 1
    last = page["userMessageModels"][0]["message"]["messageId"]
    assert im.request("/r/Conversation/clearRedPoint", [[{"cid": cid, "messageId": last}]])["code"] == 200
    assert im.request("/r/MessageStatus/read", [[last]])["code"] == 200
    assert control.get("conversations", seller=SELLER)["conversations"][0]["red_point"] == 0


def test_read_receipt_and_typing_pushes(seller: Seller, control: Control) -> None:
    im = seller.connect()
    cid = post(control, "你好")["cid"]
    im.ack(im.push(object_type=40000))
    reply = im.send_text(cid, BUYER, SELLER, "在的")
    im.ack(im.push(object_type=40000))
    assert control.post("read", {"seller": SELLER, "cid": cid})["message_id"] == reply["body"]["messageId"]
    receipt = payload(im.push(object_type=40103))
    assert (receipt[1], receipt[4]) == (reply["body"]["messageId"], f"{cid}@goofish")
    control.post("typing", {"seller": SELLER, "cid": cid})
    assert payload(im.push(object_type=40006)) == {1: [{1: f"{cid}@goofish", 2: 1, 3: 1, 4: f"{BUYER}@goofish"}]}


def test_order_life_cycle_cards(seller: Seller, control: Control) -> None:
    control.post("items", {"seller": SELLER, "item_id": ITEM, "title": "卡带", "price": "259.00", "quantity": 3})
    im = seller.connect()
    order = control.post("orders", {"seller": SELLER, "buyer": BUYER, "item_id": ITEM, "status": "unpaid"})["order_id"]

    def card() -> tuple[str, str, str]:
        """(notice, order id in the card's targetUrl, the session red reminder pushed after it)."""
        card_push, reminder_push = im.push(object_type=40000), im.push(object_type=40006)
        im.ack(card_push)
        im.ack(reminder_push)
        message = payload(card_push)[1]
        main = json.loads(message[6][3][5])["dxCard"]["item"]["main"]
        reminder = payload(reminder_push)[3]["redReminder"]
        return message[10]["reminderContent"], re.search(r"id=(\d+)", main["targetUrl"])[1], reminder

    assert card() == ("[我已拍下，待付款]", order, "等待买家付款")
    control.post("orders", {"order_id": order, "status": "paid"})
    assert card() == ("[我已付款，等待你发货]", order, "等待卖家发货")
    consigned = seller.mtop("mtop.taobao.idle.logistic.consign.dummy", {"orderId": order})
    assert consigned["ret"] == ["SUCCESS::调用成功"]
    assert card() == ("[你已发货]", order, "等待买家收货")
    control.post("orders", {"order_id": order, "status": "completed"})
    assert card() == ("[买家确认收货，交易成功]", order, "交易成功")
    for status, notice in (("closed", "[你关闭了订单，钱款已原路退返]"), ("refund", "[退款成功，钱款已原路退返]")):
        other = control.post("orders", {"seller": SELLER, "buyer": BUYER, "item_id": ITEM, "status": "unpaid"})
        card()
        control.post("orders", {"order_id": other["order_id"], "status": status})
        assert card() == (notice, other["order_id"], "交易关闭")


def test_request_mid_is_echoed_even_when_constant(seller: Seller) -> None:
    im = seller.connect()
    mid = client_mid()
    for _ in range(2):
        im.send({"lwp": "/!", "headers": {"mid": mid}})
        assert im.wait(lambda f: f.get("headers", {}).get("mid") == mid and "code" in f)["code"] == 200
