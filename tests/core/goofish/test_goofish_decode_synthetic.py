"""Decoding of payloads built here with msgpack (int keys, use_bin_type=False, as the server does):
trade cards and notices for every order state, images, own echoes, fallbacks and wrong types."""

from __future__ import annotations

import base64
import json
from typing import Any

import msgpack
import pytest

from core.goofish.decode import decode_item, decode_payload

BUYER, SELLER, CID, ITEM, ORDER = "2202640918079", "3149637063", "47812870000", "897742748011", "2503688126356636370"


def b64(obj: Any, use_bin_type: bool = False) -> str:
    return base64.b64encode(msgpack.packb(obj, use_bin_type=use_bin_type)).decode()


def card(title: str, button_url: str | None = None, main_url: str | None = None) -> str:
    ex_content: dict[str, Any] = {"title": title, "desc": "请双方沟通及时确认价格"}
    if button_url:
        ex_content["button"] = {"text": "去发货", "targetUrl": button_url}
    main: dict[str, Any] = {"exContent": ex_content}
    if main_url:
        main["targetUrl"] = main_url
    return json.dumps({"contentType": 26, "dxCard": {"item": {"main": main}}}, ensure_ascii=False)


def message(
    text: str,
    *,
    content_type: int = 1,
    inner: str | None = None,
    sender: str = BUYER,
    need_push: str = "true",
    summary: str | None = None,
    ext: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
) -> dict[int, Any]:
    """A 40000 payload shaped like spec §4.1 (and the real capture)."""
    extension: dict[str, Any] = {
        "_platform": "web",
        "bizTag": json.dumps({"sourceId": "S:1", "messageId": "a" * 32}),
        "extJson": json.dumps({"quickReply": "1", "messageId": "b" * 32, "tag": "u"}),
        "reminderContent": text,
        "reminderNotice": "发来一条新消息",
        "reminderTitle": "买家昵称",
        "reminderUrl": f"fleamarket://message_chat?itemId={ITEM}&peerUserId={sender}&peerUserNick=t***1&sid={CID}&messageId={'a' * 32}&adv=no",
        "senderUserId": sender,
        "senderUserType": "0",
        "sessionType": "1",
    }
    extension.update(ext or {})
    for key in drop:
        extension.pop(key, None)
    if inner is None:
        inner = json.dumps({"atUsers": [], "contentType": content_type, "text": {"text": text}}, ensure_ascii=False)
    return {
        1: {
            1: {1: f"{sender}@goofish"},
            2: f"{CID}@goofish",
            3: "3402391472503.PNM",
            4: 0,
            5: 1741704978866,
            6: {1: 101, 3: {1: "", 2: summary if summary is not None else text, 3: "", 4: content_type, 5: inner}},
            7: 2,
            8: 1,
            9: 0,
            10: extension,
            12: 1,
        },
        3: {"needPush": need_push},
    }


@pytest.mark.parametrize(
    ("title", "reminder", "red", "status"),
    [
        ("我已拍下，待付款", "[我已拍下，待付款]", "等待买家付款", "unpaid"),
        ("我已付款，等待你发货", "[我已付款，等待你发货]", "等待卖家发货", "paid"),
        ("你已发货", "[你已发货]", None, "shipped"),
        ("买家确认收货，交易成功", "[买家确认收货，交易成功]", None, "completed"),
        ("你已确认收货，交易成功", "[你已确认收货，交易成功]", None, "completed"),
        ("你关闭了订单，钱款已原路退返", "[你关闭了订单，钱款已原路退返]", "交易关闭", "closed"),
        ("退款成功，钱款已原路退返", "[退款成功，钱款已原路退返]", None, "refund"),
        ("买家申请退款", "[买家申请退款]", None, "refund"),
        ("我已小刀，待刀成", "[我已小刀，待刀成]", None, None),  # a card of no known state: still an order
        ("卡片", "[卡片消息]", "等待卖家发货", "paid"),  # the redReminder of a card names the state
    ],
)
def test_trade_cards(title: str, reminder: str, red: str | None, status: str | None) -> None:
    ext = {"redReminder": red, "updateKey": f"{CID}:{ORDER}:1_x"} if red else {}
    payload = message(
        reminder,
        content_type=26,
        inner=card(title, f"fleamarket://adjust_price?flutter=true&bizOrderId={ORDER}"),
        ext=ext,
    )
    event = decode_payload(b64(payload), object_type=40000)
    assert (event.kind, event.order_status, event.order_id) == ("order", status, ORDER)
    assert (event.cid, event.sender_id, event.item_id, event.text) == (CID, BUYER, ITEM, reminder)
    assert event.content_type == 26


