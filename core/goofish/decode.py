"""Push payloads → typed `ImEvent`s (spec §4). The decoder never raises.

A push item's `data` is base64 of MessagePack (objectTypes 40000/40006/40102/40103) or base64 of plain JSON
(370000, session "arouse"). Everything arriving here is untrusted: any failure, any wrong type anywhere,
becomes `ImEvent(kind="invalid", error=...)` so one odd item can neither kill the session loop nor hide the
other items of its frame.

Classification of a chat message (40000), first rule that applies:
1. a trade card (inner contentType 26), or a non-text message whose bracketed summary names an order state
   → `order`. Typed text (contentType 1) is never an order: a buyer typing "[我已付款，等待你发货]" must not
   look like a payment;
2. an image → `chat`/`own_echo` with `image_url`;
3. a platform notice → `system`: typed text (contentType 1) only when it is exactly one of the platform's strings
   (a buyer may type "[急] 多少钱 [急]" or send only "[微笑]"), other types also when their summary is bracketed;
4. sent by us → `own_echo` (by `me` when given, else by `needPush == "false"`), otherwise → `chat`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import msgpack

from core.goofish import trade
from core.goofish.errors import FrameError
from core.goofish.frames import Push, frame_from_obj, parse_frame, push_items
from core.goofish.lenient import dig, int_or_none, json_object, text_or_none, url_param
from core.goofish.messages import ImEvent

CHAT, SESSION, READ, READ_RECEIPT, AROUSE = 40000, 40006, 40102, 40103, 370000
KNOWN_OBJECT_TYPES = frozenset({CHAT, SESSION, READ, READ_RECEIPT, AROUSE})
TEXT, IMAGE, TRADE_CARD = 1, 2, 26

_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/\-_]")
_URLSAFE_TO_STD = str.maketrans("-_", "+/")
_MAX_ERROR_CHARS = 300


def _bare(value: Any) -> str | None:
    """An id without its "@goofish" (or any "@domain") suffix."""
    text = text_or_none(value)
    return (text.split("@", 1)[0] or None) if text else None


# ---- bytes → structure ----------------------------------------------------------------------------------------

def _b64decode(data: Any) -> bytes:
    """Lenient base64: drop whitespace and stray characters, accept the urlsafe alphabet, repair padding."""
    if isinstance(data, bytes | bytearray):
        data = bytes(data).decode("ascii", errors="ignore")
    if not isinstance(data, str):
        raise ValueError(f"payload is a {type(data).__name__}, expected base64 text")
    cleaned = _NOT_BASE64.sub("", data).translate(_URLSAFE_TO_STD)
    cleaned = cleaned[: len(cleaned) - (len(cleaned) % 4 == 1)]  # one dangling char carries < 1 byte
    if not cleaned:
        raise ValueError("payload is empty")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except binascii.Error as exc:
        raise ValueError(f"bad base64: {exc}") from None


def _json_payload(raw: bytes) -> dict[str, Any] | None:
    """The payload as a JSON object when it is one (msgpack maps never start with "{")."""
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _normalise(node: Any) -> Any:
    """Map keys → str and bytes → str, so paths read like the spec's ("1", "10") whatever the encoder did."""
    if isinstance(node, dict):
        return {_key(k): _normalise(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_normalise(v) for v in node]
    if isinstance(node, bytes):
        return node.decode("utf-8", errors="replace")
    return node


def _key(key: Any) -> str:
    if isinstance(key, bytes):
        return key.decode("utf-8", errors="replace")
    return key if isinstance(key, str) else str(key)


def _unpack_once(raw: bytes, raw_strings: bool) -> Any:
    try:
        return msgpack.unpackb(raw, raw=raw_strings, strict_map_key=False)
    except msgpack.ExtraData as exc:  # a complete object followed by junk: keep the object
        return exc.unpacked


def _unpack(raw: bytes) -> Any:
    """msgpack → Python with str keys; strings that are not valid UTF-8 are decoded with replacement."""
    try:
        return _normalise(_unpack_once(raw, raw_strings=False))
    except UnicodeDecodeError:
        return _normalise(_unpack_once(raw, raw_strings=True))


# ---- structure → ImEvent -------------------------------------------------------------------------------------

def _chat_message(payload: dict[str, Any], msg: dict[str, Any], me: str | None, object_type: int | None) -> ImEvent:
    """A 40000 message (spec §4.1): text, image, trade card or platform notice."""
    ext = msg.get("10") if isinstance(msg.get("10"), dict) else {}
    content = dig(msg, "6", "3")
    content_type = int_or_none(dig(content, "4"))
    inner = json_object(dig(content, "5"))
    summary = text_or_none(dig(content, "2"))
    reminder = text_or_none(ext.get("reminderContent"))
    ext_json = json_object(ext.get("extJson"))
    sender = _bare(ext.get("senderUserId")) or _bare(dig(msg, "1", "1"))
    fields: dict[str, Any] = {
        "cid": _bare(msg.get("2")) or url_param(ext.get("reminderUrl"), "sid"),
        "sender_id": sender,
        "text": reminder or text_or_none(dig(inner, "text", "text")) or summary,
        "item_id": url_param(ext.get("reminderUrl"), "itemId"),
        "message_id": text_or_none(json_object(ext.get("bizTag")).get("messageId"))
        or text_or_none(ext_json.get("messageId"))
        or text_or_none(msg.get("3")),
        "created_at": int_or_none(msg.get("5")),
        "content_type": content_type,
        "object_type": object_type,
        "raw": payload,
    }
    nick = text_or_none(ext.get("senderNick"))
    if content_type != TEXT:
        card = dig(inner, "dxCard", "item", "main")
        status = trade.order_status_of(
            text_or_none(dig(card, "exContent", "title")),
            reminder if trade.is_bracketed(reminder) else None,
            text_or_none(ext.get("redReminder")) if content_type == TRADE_CARD else None,
        )
        if content_type == TRADE_CARD or status:
            order_id = (
                trade.order_id_from_card_links(dig(card, "exContent", "button", "targetUrl"), dig(card, "targetUrl"))
                or trade.order_id_from_update_key(ext_json.get("updateKey"))
                or trade.order_id_anywhere(payload)
            )
            return ImEvent(kind="order", sender_nick=nick, order_id=order_id, order_status=status, **fields)
    nick = nick or text_or_none(ext.get("reminderTitle"))
    if me:
        own = sender is not None and sender == _bare(me)
    else:
        own = text_or_none(dig(payload, "3", "needPush")) == "false"
    if content_type == IMAGE:
        pics = dig(inner, "image", "pics")
        first_pic = pics[0] if isinstance(pics, list) and pics else None
        fields["text"] = summary or reminder
        return ImEvent(kind="own_echo" if own else "chat", sender_nick=nick, image_url=text_or_none(dig(first_pic, "url")), **fields)
    # Typed text is a notice only when it is one of the platform's exact strings: a buyer may well type
    # "[急] 多少钱 [急]" or send only stickers ("[微笑]"). Other content types (tips, cards, audio) carry a
    # bracketed summary the platform wrote, so brackets mark their notices.
    notice = trade.is_exact_notice if content_type == TEXT else trade.is_system_notice
    if notice(fields["text"]):
        return ImEvent(kind="system", sender_nick=nick, **fields)
    return ImEvent(kind="own_echo" if own else "chat", sender_nick=nick, **fields)


def _list_event(payload: dict[str, Any], entries: list[Any], object_type: int | None) -> ImEvent:
    """`{"1": [...]}`: a 40006 session event (list of maps) or a read receipt listing message ids."""
    head = entries[0] if entries else None
    if isinstance(head, dict):
        return ImEvent(kind="session", cid=_bare(head.get("1")), sender_id=_bare(head.get("4")),
                     object_type=object_type, raw=payload)
    if isinstance(head, str):
        return ImEvent(kind="read_receipt", cid=_bare(payload.get("3")), message_id=head,
                     created_at=int_or_none(payload.get("5")), object_type=object_type, raw=payload)
    return ImEvent.invalid("field 1 is a list of neither maps nor message ids", payload, object_type)


def _keyed_event(payload: dict[str, Any], head: str, object_type: int | None) -> ImEvent:
    """`{"1": "<id>", ...}`: a read receipt, a session red-reminder, or a new-message notice."""
    if head.endswith(".PNM"):
        return ImEvent(kind="read_receipt", cid=_bare(payload.get("4")), message_id=head,
                     created_at=int_or_none(payload.get("6")), object_type=object_type, raw=payload)
    detail = payload.get("3")
    if isinstance(detail, dict) and "redReminder" in detail:
        reminder = text_or_none(detail.get("redReminder"))
        status = trade.order_status_of(reminder)
        return ImEvent(kind="order" if status else "session", cid=_bare(head), text=reminder, order_status=status,
                     created_at=int_or_none(payload.get("4")), object_type=object_type, raw=payload)
    if isinstance(detail, str) and detail:  # the "new message" notice: {1: cid, 2: 1, 3: message id, 4: ms}
        return ImEvent(kind="session", cid=_bare(head), message_id=detail,
                     created_at=int_or_none(payload.get("4")), object_type=object_type, raw=payload)
    return ImEvent.invalid("unrecognised payload: field 3 is neither a reminder nor a message id", payload, object_type)


def _msgpack_event(payload: Any, me: str | None, object_type: int | None) -> ImEvent:
    """Dispatch on the payload's shape; the objectType only vouches that it is a known stream."""
    if not isinstance(payload, dict):
        return ImEvent.invalid(f"payload is a {type(payload).__name__}, expected a map", payload, object_type)
    head = payload.get("1")
    if isinstance(head, dict):
        return _chat_message(payload, head, me, object_type)
    if isinstance(head, list):
        return _list_event(payload, head, object_type)
    if isinstance(head, str) and head:
        return _keyed_event(payload, head, object_type)
    return ImEvent.invalid(f"unrecognised payload shape (keys {sorted(payload)[:8]})", payload, object_type)


def _arouse_event(payload: dict[str, Any], object_type: int | None) -> ImEvent:
    """370000: the platform "wakes" a conversation (suggested scripts for the item); nobody wrote it."""
    session = dig(payload, "operation", "sessionInfo")
    arouse = dig(payload, "operation", "content", "sessionArouse", "sessionArouseInfo")
    scripts = dig(arouse, "arouseChatScriptInfo")
    lines = [text_or_none(dig(s, "chatScrip")) for s in scripts] if isinstance(scripts, list) else []
    return ImEvent(
        kind="arouse",
        cid=_bare(payload.get("sessionId")) or _bare(dig(session, "sessionId")),
        item_id=text_or_none(dig(session, "extensions", "itemId")),
        text="\n".join(line for line in lines if line) or None,
        created_at=int_or_none(dig(arouse, "arouseTimeStamp")),
        object_type=object_type,
        raw=payload,
    )


def _object_type(value: Any) -> int | None:
    if value is None:
        return None
    number = int_or_none(value)
    if number is None:
        raise ValueError(f"objectType {str(value)[:40]!r} is not an integer")
    return number


def _decode_payload(data_b64: Any, me: str | None, object_type: Any) -> ImEvent:
    kind_code = _object_type(object_type)
    raw = _b64decode(data_b64)
    as_json = _json_payload(raw)
    if as_json is None and kind_code == AROUSE:
        return ImEvent.invalid("objectType 370000 payload is not a JSON object", object_type=kind_code)
    if as_json is None:
        try:
            payload = _unpack(raw)
        except Exception as exc:  # msgpack raises ValueError, TypeError, its own errors … all mean "bad bytes"
            return ImEvent.invalid(f"msgpack truncated/invalid: {exc}"[:_MAX_ERROR_CHARS], object_type=kind_code)
    else:
        payload = as_json
    if kind_code is not None and kind_code not in KNOWN_OBJECT_TYPES:
        return ImEvent.invalid(f"unknown objectType {kind_code}", payload, kind_code)
    if as_json is None:
        return _msgpack_event(payload, me, kind_code)
    if kind_code == AROUSE or "chatType" in as_json or "operation" in as_json:
        return _arouse_event(as_json, kind_code)
    return ImEvent.invalid("base64 JSON payload without chatType/operation", as_json, kind_code)


def _crash(exc: Exception) -> ImEvent:
    """The last line of defence: a decoder bug becomes an invalid event, not a dead session."""
    return ImEvent.invalid(f"cannot decode: {type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS])


# ---- public entry points ---------------------------------------------------------------------------------------

def decode_payload(data_b64: str, me: str | None = None, object_type: int | None = None) -> ImEvent:
    """One base64 payload → ImEvent. `me` is the account's unb (decides own echoes); never raises."""
    try:
        return _decode_payload(data_b64, me, object_type)
    except Exception as exc:
        return _crash(exc)


def decode_item(item: dict[str, Any], me: str | None = None) -> ImEvent:
    """One element of `syncPushPackage.data` (`{"objectType", "data", ...}`) → ImEvent; never raises."""
    if not isinstance(item, dict):
        return ImEvent.invalid(f"push item is a {type(item).__name__}, expected an object", item)
    return decode_payload(item.get("data"), me, item.get("objectType"))


def decode_frame(frame: dict[str, Any] | str, me: str | None = None) -> list[ImEvent]:
    """A whole LWP frame → one ImEvent per push item ([] for replies and item-less pushes); never raises.

    A frame that is not a JSON object, or has neither `code` nor `lwp`, gives one invalid ImEvent.
    """
    try:
        parsed = parse_frame(frame) if isinstance(frame, str | bytes) else frame_from_obj(frame)
    except FrameError as exc:
        return [ImEvent.invalid(f"bad frame: {exc}"[:_MAX_ERROR_CHARS])]
    except Exception as exc:
        return [_crash(exc)]
    if not isinstance(parsed, Push):
        return []
    return [decode_item(item, me) for item in push_items(parsed)]


def _decode_line(line: str | bytes, me: str | None) -> list[ImEvent]:
    text = (line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line).strip().lstrip("\ufeff")
    if not text:
        return []
    if not text.startswith(("{", "[")):
        return [decode_payload(text, me)]
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return [ImEvent.invalid(f"line is not JSON: {exc}"[:_MAX_ERROR_CHARS])]
    if isinstance(obj, dict) and "data" in obj and "lwp" not in obj and "code" not in obj:
        return [decode_item(obj, me)]  # a single push item pasted from a log
    return decode_frame(obj, me)


def decode_lines(lines: Iterable[str], me: str | None = None) -> Iterator[dict[str, Any]]:
    """The `xianyu.py decode` engine: each line is an LWP frame or a bare base64 payload; blank lines are
    skipped; yields one CLI JSON dict per event. Never raises, whatever the lines hold."""
    for line in lines:
        try:
            events = _decode_line(line, me)
        except Exception as exc:
            events = [_crash(exc)]
        for event in events:
            yield event.to_json_dict()
