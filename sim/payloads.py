"""Push payload builders: the msgpack (and one JSON) bodies the IM server base64-encodes into push items.

Shapes follow goofish-protocol.md §4.1/§4.2 and the captures in goofish-vectors.json. Real payloads are
`msgpack.packb(obj, use_bin_type=False)` of maps with *integer* structural keys, so key order and value types here
are chosen to reproduce the captures byte for byte (tests/sim/test_payloads.py proves it for the buyer text, the
trade card and the small session shapes). Also here: what a trade card says for each order status.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgpack

TEXT, IMAGE, TRADE_CARD = 1, 2, 26
CUSTOM_CONTENT = 101  # 1.6.1: every chat message is a "custom" message wrapping an inner JSON content
MULTI_CHANNEL = {"huawei": "EXPRESS", "xiaomi": "108000", "oppo": "EXPRESS", "honor": "NORMAL",
                 "agoo": "product", "vivo": "ORDER"}
CARD_TEMPLATE = {
    "name": "idlefish_message_trade_chat_card",
    "url": "https://dinamicx.alibabausercontent.com/pub/idlefish_message_trade_chat_card/1667222052767/"
           "idlefish_message_trade_chat_card.zip",
    "version": "1667222052767",
}
APP_UPGRADE = {
    "targetUrl": "https://h5.m.goofish.com/app/idleFish-F2e/fm-downlaod/home.html?noRedriect=true&canBack=true"
                 "&checkVersion=true",
    "version": "7.7.90",
}


# -- what a trade card says per order status ------------------------------------------------------------------
# The unpaid texts are copied from the real capture (vector zn_order_card_placed_unpaid). The others follow the
# notices bots match on (goofish-protocol.md §4.3: [我已付款，等待你发货], [你已发货], [买家确认收货，交易成功],
# [退款成功，钱款已原路退返], redReminder 等待卖家发货 / 交易关闭); the remaining fields (button, task name, update key
# suffix) are plausible values in the same style, since no capture of them is public.


@dataclass(frozen=True)
class CardText:
    title: str              # card title; the chat notice is "[title]"
    reminder_title: str     # 1.10.reminderTitle / reminderNotice
    red_reminder: str       # 1.10.redReminder and the session red reminder
    update_key: str         # suffix of extJson.updateKey "<cid>:<order>:<suffix>"
    task_name: str          # bizTag.taskName
    desc: str
    button: str
    button_url: str         # always carries bizOrderId= (clients extract the order id from it)


CARD_TEXTS: dict[str, CardText] = {
    "unpaid": CardText(
        "我已拍下，待付款", "买家已拍下，待付款", "等待买家付款", "1_not_pay_seller", "已拍下_未付款_卖家",
        "请双方沟通及时确认价格", "修改价格", "fleamarket://adjust_price?flutter=true&bizOrderId={order}"),
    "paid": CardText(
        "我已付款，等待你发货", "买家已付款，请尽快发货", "等待卖家发货", "2_pay_seller", "已付款_待发货_卖家",
        "请包装好商品，并按我在闲鱼上提供的地址发货", "去发货",
        "fleamarket://deliver_goods?flutter=true&bizOrderId={order}"),
    "shipped": CardText(
        "你已发货", "你已发货", "等待买家收货", "3_consign_seller", "已发货_待收货_卖家",
        "请等待买家确认收货", "查看物流", "fleamarket://logistic_detail?flutter=true&bizOrderId={order}"),
    "completed": CardText(
        "买家确认收货，交易成功", "交易成功", "交易成功", "4_success_seller", "交易成功_卖家",
        "快给ta一个评价吧~", "去评价", "fleamarket://rate_publish?flutter=true&bizOrderId={order}"),
    "closed": CardText(
        "你关闭了订单，钱款已原路退返", "交易关闭", "交易关闭", "5_close_seller", "交易关闭_卖家",
        "订单已关闭", "查看详情", "fleamarket://order_detail?flutter=true&role=seller&bizOrderId={order}"),
    "refund": CardText(
        "退款成功，钱款已原路退返", "退款成功", "交易关闭", "6_refund_seller", "退款成功_卖家",
        "退款已原路退回买家", "查看退款", "fleamarket://refund_detail?flutter=true&bizOrderId={order}"),
}

ORDER_STATUSES: tuple[str, ...] = tuple(CARD_TEXTS)


def compact_json(value: Any) -> str:
    """JSON as the platform writes it inside payloads: no spaces, raw UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def pack(value: Any) -> bytes:
    """MessagePack exactly like the captures (str16 instead of str8 comes from use_bin_type=False)."""
    return msgpack.packb(value, use_bin_type=False)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def mask_nick(nick: str) -> str:
    """The `peerUserNick` form in reminder URLs: first and last character around three stars."""
    return f"{nick[:1]}***{nick[-1:]}" if nick else "***"


