"""What happens in a buyer–seller chat: buyer messages, the seller's own messages, order cards and notices.

Each operation records history and appends the push items the real service would send to the seller's client.
All functions take the World and run inside a state transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sim.accounts import SentMessage
from sim.market import Conversation, Order
from sim.payloads import (
    CARD_TEXTS,
    IMAGE,
    ORDER_STATUSES,
    TEXT,
    ArouseInfo,
    CardIds,
    ChatContext,
    ChatPayload,
    b64,
    image_content,
    mask_nick,
    read_receipt,
    red_reminder,
    session_arouse,
    session_event,
    text_content,
    trade_card,
    user_message,
)
from sim.pushlog import DataItem
from sim.world import BadRequest, NotFound, World

AROUSE_LIMIT = 20           # conversations whose arouse items ride in the /s/vulcan push after /reg
DEFAULT_CATEGORY = ("50023914", "其他闲置")


def chat_item(payload: bytes, object_type: int = 40000) -> DataItem:
    return DataItem(biz_type=40, object_type=object_type, stream_id="40", data=b64(payload))


def buyer_context(chat: Conversation, nick: str | None = None) -> ChatContext:
    nick = nick or chat.buyer_nick
    return ChatContext(chat.cid, chat.item_id, chat.buyer, nick, mask_nick(nick))


def default_nick(buyer: str) -> str:
    return f"闲鱼用户{buyer[-4:]}"


def _publish(world: World, chat: Conversation, message: ChatPayload, unread: bool) -> None:
    world.market.record(message, unread)
    world.push(chat.seller, chat_item(message.to_msgpack()), "/s/para")


def post_buyer_message(world: World, seller: str, buyer: str, buyer_nick: str, item_id: str,
                       text: str | None, image: Mapping[str, Any] | None) -> tuple[Conversation, ChatPayload]:
    """A buyer writes to the seller about an item (text, or an image {url, width, height})."""
    world.require_account(seller)
    now = world.now_ms()
    chat = world.market.conversation(seller, buyer, item_id, buyer_nick, now)
    if image is not None:
        content = image_content(str(image["url"]), int(image.get("width", 800)), int(image.get("height", 800)))
        summary, content_type = "[图片]", IMAGE
    elif text:
        content, summary, content_type = text_content(text), text, TEXT
    else:
        raise BadRequest("a message needs a non-empty text or an image")
    message = user_message(buyer_context(chat, buyer_nick), pnm_id=world.ids.pnm_id(),
                           message_id=world.ids.message_id(), created_ms=now, content_type=content_type,
                           content=content, summary=summary, platform="android", need_push=True)
    _publish(world, chat, message, unread=True)
    world.market.note_buyer_message(chat.cid)
    return chat, message


def record_own_message(world: World, seller: str, chat: Conversation, to: str, content_type: int,
                       text: str, content: Mapping[str, Any]) -> ChatPayload:
    """The seller's client sent a message: record it for /_sim/sent and echo it back like the real service."""
    account = world.require_account(seller)
    account.sent.append(SentMessage(len(account.sent) + 1, chat.cid, to, text, content_type, world.now_ms(),
                                    world.market.reply_after_us(chat.cid)))
    return _own_echo(world, seller, chat, content_type, text, content, platform="web")


def seller_types(world: World, seller: str, cid: str, text: str) -> ChatPayload:
    """The seller answers from another device (the phone app): only the echo reaches this client."""
    if not text:
        raise BadRequest("a message needs a non-empty text")
    return _own_echo(world, seller, require_chat(world, seller, cid), TEXT, text, text_content(text),
                     platform="android")


def _own_echo(world: World, seller: str, chat: Conversation, content_type: int, text: str,
              content: Mapping[str, Any], platform: str) -> ChatPayload:
    account = world.require_account(seller)
    ctx = ChatContext(chat.cid, chat.item_id, seller, account.nick, mask_nick(account.nick))
    summary = text if content_type == TEXT else "[图片]"
    echo = user_message(ctx, pnm_id=world.ids.pnm_id(), message_id=world.ids.message_id(),
                        created_ms=world.now_ms(), content_type=content_type, content=content, summary=summary,
                        platform=platform, need_push=False)
    _publish(world, chat, echo, unread=False)
    return echo


