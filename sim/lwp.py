"""Client request routes `/r/...` of a registered IM connection (goofish-protocol.md §3.5).

Each handler takes the World (inside a transaction), the connection's link, the request mid and its positional
body, and returns the reply frame. A malformed body is answered with code 400 and a `body.reason`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from sim import frames
from sim.accounts import SessionLink
from sim.market import Conversation
from sim.payloads import CUSTOM_CONTENT, IMAGE, TEXT, ChatPayload, b64, goofish, image_content, text_content
from sim.trade import default_nick, record_own_message, require_chat
from sim.world import NotFound, World

NEWEST = 9007199254740991       # the cursor clients send for "from the newest"

Handler = Callable[[World, SessionLink, str, list[Any]], frames.Frame]


class Malformed(ValueError):
    """The request body does not have the expected shape."""


def bare(uid: str) -> str:
    return str(uid).split("@", 1)[0]


def _decode_custom(data: str) -> dict[str, Any]:
    """custom.data: base64 of the inner JSON (XianyuAutoAgent writes it spaced, browsers compact)."""
    try:
        inner = json.loads(base64.b64decode(data + "=" * (-len(data) % 4), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise Malformed(f"content.custom.data is not base64 JSON: {exc}") from None
    if not isinstance(inner, dict):
        raise Malformed("content.custom.data must encode a JSON object")
    return inner


def send_by_receiver_scope(world: World, link: SessionLink, mid: str, body: list[Any]) -> frames.Frame:
    if world.faults.take(link.unb, "send_error"):
        return frames.error(mid, 500, "system error, please retry")
    try:
        message, scope = body[0], (body[1] if len(body) > 1 else {})
        cid = bare(message["cid"])
        inner = _decode_custom(message["content"]["custom"]["data"])
        receivers = [bare(r) for r in scope.get("actualReceivers", [])]
        content_type = inner.get("contentType")
        if content_type == TEXT:
            text = str(inner["text"]["text"])
            content = text_content(text)
        elif content_type == IMAGE:
            pic = inner["image"]["pics"][0]
            text = str(pic["url"])
            content = image_content(text, int(pic.get("width", 0)), int(pic.get("height", 0)))
        else:
            raise Malformed(f"unsupported inner contentType {content_type!r}")
    except Malformed:
        raise
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise Malformed(f"malformed sendByReceiverScope body: {exc!r}") from None
    chat = _chat(world, link, cid)
    to = next((r for r in receivers if r != link.unb), chat.buyer)
    echo = record_own_message(world, link.unb, chat, to, content_type, text, content)
    return frames.reply(mid, 200, {"messageId": echo.pnm_id, "createAt": echo.created_ms, "cid": goofish(cid)})


def _chat(world: World, link: SessionLink, cid: str) -> Conversation:
    try:
        return require_chat(world, link.unb, cid)
    except NotFound as exc:
        raise Malformed(str(exc)) from None


def _conversation_model(world: World, chat: Conversation) -> dict[str, Any]:
    item = world.market.items.get(chat.item_id)
    return {
        "cid": goofish(chat.cid), "pairFirst": goofish(chat.buyer), "pairSecond": goofish(chat.seller),
        "bizType": "1", "createAt": chat.created_ms,
        "extension": {"itemId": chat.item_id, "itemTitle": item.title if item else "",
                      "itemSellerId": chat.seller, "ownerUserId": chat.seller, "extUserId": chat.buyer},
    }


def create_conversation(world: World, link: SessionLink, mid: str, body: list[Any]) -> frames.Frame:
    try:
        request = body[0]
        pair = [bare(request["pairFirst"]), bare(request["pairSecond"])]
        item_id = str(request.get("extension", {}).get("itemId", ""))
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise Malformed(f"malformed create body: {exc!r}") from None
    if link.unb not in pair:
        raise Malformed("the account must be one of pairFirst/pairSecond")
    peer = pair[1] if pair[0] == link.unb else pair[0]
    chat = world.market.conversation(link.unb, peer, item_id, default_nick(peer), world.now_ms())
    return frames.reply(mid, 200, {"singleChatConversation": _conversation_model(world, chat)})


def _message_model(message: ChatPayload) -> dict[str, Any]:
    return {
        "messageId": message.pnm_id,
        "cid": goofish(message.cid),
        "sender": {"uid": goofish(message.sender_id)},
        "createAt": message.created_ms,
        "content": {"contentType": CUSTOM_CONTENT, "custom": {
            "type": 1, "data": b64(message.content_json.encode("utf-8")), "summary": message.summary}},
        "extension": dict(message.extension),
    }


def list_user_messages(world: World, link: SessionLink, mid: str, body: list[Any]) -> frames.Frame:
    try:
        cid, cursor, count = bare(body[0]), int(body[2]), int(body[3])
    except (IndexError, TypeError, ValueError) as exc:
        raise Malformed(f"malformed listUserMessages body: {exc!r}") from None
    _chat(world, link, cid)
    older = [m for m in world.market.history(cid) if m.created_ms < cursor]
    page = list(reversed(older[-count:])) if count > 0 else []
    return frames.reply(mid, 200, {
        "userMessageModels": [{"message": _message_model(m), "readStatus": 1} for m in page],
        "hasMore": len(older) > len(page),
        "nextCursor": page[-1].created_ms if page else 0,
    })


def list_newest_pagination(world: World, link: SessionLink, mid: str, body: list[Any]) -> frames.Frame:
    try:
        if body and isinstance(body[0], dict):      # the {startTimeStamp, limitNum} form
            cursor, count = int(body[0].get("startTimeStamp", NEWEST)), int(body[0].get("limitNum", 20))
        else:
            cursor, count = int(body[0]), int(body[1])
    except (IndexError, TypeError, ValueError) as exc:
        raise Malformed(f"malformed listNewestPagination body: {exc!r}") from None
    market = world.market
    rows = []
    for chat in market.seller_conversations(link.unb):
        history = market.history(chat.cid)
        modified = history[-1].created_ms if history else chat.created_ms
        if modified < cursor:
            rows.append((modified, chat, history[-1] if history else None))
    rows.sort(key=lambda row: row[0], reverse=True)
    page = rows[:max(count, 0)]
    convs = [{"type": 1, "singleChatUserConversation": {
        "singleChatConversation": _conversation_model(world, chat),
        "lastMessage": {"message": _message_model(last)} if last else {},
        "redPoint": market.red_point(chat.cid),
        "modifyTime": modified,
    }} for modified, chat, last in page]
    return frames.reply(mid, 200, {"userConvs": convs, "hasMore": len(rows) > len(page),
                                   "nextCursor": page[-1][0] if page else 0})


def clear_red_point(world: World, link: SessionLink, mid: str, body: list[Any]) -> frames.Frame:
    try:
        cids = [bare(entry["cid"]) for entry in body[0]]
    except (KeyError, IndexError, TypeError) as exc:
        raise Malformed(f"malformed clearRedPoint body: {exc!r}") from None
    for cid in cids:
        world.market.clear_red_point(_chat(world, link, cid).cid)
    return frames.reply(mid, 200, {})


def mark_read(world: World, link: SessionLink, mid: str, body: list[Any]) -> frames.Frame:
    return frames.reply(mid, 200, {})


ROUTES: dict[str, Handler] = {
    "/r/MessageSend/sendByReceiverScope": send_by_receiver_scope,
    "/r/SingleChatConversation/create": create_conversation,
    "/r/MessageManager/listUserMessages": list_user_messages,
    "/r/Conversation/listNewestPagination": list_newest_pagination,
    "/r/Conversation/clearRedPoint": clear_red_point,
    "/r/MessageStatus/read": mark_read,
}
