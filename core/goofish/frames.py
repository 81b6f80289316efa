"""LWP frames: builders for what the client sends, and a parser for what the server sends (spec §3).

Builders return plain dicts in the key order the web client uses; `dumps` renders them compactly. They
validate their arguments (FrameError) because a malformed request is answered by the server with silence or
a generic 400, which is far harder to trace than an exception at the call site.

Received text is sorted into three frozen kinds: `Response` (has `code`: the reply to one of our requests,
matched by mid), `Push` (has `lwp`, no `code`: the server talks first and wants an ACK) and `Request` (a
client route such as `/r/...` coming back — rare, e.g. a relay echoing our own frame).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.goofish import ids
from core.goofish.errors import FrameError
from core.goofish.lenient import int_or_none
from core.goofish.sign import APP_KEY_IM

GOOFISH_SUFFIX = "@goofish"
MAX_CURSOR = 9007199254740991  # JS Number.MAX_SAFE_INTEGER: "from the newest message"
_CTX = {"appVersion": "1.0", "platform": "web"}
_CLIENT_ROUTES = ("/r/", "/reg", "/!")
_ACK_COPIED_HEADERS = ("app-key", "ua", "dt")


@dataclass(frozen=True)
class Response:
    """The server's reply to a request; `mid` is the request's mid."""

    mid: str | None
    code: int
    body: Any
    headers: dict[str, Any]


@dataclass(frozen=True)
class Push:
    """A server-initiated frame (`/s/para`, `/s/sync`, `/s/vulcan` …); must be ACKed with `push_ack`."""

    lwp: str
    mid: str | None
    sid: str | None
    headers: dict[str, Any]
    body: Any


@dataclass(frozen=True)
class Request:
    """A frame on a client route (`/r/…`, `/reg`, `/!`) arriving from the other side."""

    lwp: str
    mid: str | None
    headers: dict[str, Any]
    body: Any


Frame = Response | Push | Request


def dumps(frame: Mapping[str, Any]) -> str:
    """Compact UTF-8 JSON, as the browser sends."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def bare_id(value: object) -> str:
    """A user or conversation id without its "@goofish" suffix; accepts str or int, with or without suffix."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FrameError(f"expected an id (str or int), got {type(value).__name__}")
    text = str(value).strip()
    bare = text.removesuffix(GOOFISH_SUFFIX)
    if not bare or any(ch.isspace() for ch in bare):
        raise FrameError(f"bad id {text!r}")
    return bare


def _at(value: object) -> str:
    return bare_id(value) + GOOFISH_SUFFIX


def _request(lwp: str, mid: str | None, body: list[Any] | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"lwp": lwp, "headers": {"mid": mid or ids.new_mid()}}
    if body is not None:
        frame["body"] = body
    return frame


def _non_negative_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FrameError(f"{what} must be a non-negative int, got {value!r}")
    return value


def reg_frame(token: str, device_id: str, ua: str, mid: str | None = None) -> dict[str, Any]:
    """`/reg`: register the socket with the IM access token; the server answers code 200 then pushes backlog."""
    for what, value in (("token", token), ("device_id", device_id), ("ua", ua)):
        if not isinstance(value, str) or not value:
            raise FrameError(f"reg_frame: {what} must be a non-empty string")
    headers = {
        "cache-header": "app-key token ua wv",
        "app-key": APP_KEY_IM,
        "token": token,
        "ua": ua,
        "dt": "j",
        "wv": "im:3,au:3,sy:6",
        "sync": "0,0;0;0;",
        "did": device_id,
        "mid": mid or ids.new_mid(),
    }
    return {"lwp": "/reg", "headers": headers}


def ack_diff_frame(pts: int, seq: int = 0, now_ms: int | None = None, mid: str | None = None) -> dict[str, Any]:
    """`/r/SyncStatus/ackDiff`: tell the server the sync position (`pts`, µs) we have consumed up to."""
    body = {
        "pipeline": "sync",
        "tooLong2Tag": "PNM,1",
        "channel": "sync",
        "topic": "sync",
        "highPts": 0,
        "pts": _non_negative_int(pts, "pts"),
        "seq": _non_negative_int(seq, "seq"),
        "timestamp": ids.now_ms() if now_ms is None else _non_negative_int(now_ms, "now_ms"),
    }
    return _request("/r/SyncStatus/ackDiff", mid, [body])


def get_state_frame(mid: str | None = None) -> dict[str, Any]:
    """`/r/SyncStatus/getState`: some clients ask for the sync state before the first ackDiff."""
    return _request("/r/SyncStatus/getState", mid, [{"topic": "sync"}])


def heartbeat_frame(mid: str | None = None) -> dict[str, Any]:
    """`/!`: keep-alive; the server replies code 200 with the same mid."""
    return _request("/!", mid)


def push_ack(push: Push | Mapping[str, Any]) -> dict[str, Any]:
    """The ACK of a push: its mid and sid (or ""), plus app-key/ua/dt when the push carried them.

    An unACKed push is delivered again on the next sync, so every push gets one, even undecodable ones.
    """
    headers = push.headers if isinstance(push, Push) else push.get("headers")
    if not isinstance(headers, Mapping) or not isinstance(headers.get("mid"), str):
        raise FrameError("push has no headers.mid to acknowledge")
    sid = headers.get("sid")
    ack_headers: dict[str, Any] = {"mid": headers["mid"], "sid": sid if isinstance(sid, str) else ""}
    ack_headers.update({key: headers[key] for key in _ACK_COPIED_HEADERS if key in headers})
    return {"code": 200, "headers": ack_headers}




def _send_frame(
    cid: object, peer_id: object, my_id: object, inner: dict[str, Any], custom_type: int,
    mid: str | None, uuid: str | None,
) -> dict[str, Any]:
    """`/r/MessageSend/sendByReceiverScope`: the content travels as base64 of compact UTF-8 JSON."""
    data = base64.b64encode(dumps(inner).encode()).decode("ascii")
    message = {
        "uuid": uuid or ids.new_uuid(),
        "cid": _at(cid),
        "conversationType": 1,
        "content": {"contentType": 101, "custom": {"type": custom_type, "data": data}},
        "redPointPolicy": 0,
        "extension": {"extJson": "{}"},
        "ctx": dict(_CTX),
        "mtags": {},
        "msgReadStatusSetting": 1,
    }
    receivers = {"actualReceivers": [_at(peer_id), _at(my_id)]}
    return _request("/r/MessageSend/sendByReceiverScope", mid, [message, receivers])


def send_text_frame(
    cid: object, peer_id: object, my_id: object, text: str, mid: str | None = None, uuid: str | None = None
) -> dict[str, Any]:
    """Send `text` into conversation `cid` (receivers: the peer, then ourselves)."""
    if not isinstance(text, str) or not text:
        raise FrameError("send_text_frame: text must be a non-empty string")
    return _send_frame(cid, peer_id, my_id, {"contentType": 1, "text": {"text": text}}, 1, mid, uuid)


def send_image_frame(
    cid: object, peer_id: object, my_id: object, url: str, width: int, height: int,
    mid: str | None = None, uuid: str | None = None,
) -> dict[str, Any]:
    """Send an already uploaded image (CDN `url`) into conversation `cid`."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise FrameError("send_image_frame: url must be an http(s) URL")
    pic = {
        "height": _non_negative_int(height, "height"),
        "type": 0,
        "url": url,
        "width": _non_negative_int(width, "width"),
    }
    return _send_frame(cid, peer_id, my_id, {"contentType": 2, "image": {"pics": [pic]}}, 2, mid, uuid)