@pytest.mark.parametrize(
    ("notice", "status"),
    [
        ("[我已付款，等待你发货]", "paid"),
        ("[已付款，待发货]", "paid"),
        ("[买家已付款]", "paid"),
        ("[付款完成]", "paid"),
        ("[记得及时发货]", "paid"),
        ("[你已发货]", "shipped"),
        ("[买家确认收货，交易成功]", "completed"),
        ("[交易成功]", "completed"),
        ("[你关闭了订单，钱款已原路退返]", "closed"),
        ("[交易关闭]", "closed"),
        ("[订单已关闭]", "closed"),
        ("[退款成功，钱款已原路退返]", "refund"),
    ],
)
@pytest.mark.parametrize("content_type", [6, 14, 26])
def test_bracketed_trade_notices_of_non_text_messages(notice: str, status: str, content_type: int) -> None:
    inner = json.dumps({"contentType": content_type, "tip": {"text": notice}}, ensure_ascii=False)
    payload = message(notice, content_type=content_type, inner=inner, ext={"extJson": json.dumps({"updateKey": f"{CID}:{ORDER}:x"})})
    event = decode_payload(b64(payload))
    assert (event.kind, event.order_status, event.order_id) == ("order", status, ORDER)


def test_typed_text_never_becomes_an_order() -> None:
    # A buyer typing the paid notice must not trigger delivery: it is a buyer's words like any other.
    spoof = decode_payload(b64(message("[我已付款，等待你发货]", ext={"redReminder": "等待卖家发货"})))
    assert spoof.kind == "chat" and spoof.order_status is None
    talk = decode_payload(b64(message("交易成功了吗？已发货没", ext={"redReminder": "等待卖家发货"})))
    assert talk.kind == "chat" and talk.order_status is None


@pytest.mark.parametrize(
    "notice",
    [
        "发来一条新消息",
        "发来一条消息",
        "快给ta一个评价吧~",
        "快给ta一个评价吧～",
        "卖家人不错？送Ta闲鱼小红花",
        "[不想宝贝被砍价?设置不砍价回复  ]",
        "AI正在帮你回复消息，不错过每笔订单",
    ],
)
def test_system_notices(notice: str) -> None:
    event = decode_payload(b64(message(notice)))
    assert event.kind == "system" and event.text == notice


@pytest.mark.parametrize(("summary", "content_type"), [("[语音]", 3), ("[视频]", 4), ("[宝贝卡片]", 7), ("[提示]", 6)])
def test_bracketed_summaries_of_non_text_messages_are_notices(summary: str, content_type: int) -> None:
    event = decode_payload(b64(message(summary, content_type=content_type, inner=json.dumps({"contentType": content_type}))))
    assert event.kind == "system" and event.text == summary


@pytest.mark.parametrize("typed", ["[急] 多少钱 [急]", "[微笑]", "[微笑][微笑]", "[语音]", "[宝贝卡片]", "[在吗]"])
def test_bracketed_typed_text_is_a_buyer_message(typed: str) -> None:
    # Brackets are the buyer's to type: what marks a notice is the content type (or the platform's exact string).
    event = decode_payload(b64(message(typed)))
    assert event.kind == "chat" and event.text == typed