def goofish(uid: str) -> str:
    return f"{uid}@goofish"


@dataclass(frozen=True)
class ChatPayload:
    """One objectType-40000 message: everything needed to pack it and to list it in history later."""

    sender_id: str
    cid: str
    pnm_id: str            # server id "<13 digits>.PNM" (1.3)
    created_ms: int        # 1.5
    content_type: int      # inner contentType (1.6.3.4)
    summary: str           # 1.6.3.2
    content_json: str      # inner content (1.6.3.5)
    message_kind: int      # 1.7: 2 for user text/image, 1 for platform cards
    extension: Mapping[str, str]  # 1.10, the string map bots read
    need_push: bool        # 3.needPush: "false" marks the account's own echo

    def to_msgpack(self) -> bytes:
        return pack({
            1: {
                1: {1: goofish(self.sender_id)},
                2: goofish(self.cid),
                3: self.pnm_id,
                4: 0,
                5: self.created_ms,
                6: {1: CUSTOM_CONTENT, 3: {1: "", 2: self.summary, 3: "", 4: self.content_type,
                                          5: self.content_json}},
                7: self.message_kind,
                8: 1,
                9: 0,
                # The platform serialises this map with sorted keys ("_platform" sorts first).
                10: dict(sorted(self.extension.items())),
                12: 1,
            },
            3: {"needPush": "true" if self.need_push else "false"},
        })

    @property
    def message_id(self) -> str:
        """The 32-hex platform id carried in extJson (what clients deduplicate on)."""
        return str(json.loads(self.extension["extJson"])["messageId"])


@dataclass(frozen=True)
class ChatContext:
    """Who talks about what: the values every chat payload of one conversation shares."""

    cid: str
    item_id: str
    sender_id: str
    sender_nick: str
    masked_nick: str       # peerUserNick in the reminder URL (not always derivable from the nick)

    def reminder_url(self, message_id: str) -> str:
        return (f"fleamarket://message_chat?itemId={self.item_id}&peerUserId={self.sender_id}"
                f"&peerUserNick={self.masked_nick}&sid={self.cid}&messageId={message_id}&adv=no")


def user_message(ctx: ChatContext, *, pnm_id: str, message_id: str, created_ms: int, content_type: int,
                 content: Mapping[str, Any], summary: str, platform: str, need_push: bool) -> ChatPayload:
    """A text or image a person typed (buyer message, or the seller's own echo)."""
    extension = {
        "_platform": platform,
        "bizTag": compact_json({"sourceId": "S:1", "messageId": message_id}),
        "detailNotice": summary,
        "extJson": compact_json({"quickReply": "1", "messageId": message_id, "tag": "u"}),
        "reminderContent": summary,
        "reminderNotice": "发来一条新消息",
        "reminderTitle": ctx.sender_nick,
        "reminderUrl": ctx.reminder_url(message_id),
        "senderUserId": ctx.sender_id,
        "senderUserType": "0",
        "sessionType": "1",
    }
    return ChatPayload(sender_id=ctx.sender_id, cid=ctx.cid, pnm_id=pnm_id, created_ms=created_ms,
                       content_type=content_type, summary=summary, content_json=compact_json(content),
                       message_kind=2, extension=extension, need_push=need_push)


def text_content(text: str) -> dict[str, Any]:
    return {"atUsers": [], "contentType": TEXT, "text": {"text": text}}


def image_content(url: str, width: int, height: int) -> dict[str, Any]:
    return {"contentType": IMAGE, "image": {"pics": [{"height": height, "type": 0, "url": url, "width": width}]}}


@dataclass(frozen=True)
class CardIds:
    """The platform's campaign ids a trade card carries (opaque to clients, but part of the shape)."""

    message_id: str
    task_id: str
    correlation_id: str