def create_conversation_frame(peer_id: object, my_id: object, item_id: object, mid: str | None = None) -> dict[str, Any]:
    """`/r/SingleChatConversation/create`: open (or find) the chat with `peer_id` about `item_id`."""
    body = {
        "pairFirst": _at(peer_id),
        "pairSecond": _at(my_id),
        "bizType": "1",
        "extension": {"itemId": bare_id(item_id)},
        "ctx": dict(_CTX),
    }
    return _request("/r/SingleChatConversation/create", mid, [body])


def list_messages_frame(cid: object, cursor: int = MAX_CURSOR, count: int = 20, mid: str | None = None) -> dict[str, Any]:
    """`/r/MessageManager/listUserMessages`: a page of history, newest first from `cursor`."""
    body = [_at(cid), False, _non_negative_int(cursor, "cursor"), _non_negative_int(count, "count"), False]
    return _request("/r/MessageManager/listUserMessages", mid, body)


def parse_frame(text: str | bytes) -> Frame:
    """Parse received text into a Frame; FrameError (with the reason) for non-JSON or non-object input."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FrameError(f"frame is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FrameError(f"frame is not JSON: {str(exc)[:120]}") from None
    return frame_from_obj(obj)


def frame_from_obj(obj: object) -> Frame:
    """Sort an already decoded JSON value into Response / Push / Request (FrameError when it is none)."""
    if not isinstance(obj, dict):
        raise FrameError(f"frame is a JSON {type(obj).__name__}, expected an object")
    headers = obj.get("headers") if isinstance(obj.get("headers"), dict) else {}
    mid = headers.get("mid") if isinstance(headers.get("mid"), str) else None
    if "code" in obj:
        return Response(mid=mid, code=_frame_code(obj["code"]), body=obj.get("body"), headers=headers)
    lwp = obj.get("lwp")
    if not isinstance(lwp, str) or not lwp:
        raise FrameError("frame has neither a code nor an lwp route")
    if lwp.startswith(_CLIENT_ROUTES):
        return Request(lwp=lwp, mid=mid, headers=headers, body=obj.get("body"))
    sid = headers.get("sid") if isinstance(headers.get("sid"), str) else None
    return Push(lwp=lwp, mid=mid, sid=sid, headers=headers, body=obj.get("body"))


def _frame_code(code: object) -> int:
    number = int_or_none(code)
    if number is None:
        raise FrameError(f"frame code {str(code)[:40]!r} is not an integer")
    return number


def _sync_package(push: Push) -> dict[str, Any]:
    body = push.body if isinstance(push.body, dict) else {}
    package = body.get("syncPushPackage")
    return package if isinstance(package, dict) else {}


def push_items(push: Push) -> list[Any]:
    """Every element of `body.syncPushPackage.data`, in order ([] when absent).

    All of them, not only the first (the popular bots read `data[0]` and lose the rest of a backlog). Items
    are normally dicts with `objectType` and base64 `data`; anything else is returned as is, so the decoder can
    report it instead of it vanishing here.
    """
    data = _sync_package(push).get("data")
    return list(data) if isinstance(data, list) else []


def sync_position(push: Push) -> int | None:
    """The highest sync position (µs) the push carries: `maxPts`, or its items' `pts`; None when none is."""
    candidates = [_sync_package(push).get("maxPts")]
    candidates += [item.get("pts") for item in push_items(push) if isinstance(item, dict)]
    positions = [p for p in candidates if isinstance(p, int) and not isinstance(p, bool) and p >= 0]
    return max(positions) if positions else None
