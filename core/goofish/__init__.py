"""The Goofish (闲鱼) IM protocol, client side: sign and ids, cookies, LWP frames, payload decoding, mtop HTTP.

Pure protocol code: no threads of its own, no logging of secrets, no textual. `core.session.loop` drives the socket
with these pieces; `sim/` implements the other side independently from the same spec.
"""

from core.goofish.cookies import CookieJar, mask, set_cookie_headers
from core.goofish.decode import decode_frame, decode_item, decode_lines, decode_payload
from core.goofish.endpoints import DEFAULT_UA, DINGTALK_UA, LIVE, Endpoints, im_user_agent
from core.goofish.errors import (
    ApiError,
    FrameError,
    GoofishError,
    IllegalRequest,
    RiskControl,
    SessionExpired,
    TokenExpired,
    TransportError,
    classify_ret,
)
from core.goofish.frames import (
    Frame,
    Push,
    Request,
    Response,
    ack_diff_frame,
    create_conversation_frame,
    dumps,
    get_state_frame,
    heartbeat_frame,
    list_messages_frame,
    parse_frame,
    push_ack,
    push_items,
    reg_frame,
    send_image_frame,
    send_text_frame,
    sync_position,
)
from core.goofish.ids import device_id, new_mid, new_uuid, now_ms
from core.goofish.messages import KINDS, ORDER_STATUSES, ImEvent
from core.goofish.mtop import ItemInfo, MtopClient, OrderInfo, TokenInfo
from core.goofish.sign import APP_KEY_IM, APP_KEY_SIGN, h5_token, h5_token_expiry_ms, mtop_sign

__all__ = [
    "APP_KEY_IM",
    "APP_KEY_SIGN",
    "DEFAULT_UA",
    "DINGTALK_UA",
    "KINDS",
    "LIVE",
    "ORDER_STATUSES",
    "ApiError",
    "CookieJar",
    "Endpoints",
    "ImEvent",
    "Frame",
    "FrameError",
    "GoofishError",
    "IllegalRequest",
    "ItemInfo",
    "MtopClient",
    "OrderInfo",
    "Push",
    "Request",
    "Response",
    "RiskControl",
    "SessionExpired",
    "TokenExpired",
    "TokenInfo",
    "TransportError",
    "ack_diff_frame",
    "classify_ret",
    "create_conversation_frame",
    "decode_frame",
    "decode_item",
    "decode_lines",
    "decode_payload",
    "device_id",
    "dumps",
    "get_state_frame",
    "h5_token",
    "h5_token_expiry_ms",
    "heartbeat_frame",
    "im_user_agent",
    "list_messages_frame",
    "mask",
    "mtop_sign",
    "new_mid",
    "new_uuid",
    "now_ms",
    "parse_frame",
    "push_ack",
    "push_items",
    "reg_frame",
    "send_image_frame",
    "send_text_frame",
    "set_cookie_headers",
    "sync_position",
]
