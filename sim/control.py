"""The control API under `/_sim` (docs/contracts.md §3.3; extras documented in sim/README.md).

JSON in, JSON out. A missing or malformed field answers 400, an unknown account/order/conversation 404, both
as `{"error": "..."}`. Ids may be given as JSON numbers or strings; they are always answered as strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim import qr, trade
from sim.faults import FAULT_KINDS
from sim.httpd import HttpRequest, HttpResponse
from sim.market import Item, Order, Sku, parse_yuan, yuan
from sim.state import SimState
from sim.world import BadRequest, NotFound

Handler = Callable[[SimState, HttpRequest], dict[str, Any]]


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        raise BadRequest("the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _text(source: dict[str, Any], name: str, default: str | None = None) -> str:
    value = source.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        if default is not None:
            return default
        raise BadRequest(f"missing or invalid field {name!r}")
    return str(value)


def _int(source: dict[str, Any], name: str, default: int) -> int:
    value = source.get(name, default)
    if isinstance(value, bool):
        raise BadRequest(f"field {name!r} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"field {name!r} must be an integer") from None


def _price(value: Any) -> int:
    try:
        return parse_yuan(str(value))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def create_account(state: SimState, request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    unb = _text(body, "unb")
    with state.transaction() as world:
        cookie = world.create_account(unb, _text(body, "nick", unb))
    return {"unb": unb, "cookie": cookie}


def put_item(state: SimState, request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    skus = body.get("skus") or []
    if not isinstance(skus, list) or not all(isinstance(s, dict) for s in skus):
        raise BadRequest("skus must be a list of {name, price, quantity}")
    item = Item(seller=_text(body, "seller"), item_id=_text(body, "item_id"), title=_text(body, "title"),
                price_fen=_price(body.get("price")), desc=str(body.get("desc") or ""),
                quantity=_int(body, "quantity", 1),
                skus=tuple(Sku(_text(s, "name"), _price(s.get("price")), _int(s, "quantity", 1)) for s in skus))
    with state.transaction() as world:
        world.require_account(item.seller)
        world.market.put_item(item)
    return {}


def post_message(state: SimState, request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    image = body.get("image")
    if image is not None and not (isinstance(image, dict) and image.get("url")):
        raise BadRequest("image must be {url, width, height}")
    buyer = _text(body, "buyer")
    with state.transaction() as world:
        chat, message = trade.post_buyer_message(
            world, _text(body, "seller"), buyer, _text(body, "buyer_nick", trade.default_nick(buyer)),
            _text(body, "item_id"), None if image else _text(body, "text"), image)
    return {"cid": chat.cid, "message_id": message.message_id, "pnm_id": message.pnm_id}


def _order_json(order: Order) -> dict[str, Any]:
    return {"order_id": order.order_id, "seller": order.seller, "buyer": order.buyer, "item_id": order.item_id,
            "status": order.status, "quantity": order.quantity, "amount": yuan(order.total_fen)}


def post_order(state: SimState, request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    status = _text(body, "status")
    with state.transaction() as world:
        if "order_id" in body:
            order = trade.set_order_status(world, _text(body, "order_id"), status)
        else:
            order = trade.create_order(world, _text(body, "seller"), _text(body, "buyer"), _text(body, "item_id"),
                                       status, _int(body, "quantity", 1))
    return _order_json(order)


def list_orders(state: SimState, request: HttpRequest) -> dict[str, Any]:
    seller = _text(request.query, "seller")
    with state.transaction() as world:
        world.require_account(seller)
        return {"orders": [_order_json(o) for o in world.market.seller_orders(seller)]}


def list_sent(state: SimState, request: HttpRequest) -> dict[str, Any]:
    seller = _text(request.query, "seller")
    since = _int(request.query, "since", 0)
    with state.transaction() as world:
        sent = world.require_account(seller).sent
        return {"messages": [m.to_json() for m in sent[max(since, 0):]]}


def get_state(state: SimState, request: HttpRequest) -> dict[str, Any]:
    return state.snapshot()


def arm_fault(state: SimState, request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    kind = _text(body, "kind")
    if kind not in FAULT_KINDS:
        raise BadRequest(f"kind must be one of {', '.join(FAULT_KINDS)}")
    count = _int(body, "count", 1)
    if count < (0 if kind == "malformed_push" else -1):
        raise BadRequest("count must be >= 0, or -1 for unlimited (not for malformed_push)")
    delay = body.get("delay")
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0):
        raise BadRequest("delay must be a non-negative number of seconds")
    with state.transaction() as world:
        world.arm_fault(_text(body, "seller"), kind, count, None if delay is None else float(delay))
    return {}


def buyer_read(state: SimState, request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    with state.transaction() as world:
        return {"message_id": trade.buyer_read(world, _text(body, "seller"), _text(body, "cid"))}


def seller_message(state: SimState, request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    with state.transaction() as world:
        echo = trade.seller_types(world, _text(body, "seller"), _text(body, "cid"), _text(body, "text"))
    return {"message_id": echo.message_id, "pnm_id": echo.pnm_id}


def buyer_typing(state: SimState, request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    with state.transaction() as world:
        trade.buyer_typing(world, _text(body, "seller"), _text(body, "cid"))
    return {}


def list_conversations(state: SimState, request: HttpRequest) -> dict[str, Any]:
    seller = _text(request.query, "seller")
    with state.transaction() as world:
        world.require_account(seller)
        market = world.market
        return {"conversations": [
            {"cid": c.cid, "buyer": c.buyer, "buyer_nick": c.buyer_nick, "item_id": c.item_id,
             "messages": len(market.history(c.cid)), "red_point": market.red_point(c.cid)}
            for c in market.seller_conversations(seller)]}


def get_clock(state: SimState, request: HttpRequest) -> dict[str, Any]:
    with state.transaction() as world:
        return world.clock.report()


def advance_clock(state: SimState, request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    if "advance_ms" not in body:
        raise BadRequest("missing field 'advance_ms'")
    advance = _int(body, "advance_ms", 0)
    if advance < 0:
        raise BadRequest("advance_ms must be >= 0: the clock only moves forward")
    with state.transaction() as world:
        world.clock.advance(advance)
        return world.clock.report()


def list_qr(state: SimState, request: HttpRequest) -> dict[str, Any]:
    with state.transaction() as world:
        return {"codes": world.qr.listing(world.now_ms())}


def qr_action(state: SimState, request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    with state.transaction() as world:
        qr.act(world, _text(body, "t"), _text(body, "action"), _text(body, "unb", ""), _text(body, "nick", ""))
    return {}


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/_sim/accounts"): create_account,
    ("POST", "/_sim/items"): put_item,
    ("POST", "/_sim/messages"): post_message,
    ("POST", "/_sim/orders"): post_order,
    ("GET", "/_sim/orders"): list_orders,
    ("GET", "/_sim/sent"): list_sent,
    ("GET", "/_sim/state"): get_state,
    ("POST", "/_sim/faults"): arm_fault,
    ("POST", "/_sim/read"): buyer_read,
    ("POST", "/_sim/typing"): buyer_typing,
    ("POST", "/_sim/seller_messages"): seller_message,
    ("GET", "/_sim/conversations"): list_conversations,
    ("GET", "/_sim/qr"): list_qr,
    ("POST", "/_sim/qr"): qr_action,
    ("GET", "/_sim/clock"): get_clock,
    ("POST", "/_sim/clock"): advance_clock,
}


def handle(state: SimState, request: HttpRequest) -> HttpResponse:
    handler = ROUTES.get((request.method, request.path.rstrip("/")))
    if handler is None:
        return HttpResponse.json({"error": f"no control call {request.method} {request.path}"}, 404)
    try:
        return HttpResponse.json(handler(state, request))
    except NotFound as exc:
        return HttpResponse.json({"error": str(exc)}, 404)
    except BadRequest as exc:
        return HttpResponse.json({"error": str(exc)}, 400)
