"""The mtop APIs the bots call (goofish-protocol.md §1.2), behind the gateway checks of sim/mtop.py.

Each handler gets the World, the calling account and the parsed `data` object, and returns the response `data`
or raises ApiFail with the ret string to answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.accounts import Account
from sim.market import Item, Order, yuan
from sim.payloads import CARD_TEXTS
from sim.trade import ship
from sim.world import World

ILLEGAL_ACCESS = "FAIL_SYS_ILLEGAL_ACCESS::非法请求"
ITEM_NOT_FOUND = "FAIL_BIZ_ITEM_NOT_FOUND::宝贝不存在"
ORDER_NOT_FOUND = "FAIL_BIZ_ORDER_NOT_EXIST::订单不存在"
ORDER_STATUS = "FAIL_BIZ_ORDER_STATUS_ERROR::当前订单状态不支持该操作"

TOKEN_API = "mtop.taobao.idlemessage.pc.login.token"
DETAIL_API = "mtop.taobao.idle.pc.detail"

ApiHandler = Callable[[World, Account, dict[str, Any]], dict[str, Any]]


class ApiFail(Exception):
    def __init__(self, ret: str) -> None:
        super().__init__(ret)
        self.ret = ret


def _field(data: dict[str, Any], *names: str) -> str:
    for name in names:
        if data.get(name) not in (None, ""):
            return str(data[name])
    raise ApiFail(ILLEGAL_ACCESS)


def login_token(world: World, account: Account, data: dict[str, Any]) -> dict[str, Any]:
    token = world.credentials.issue_access(account.unb, _field(data, "deviceId"), world.now_ms())
    account.tokens_issued += 1
    return {"accessToken": token.value, "accessTokenExpiredTime": str(world.credentials.token_ttl_ms),
            "refreshToken": token.refresh}


def _item_model(item: Item) -> dict[str, Any]:
    return {
        "itemId": item.item_id, "title": item.title, "desc": item.desc, "soldPrice": yuan(item.price_fen),
        "quantity": item.quantity, "itemStatus": 0, "sellerId": item.seller,
        "skuList": [{"skuId": f"{item.item_id}{n:03d}", "price": sku.price_fen, "quantity": sku.quantity,
                     "propertyList": [{"propertyText": "规格", "valueText": sku.name}]}
                    for n, sku in enumerate(item.skus, 1)],
    }


def item_detail(world: World, account: Account, data: dict[str, Any]) -> dict[str, Any]:
    item = world.market.items.get(_field(data, "itemId"))
    if item is None:
        raise ApiFail(ITEM_NOT_FOUND)
    seller = world.account(item.seller)
    return {"itemDO": _item_model(item),
            "sellerDO": {"sellerId": item.seller, "nick": seller.nick if seller else ""}}


def item_list(world: World, account: Account, data: dict[str, Any]) -> dict[str, Any]:
    owner = str(data.get("userId") or account.unb)
    cards = [{"cardType": 1003, "cardData": {"id": item.item_id, "title": item.title,
                                             "priceInfo": {"price": yuan(item.price_fen), "preText": "¥"},
                                             "quantity": item.quantity, "itemStatus": 0}}
             for item in world.market.seller_items(owner)]
    return {"cardList": cards, "nextPage": False, "totalCount": len(cards)}


def _own_order(world: World, account: Account, data: dict[str, Any]) -> Order:
    order = world.market.orders.get(_field(data, "orderId", "tid", "bizOrderId"))
    if order is None or account.unb not in (order.seller, order.buyer):
        raise ApiFail(ORDER_NOT_FOUND)
    return order


def consign_dummy(world: World, account: Account, data: dict[str, Any]) -> dict[str, Any]:
    order = _own_order(world, account, data)
    if order.seller != account.unb:
        raise ApiFail(ORDER_NOT_FOUND)
    if order.status != "paid":
        raise ApiFail(ORDER_STATUS)
    ship(world, order)
    return {"result": True, "orderId": order.order_id}


def order_detail(world: World, account: Account, data: dict[str, Any]) -> dict[str, Any]:
    order = _own_order(world, account, data)
    item = world.market.items.get(order.item_id)
    status_text = CARD_TEXTS[order.status].red_reminder
    return {
        "orderId": order.order_id,
        "status": order.status,
        "statusText": status_text,
        "components": [
            {"render": "orderInfoVO", "data": {
                "itemInfo": {"buyAmount": order.quantity, "itemId": order.item_id,
                             "title": item.title if item else ""},
                "priceInfo": {"amount": {"value": yuan(order.total_fen)}},
                "orderInfo": {"orderId": order.order_id, "buyerId": order.buyer, "sellerId": order.seller,
                              "createTime": order.created_ms},
            }},
            {"render": "orderStatusVO", "data": {"status": order.status, "title": status_text}},
        ],
    }


APIS: dict[str, ApiHandler] = {
    TOKEN_API: login_token,
    DETAIL_API: item_detail,
    "mtop.idle.web.xyh.item.list": item_list,
    "mtop.taobao.idle.logistic.consign.dummy": consign_dummy,
    "mtop.idle.web.trade.order.detail": order_detail,
}
RISK_CHECKED = frozenset({TOKEN_API, DETAIL_API})