# -- orders ---------------------------------------------------------------------------------------------------
def _check_status(status: str) -> None:
    if status not in ORDER_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(ORDER_STATUSES)}")


def _push_card(world: World, order: Order) -> None:
    chat = world.market.conversation(order.seller, order.buyer, order.item_id, default_nick(order.buyer),
                                     world.now_ms())
    ids = world.ids
    task = ids.chars(12)
    card = trade_card(buyer_context(chat), seller_id=order.seller, order_id=order.order_id, status=order.status,
                      pnm_id=ids.pnm_id(), created_ms=world.now_ms(),
                      ids=CardIds(ids.message_id(), task, f"{task}_{ids.chars(12)}"))
    _publish(world, chat, card, unread=True)
    reminder = red_reminder(chat.cid, CARD_TEXTS[order.status].red_reminder, world.now_ms())
    world.push(order.seller, chat_item(reminder, 40006), "/s/para")


def create_order(world: World, seller: str, buyer: str, item_id: str, status: str, quantity: int) -> Order:
    world.require_account(seller)
    _check_status(status)
    if quantity < 1:
        raise BadRequest("quantity must be at least 1")
    order = world.market.new_order(seller, buyer, item_id, status, quantity, world.now_ms())
    _push_card(world, order)
    return order


def require_order(world: World, order_id: str) -> Order:
    order = world.market.orders.get(order_id)
    if order is None:
        raise NotFound(f"unknown order {order_id!r}")
    return order


def set_order_status(world: World, order_id: str, status: str) -> Order:
    _check_status(status)
    order = require_order(world, order_id)
    order = replace(order, status=status)
    world.market.orders[order.order_id] = order
    _push_card(world, order)
    return order


def ship(world: World, order: Order) -> Order:
    """The seller confirmed shipment (consign.dummy): recorded, and the chat gets the [你已发货] card."""
    world.require_account(order.seller).shipments.append(order.order_id)
    return set_order_status(world, order.order_id, "shipped")


# -- small session pushes -------------------------------------------------------------------------------------
def require_chat(world: World, seller: str, cid: str) -> Conversation:
    chat = world.market.by_cid(cid)
    if chat is None or chat.seller != seller:
        raise NotFound(f"no conversation {cid!r} for seller {seller!r}")
    return chat


def buyer_read(world: World, seller: str, cid: str) -> str:
    """The buyer read the seller's latest message: a 40103 receipt naming it. Returns its .PNM id."""
    chat = require_chat(world, seller, cid)
    own = [m for m in world.market.history(cid) if m.sender_id == seller]
    if not own:
        raise NotFound(f"the seller has sent nothing in {cid!r} yet")
    world.push(seller, chat_item(read_receipt(chat.cid, own[-1].pnm_id, world.now_ms()), 40103), "/s/sync")
    return own[-1].pnm_id


def buyer_typing(world: World, seller: str, cid: str) -> None:
    chat = require_chat(world, seller, cid)
    world.push(seller, chat_item(session_event(chat.cid, chat.buyer), 40006), "/s/para")


def arouse_items(world: World, seller: str) -> list[DataItem]:
    """370000 session-arouse items for the seller's most recent chats (the /s/vulcan backlog after /reg)."""
    chats = sorted(world.market.seller_conversations(seller), key=lambda c: c.created_ms)[-AROUSE_LIMIT:]
    items = []
    for chat in chats:
        item = world.market.items.get(chat.item_id)
        info = ArouseInfo(
            cid=chat.cid, seller_id=seller, buyer_id=chat.buyer, receiver_id=seller, item_id=chat.item_id,
            item_title=item.title if item else "", category_id=DEFAULT_CATEGORY[0],
            item_pic=f"https://img.alicdn.com/bao/uploaded/i4/O1CN01{chat.item_id}_!!0-fleamarket.jpg",
            category_name=DEFAULT_CATEGORY[1], created_ms=chat.created_ms // 1000 * 1000, aroused_ms=chat.created_ms)
        items.append(DataItem(biz_type=370, object_type=370000, stream_id="370", data=b64(session_arouse(info))))
    return items
