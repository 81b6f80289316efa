"""Trade vocabulary: the strings Goofish uses for order states and system notices, and order-id extraction.

These strings are de facto protocol constants (spec §4.3, field notes §4): there is no status code in a trade
card, only its Chinese title, its summary "[...]" and the session's `redReminder`. They are kept in one place
so the simulator's authors and reviewers can check them against the spec at a glance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from core.goofish.lenient import is_ascii_digits
from core.goofish.messages import OrderStatus

# First match wins, so the table runs from the latest lifecycle state back to the first: a notice naming a
# later state ("退款成功，钱款已原路退返", "买家确认收货，交易成功") must not be read as an earlier one, and within
# one state the longer, more specific strings come first.
ORDER_STATUS_MARKERS: tuple[tuple[str, OrderStatus], ...] = (
    ("退款", "refund"),  # 退款成功，钱款已原路退返 / 买家申请退款 …
    ("你关闭了订单", "closed"),  # 你关闭了订单，钱款已原路退返 (seller cancelled an unpaid order)
    ("交易关闭", "closed"),
    ("订单已关闭", "closed"),
    ("买家确认收货，交易成功", "completed"),
    ("你已确认收货，交易成功", "completed"),
    ("你已确认收货", "completed"),
    ("交易成功", "completed"),
    ("你已发货", "shipped"),
    ("已发货", "shipped"),
    ("等待买家收货", "shipped"),  # redReminder while the parcel travels (no capture; the simulator's wording)
    ("我已付款，等待你发货", "paid"),
    ("已付款，待发货", "paid"),
    ("买家已付款", "paid"),
    ("付款完成", "paid"),
    ("记得及时发货", "paid"),
    ("等待卖家发货", "paid"),  # redReminder
    ("我已拍下，待付款", "unpaid"),
    ("等待买家付款", "unpaid"),  # redReminder
)

# Platform notices that arrive as chat messages but are nobody's words (the popular bot's exact skip list,
# minus the trade ones, which are orders here). Bracketed summaries of non-text messages are notices too.
SYSTEM_NOTICES: frozenset[str] = frozenset(
    {
        "发来一条消息",
        "发来一条新消息",
        "快给ta一个评价吧~",
        "快给ta一个评价吧～",
        "卖家人不错？送Ta闲鱼小红花",
        "AI正在帮你回复消息，不错过每笔订单",
        "[不想宝贝被砍价?设置不砍价回复  ]",
    }
)

# re.ASCII: \d must mean 0-9 only, not every Unicode digit.
_CARD_BUTTON_ORDER = re.compile(r"(?:bizOrderId|orderId)=(\d+)", re.ASCII)
_ORDER_DETAIL = re.compile(r"order_detail\?id=(\d+)", re.ASCII)
# Fallbacks over every string of the message, for card layouts we have not seen: the two query-style forms
# accept any length (they are unambiguous), the bare `orderId:` form wants 10+ digits like real order ids.
_LOOSE_ORDER_PATTERNS = (
    re.compile(r"""orderId["']?\s*[=:]\s*["']?(\d{10,})""", re.ASCII),
    _ORDER_DETAIL,
    re.compile(r"""bizOrderId["']?\s*[=:]\s*["']?(\d+)""", re.ASCII),
)


def order_status_of(*texts: str | None) -> OrderStatus | None:
    """The order state named by the first text (in argument order) that names one."""
    for text in texts:
        if not text:
            continue
        for marker, status in ORDER_STATUS_MARKERS:
            if marker in text:
                return status
    return None


def is_bracketed(text: str | None) -> bool:
    """"[...]" texts are summaries the platform writes (cards, stickers, trade notices), not typed words."""
    stripped = (text or "").strip()
    return len(stripped) >= 2 and stripped.startswith("[") and stripped.endswith("]")


def is_exact_notice(text: str | None) -> bool:
    return text is not None and (text in SYSTEM_NOTICES or text.strip() in SYSTEM_NOTICES)


def is_system_notice(text: str | None) -> bool:
    """A notice of a non-text message: an exact platform string or a bracketed summary."""
    return is_exact_notice(text) or is_bracketed(text)


def _first_match(pattern: re.Pattern[str], text: Any) -> str | None:
    match = pattern.search(text) if isinstance(text, str) else None
    return match.group(1) if match else None


def order_id_from_card_links(button_url: Any, card_url: Any) -> str | None:
    """From a trade card (`dxCard.item.main`): its action button's URL first (`bizOrderId=`/`orderId=`),
    then the card's own link (`order_detail?id=`). Non-strings are ignored (payloads are untrusted)."""
    return _first_match(_CARD_BUTTON_ORDER, button_url) or _first_match(_ORDER_DETAIL, card_url)


def order_id_from_update_key(update_key: Any) -> str | None:
    """extJson `updateKey` is "<cid>:<order id>:<state tag>" on trade cards."""
    if not isinstance(update_key, str):
        return None
    parts = update_key.split(":")
    return parts[1] if len(parts) >= 3 and is_ascii_digits(parts[1]) and len(parts[1]) >= 10 else None


def _string_leaves(node: Any) -> Iterator[str]:
    """Every string inside nested dicts/lists, without recursion (payloads are untrusted and may be deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            yield current
        elif isinstance(current, dict):
            stack.extend(reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))


def order_id_anywhere(message: Any) -> str | None:
    """Last resort: the first order-id-looking match in any string of the decoded message."""
    leaves = list(_string_leaves(message))
    for pattern in _LOOSE_ORDER_PATTERNS:
        for leaf in leaves:
            found = _first_match(pattern, leaf)
            if found:
                return found
    return None