def trade_card(ctx: ChatContext, *, seller_id: str, order_id: str, status: str, pnm_id: str, created_ms: int,
               ids: CardIds) -> ChatPayload:
    """The contentType-26 dxCard the platform drops into the chat when an order changes status.

    `ctx` is the buyer's side of the chat: cards are sent "from" the buyer to the seller, like the capture.
    """
    text: CardText = CARD_TEXTS[status]
    args = {"source": "im", "task_id": ids.task_id, "msg_id": ids.message_id}
    card = {
        "contentType": TRADE_CARD,
        "dxCard": {
            "item": {"main": {
                "clickParam": {"arg1": "MsgCard", "args": args},
                "exContent": {
                    "bgColor": "#FFFFFF",
                    "button": {"bgColor": "#FFE60F", "borderColor": "#FFE60F",
                               "clickParam": {"arg1": "MsgCardAction", "args": args},
                               "fontColor": "#333333", "targetUrl": text.button_url.format(order=order_id),
                               "text": text.button},
                    "desc": text.desc,
                    "descColor": "#A3A3A3",
                    "title": text.title,
                    "upgrade": APP_UPGRADE,
                },
                "targetUrl": f"fleamarket://order_detail?id={order_id}&role=seller",
            }},
            "template": CARD_TEMPLATE,
        },
    }
    notice = f"[{text.title}]"
    ext_json = {
        "msgArgs": {"task_id": ids.task_id, "source": "im", "msg_id": ids.message_id},
        "quickReply": "1",
        "msgArg1": "MsgCard",
        "updateKey": f"{ctx.cid}:{order_id}:{text.update_key}",
        "messageId": ids.message_id,
        "multiChannel": MULTI_CHANNEL,
        "contentType": str(TRADE_CARD),
        "correlationGroupId": ids.correlation_id,
    }
    extension = {
        "bizTag": compact_json({"sourceId": f"C2C:{ids.task_id}", "taskName": text.task_name,
                                "materialId": ids.task_id, "taskId": ids.task_id}),
        "closePushReceiver": "false",
        "closeUnreadNumber": "false",
        "detailNotice": notice,
        "extJson": compact_json(ext_json),
        "receiver": seller_id,
        "redReminder": text.red_reminder,
        "redReminderStyle": "1",
        "reminderContent": notice,
        "reminderNotice": text.reminder_title,
        "reminderTitle": text.reminder_title,
        "reminderUrl": ctx.reminder_url(ids.message_id),
        "senderUserId": ctx.sender_id,
        "senderUserType": "0",
        "sessionType": "1",
        "updateHead": "true",
    }
    return ChatPayload(sender_id=ctx.sender_id, cid=ctx.cid, pnm_id=pnm_id, created_ms=created_ms,
                       content_type=TRADE_CARD, summary=notice, content_json=compact_json(card), message_kind=1,
                       extension=extension, need_push=True)


def session_event(cid: str, uid: str) -> bytes:
    """objectType 40006 (XianyuAutoAgent calls this shape "typing")."""
    return pack({1: [{1: goofish(cid), 2: 1, 3: 1, 4: goofish(uid)}]})


def read_receipt(cid: str, pnm_id: str, at_ms: int) -> bytes:
    """objectType 40103: the peer read the account's message `pnm_id`."""
    return pack({1: pnm_id, 2: 2, 3: 0, 4: goofish(cid), 5: 1, 6: at_ms})


def red_reminder(cid: str, reminder: str, at_ms: int) -> bytes:
    """Session-level red reminder (the `message["3"]["redReminder"]` shape bots branch on)."""
    return pack({1: goofish(cid), 2: 1, 3: {"redReminder": reminder, "redReminderStyle": "1"}, 4: at_ms})


@dataclass(frozen=True)
class ArouseInfo:
    """Values of a 370000 session-arouse item (base64 of plain JSON, not msgpack)."""

    cid: str
    seller_id: str
    buyer_id: str
    receiver_id: str       # the account the push goes to (the capture is a buyer's view; the sim sends sellers')
    item_id: str
    item_title: str
    item_pic: str
    category_id: str
    category_name: str
    created_ms: int
    aroused_ms: int


def session_arouse(info: ArouseInfo) -> bytes:
    # Key order copied from the capture (a Java hash map's order, not sorted).
    extensions = {
        "extUserType": "0",
        "itemTitle": info.item_title,
        f"squadId_{info.buyer_id}": info.category_id,
        "extUserId": info.buyer_id,
        "itemMainPic": info.item_pic,
        "ownerUserType": "0",
        "itemId": info.item_id,
        f"squadName_{info.seller_id}": info.item_title,
        "itemSellerId": info.seller_id,
        "ownerUserId": info.seller_id,
        f"squadId_{info.seller_id}": info.item_id,
        f"squadName_{info.buyer_id}": info.category_name,
    }
    body = {
        "chatType": 1,
        "incrementType": 1,
        "operation": {
            "content": {"contentType": 8, "sessionArouse": {
                "memberFlags": 0, "needKeyBoard": False,
                "sessionArouseInfo": {"residentFunctions": [], "arouseTimeStamp": info.aroused_ms,
                                      "arouseChatScriptInfo": []}}},
            "receiverIds": [info.receiver_id],
            "sessionInfo": {"createTime": info.created_ms, "extensions": extensions, "groupOwnerId": info.seller_id,
                            "sessionId": info.cid, "sessionType": 1, "type": 1},
        },
        "sessionId": info.cid,
    }
    return compact_json(body).encode("utf-8")