def test_order_id_fallbacks() -> None:
    main_only = card("你已发货", main_url=f"fleamarket://order_detail?id={ORDER}&role=seller")
    assert decode_payload(b64(message("[你已发货]", content_type=26, inner=main_only))).order_id == ORDER
    button_order_id = card("你已发货", button_url="fleamarket://x?orderId=123")
    assert decode_payload(b64(message("[你已发货]", content_type=26, inner=button_order_id))).order_id == "123"
    update_key = message("[你已发货]", content_type=26, inner=card("你已发货"),
                         ext={"extJson": json.dumps({"updateKey": f"{CID}:{ORDER}:3_shipped"})})
    assert decode_payload(b64(update_key)).order_id == ORDER
    loose = message("[你已发货]", content_type=26, inner=card("你已发货"), ext={"extra": f'{{"orderId":"{ORDER}"}}'})
    assert decode_payload(b64(loose)).order_id == ORDER
    short_loose = message("[你已发货]", content_type=26, inner=card("你已发货"), ext={"extra": "orderId=12345"})
    assert decode_payload(b64(short_loose)).order_id is None  # a bare orderId wants 10+ digits
    unicode_digits = message("[你已发货]", content_type=26, inner=card("你已发货", button_url="x?orderId=١٢٣٤٥٦٧٨٩٠١"))
    assert decode_payload(b64(unicode_digits)).order_id is None


def test_image_message() -> None:
    url = "https://img.alicdn.com/imgextra/i1/O1CN01.jpg"
    inner = json.dumps({"contentType": 2, "image": {"pics": [{"height": 600, "type": 0, "url": url, "width": 800}]}})
    event = decode_payload(b64(message("[图片]", content_type=2, inner=inner)))
    assert (event.kind, event.image_url, event.text, event.content_type) == ("chat", url, "[图片]", 2)
    echo = decode_payload(b64(message("[图片]", content_type=2, inner=inner, sender=SELLER)), me=SELLER)
    assert (echo.kind, echo.image_url) == ("own_echo", url)
    broken = decode_payload(b64(message("[图片]", content_type=2, inner='{"image":{"pics":"x"}}')))
    assert (broken.kind, broken.image_url) == ("chat", None)


def test_own_echo_rules() -> None:
    echo = message("好的", sender=SELLER, need_push="false")
    assert decode_payload(b64(echo)).kind == "own_echo"  # needPush decides without `me`
    assert decode_payload(b64(echo), me=SELLER).kind == "own_echo"
    assert decode_payload(b64(echo), me=BUYER).kind == "chat"  # `me` wins over needPush
    assert decode_payload(b64(message("好的", sender=SELLER)), me=SELLER).kind == "own_echo"
    assert decode_payload(b64(message("好的"))).kind == "chat"


def test_field_fallbacks() -> None:
    no_biz = decode_payload(b64(message("hi", drop=("bizTag",))))
    assert no_biz.message_id == "b" * 32
    no_ids = decode_payload(b64(message("hi", drop=("bizTag", "extJson"))))
    assert no_ids.message_id == "3402391472503.PNM"
    no_sender = decode_payload(b64(message("hi", drop=("senderUserId",))))
    assert no_sender.sender_id == BUYER
    nick = decode_payload(b64(message("hi", ext={"senderNick": "真名"})))
    assert nick.sender_nick == "真名"
    assert decode_payload(b64(message("hi"))).sender_nick == "买家昵称"
    no_reminder = decode_payload(b64(message("hi", drop=("reminderContent",))))
    assert no_reminder.text == "hi"  # from the inner text JSON
    no_url = decode_payload(b64(message("hi", drop=("reminderUrl",))))
    assert (no_url.item_id, no_url.cid) == (None, CID)


def test_cid_from_reminder_url_when_field_2_is_missing() -> None:
    payload = message("hi")
    del payload[1][2]
    assert decode_payload(b64(payload)).cid == CID


def test_wrong_types_are_tolerated() -> None:
    payload = message("hi")
    payload[1][5] = "1741704978866"
    payload[1][10]["senderUserId"] = int(BUYER)
    payload[1][10]["bizTag"] = ["not", "json"]
    payload[1][6] = [1, 2, 3]
    payload[3] = "needPush"
    event = decode_payload(b64(payload))
    assert (event.kind, event.created_at, event.sender_id, event.text) == ("chat", 1741704978866, BUYER, "hi")
    payload[1][10] = ["ext", "as", "list"]
    event = decode_payload(b64(payload))
    assert (event.kind, event.sender_id, event.text, event.cid) == ("chat", BUYER, None, CID)


