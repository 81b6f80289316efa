"""The payload builders reproduce real captures byte for byte, given the captures' own values."""

from __future__ import annotations

import base64
import json

import msgpack
import pytest

from sim.payloads import (
    CARD_TEXTS,
    ORDER_STATUSES,
    TEXT,
    ArouseInfo,
    CardIds,
    ChatContext,
    image_content,
    read_receipt,
    red_reminder,
    session_arouse,
    session_event,
    text_content,
    trade_card,
    user_message,
)
from tests.sim import vectors

CARD_IDS = CardIds("cc8bc2df7c934df086e0567cb69f1573", "3exQJHOTmPU1", "3exQJHOTmPU1_FFr4GOSn8OQo")
CARD_BUYER = ChatContext(cid="47983389096", item_id="900052644277", sender_id="3149637063", sender_nick="男孩y",
                         masked_nick="男***y")


def unpack(data: bytes) -> dict:
    return msgpack.unpackb(data, strict_map_key=False)


def test_buyer_text_matches_the_capture() -> None:
    ctx = ChatContext(cid="47812870000", item_id="897742748011", sender_id="2202640918079", sender_nick="sha修",
                      masked_nick="t***1")
    message = user_message(ctx, pnm_id="3402391472503.PNM", message_id="f36902eff45445bdb2d1b0fd168f8264",
                           created_ms=1741704978866, content_type=TEXT, content=text_content("111"), summary="111",
                           platform="android", need_push=True)
    assert message.to_msgpack() == base64.b64decode(vectors.BUYER_TEXT_111)
    assert message.message_id == "f36902eff45445bdb2d1b0fd168f8264"


def test_unpaid_trade_card_matches_the_capture() -> None:
    card = trade_card(CARD_BUYER, seller_id="2202640918079", order_id="2503688126356636370", status="unpaid",
                      pnm_id="3416565274542.PNM", created_ms=1742458817389, ids=CARD_IDS)
    assert card.to_msgpack() == base64.b64decode(vectors.CARD_PLACED_UNPAID)


def test_small_session_shapes_match_the_captures() -> None:
    assert session_event("51204613184", "2150369819") == base64.b64decode(vectors.SESSION_EVENT_40006)
    assert read_receipt("51204613184", "3593867116846.PNM", 1751435776794) == base64.b64decode(
        vectors.READ_RECEIPT_40103)
    assert red_reminder("47983389096", "等待买家付款", 1742467315320) == base64.b64decode(vectors.RED_REMINDER)


def test_session_arouse_matches_the_capture() -> None:
    captured = json.loads(base64.b64decode(vectors.SESSION_AROUSE_370000))
    extensions = captured["operation"]["sessionInfo"]["extensions"]
    info = ArouseInfo(cid="46731209751", seller_id="86599526", buyer_id="2150369819", receiver_id="2150369819",
                      item_id="858405091799", item_title=extensions["itemTitle"], item_pic=extensions["itemMainPic"],
                      category_id="201453115", category_name="温泉/洗浴", created_ms=1738168886000,
                      aroused_ms=1738168886398)
    assert session_arouse(info) == base64.b64decode(vectors.SESSION_AROUSE_370000)


@pytest.mark.parametrize("status", ORDER_STATUSES)
def test_each_status_card_names_its_notice_and_order(status: str) -> None:
    order = "2512345678901234567"
    card = trade_card(CARD_BUYER, seller_id="2202640918079", order_id=order, status=status,
                      pnm_id="3416565274542.PNM", created_ms=1742458817389, ids=CARD_IDS)
    message = unpack(card.to_msgpack())[1]
    text = CARD_TEXTS[status]
    ext = message[10]
    assert ext["reminderContent"] == f"[{text.title}]" == message[6][3][2]
    assert ext["redReminder"] == text.red_reminder
    assert json.loads(ext["extJson"])["updateKey"] == f"47983389096:{order}:{text.update_key}"
    main = json.loads(message[6][3][5])["dxCard"]["item"]["main"]
    assert main["targetUrl"] == f"fleamarket://order_detail?id={order}&role=seller"
    assert f"bizOrderId={order}" in main["exContent"]["button"]["targetUrl"]
    assert main["exContent"]["title"] == text.title
    assert message[6][3][4] == 26 and message[7] == 1


def test_status_notices_are_the_ones_bots_match() -> None:
    notices = {status: f"[{CARD_TEXTS[status].title}]" for status in ORDER_STATUSES}
    assert notices == {
        "unpaid": "[我已拍下，待付款]", "paid": "[我已付款，等待你发货]", "shipped": "[你已发货]",
        "completed": "[买家确认收货，交易成功]", "closed": "[你关闭了订单，钱款已原路退返]",
        "refund": "[退款成功，钱款已原路退返]",
    }
    assert CARD_TEXTS["paid"].red_reminder == "等待卖家发货"
    assert CARD_TEXTS["closed"].red_reminder == "交易关闭"


def test_image_message_carries_the_picture() -> None:
    ctx = ChatContext("47812870000", "897742748011", "2202640918079", "sha修", "s***修")
    message = user_message(ctx, pnm_id="1.PNM", message_id="ab" * 16, created_ms=1, content_type=2,
                           content=image_content("https://img.example/a.jpg", 640, 480), summary="[图片]",
                           platform="web", need_push=False)
    decoded = unpack(message.to_msgpack())
    inner = json.loads(decoded[1][6][3][5])
    assert inner["image"]["pics"][0] == {"height": 480, "type": 0, "url": "https://img.example/a.jpg", "width": 640}
    assert decoded[1][6][3][4] == 2 and decoded[3] == {"needPush": "false"}