def test_bin_strings_and_bad_utf8_decode_leniently() -> None:
    assert decode_payload(b64(message("包邮吗"), use_bin_type=True)).text == "包邮吗"
    payload = message("hi")
    payload[1][10]["reminderTitle"] = b"\xff\xfebad"
    raw = msgpack.packb(payload, use_bin_type=False)  # bytes packed as str type, with invalid UTF-8
    event = decode_payload(base64.b64encode(raw).decode())
    assert event.kind == "chat" and event.sender_nick == "\ufffd\ufffdbad"


def test_base64_leniency() -> None:
    data = b64(message("hi"))
    assert decode_payload(" \n".join(data[i : i + 10] for i in range(0, len(data), 10))).text == "hi"
    assert decode_payload(data.rstrip("=")).text == "hi"
    urlsafe = base64.urlsafe_b64encode(msgpack.packb(message("hi?>>"), use_bin_type=False)).decode()
    assert decode_payload(urlsafe).text == "hi?>>"
    trailing = base64.b64encode(msgpack.packb(message("hi"), use_bin_type=False) + b"\x00\x01").decode()
    assert decode_payload(trailing).text == "hi"


def test_read_receipt_and_notice_variants() -> None:
    listed = decode_payload(b64({1: ["3593867116846.PNM", "3593867116847.PNM"], 2: 2, 3: f"{CID}@goofish", 4: 1, 5: "1751435776794"}))
    assert (listed.kind, listed.cid, listed.message_id, listed.created_at) == ("read_receipt", CID, "3593867116846.PNM", 1751435776794)
    read = decode_payload(b64({1: "1.PNM", 2: 2, 3: 0, 4: f"{CID}@goofish", 5: 1, 6: 5}), object_type=40102)
    assert (read.kind, read.object_type) == ("read_receipt", 40102)
    notice = decode_payload(b64({1: f"{CID}@goofish", 2: 1, 3: "3593867116846.PNM", 4: 1751435776794}))
    assert (notice.kind, notice.cid, notice.message_id) == ("session", CID, "3593867116846.PNM")


@pytest.mark.parametrize(
    ("reminder", "kind", "status"),
    [("等待买家付款", "order", "unpaid"), ("等待卖家发货", "order", "paid"), ("交易关闭", "order", "closed"),
     ("有新的留言", "session", None), (None, "session", None)],
)
def test_red_reminders(reminder: str | None, kind: str, status: str | None) -> None:
    event = decode_payload(b64({1: f"{CID}@goofish", 2: 1, 3: {"redReminder": reminder, "redReminderStyle": "1"}, 4: 1}))
    assert (event.kind, event.order_status, event.cid) == (kind, status, CID)


@pytest.mark.parametrize(
    ("data", "object_type", "reason"),
    [
        (b64({1: "x"}), 12345, "unknown objectType 12345"),
        (base64.b64encode(b'{"chatType":1}').decode(), 99, "unknown objectType 99"),
        (b64({1: "x"}), "abc", "not an integer"),
        (b64({1: "x"}), [1], "not an integer"),
        (b64([1, 2]), 40000, "expected a map"),
        (b64({2: 3}), 40000, "unrecognised payload shape"),
        (b64({1: []}), 40006, "neither maps nor message ids"),
        (b64({1: f"{CID}@goofish", 3: 5}), 40000, "neither a reminder"),
        (b64({1: "x"}), 370000, "not a JSON object"),
        (base64.b64encode(b'{"hello":1}').decode(), None, "without chatType"),
        ("", 40000, "empty"),
        ("!!!!", 40000, "empty"),
        (None, 40000, "expected base64"),
        (12, 40000, "expected base64"),
        ("gQ", 40000, "msgpack truncated/invalid"),  # 0x81: a one-entry map, cut off
    ],
)
def test_invalid_payloads(data: Any, object_type: Any, reason: str) -> None:
    event = decode_payload(data, object_type=object_type)
    assert event.kind == "invalid"
    assert event.error and reason in event.error, event.error


def test_decode_item_wrong_types() -> None:
    assert decode_item("x").kind == "invalid"  # type: ignore[arg-type]
    assert decode_item({}).kind == "invalid"
    assert decode_item({"objectType": "40000", "data": b64(message("hi"))}).kind == "chat"
