"""Delivery rules → the message for each unit → the send. No state here: core/orders.py drives it.

* `rule_for` picks the item's rule, else the account's default rule.
* `unit_code` yields what one unit carries, for the kinds that do not come from stock: the rendered text, the
  seller's API answer (`fetch_api_code`: GET/POST with the placeholders, timeout, retries with backoff, the
  response field), the image URL. Stock codes are taken in storage (in the reservation's transaction).
* `unit_text` is the whole message of a unit: before-text for the first, the rule's message around the code,
  after-text for the last. It is fixed when the unit is reserved, so a resend is the very same message.
* `send_unit` sends it (after a send whose answer was lost, core/session/history.py asks the chat first).

Codes never reach a log or an exception text: errors name the rule and the HTTP status, not the answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from core.backoff import Backoff
from core.config import DeliveryRule, render_template
from core.errors import DeliveryFailed
from core.goofish import frames
from core.goofish.cookies import mask
from core.session.loop import ImSession

API_BACKOFF = Backoff(base=0.5, cap=5.0)


def rule_for(rules: tuple[DeliveryRule, ...], item_id: str | None) -> DeliveryRule | None:
    """The rule for this item, else the account's default (``item`` None), else None."""
    by_item = next((rule for rule in rules if item_id and rule.item == item_id), None)
    return by_item or next((rule for rule in rules if rule.item is None), None)


def mask_code(code: str | None) -> str:
    """A code as logs, events and the dashboard show it (the buyer's message is the only full copy)."""
    return mask(code) if code else ""


def template_values(order_id: str, buyer_nick: str, item_title: str, quantity: int, unit: int,
                    code: str = "") -> dict[str, str]:
    return {"order_id": order_id, "buyer_nick": buyer_nick, "item_title": item_title, "item_price": "",
            "quantity": str(quantity), "unit": str(unit), "code": code}


def unit_text(rule: DeliveryRule, values: Mapping[str, str], first: bool, last: bool) -> str:
    """The message of one unit (for an image, its caption)."""
    body = render_template(rule.source, values) if rule.kind == "text" else render_template(rule.message or "",
                                                                                             values)
    parts = [render_template(rule.before, values) if first and rule.before else "", body,
             render_template(rule.after, values) if last and rule.after else ""]
    return "\n".join(part for part in parts if part)


def unit_code(rule: DeliveryRule, values: Mapping[str, str]) -> str:
    """What a text, api or image unit carries (stock units get theirs from the stock list)."""
    if rule.kind == "text":
        return render_template(rule.source, values)
    if rule.kind == "api":
        return fetch_api_code(rule, values)
    if rule.kind == "image":
        return rule.source
    raise ValueError(f"{rule.kind} units take their code from stock")


def fetch_api_code(rule: DeliveryRule, values: Mapping[str, str], http: Any = requests) -> str:
    """Ask the seller's system for a code: ``rule.retries`` further tries with backoff on any failure.

    GET fills the URL's placeholders (URL-quoted); POST does the same and also sends them as a JSON body. The
    code is the JSON field ``rule.response_field`` (dotted path), or the whole body stripped."""
    url = render_template(rule.source, {name: quote(value, safe="") for name, value in values.items()})
    problem = ""
    for attempt in range(1, rule.retries + 2):
        try:
            if rule.method == "POST":
                answer = http.post(url, json=dict(values), timeout=rule.timeout)
            else:
                answer = http.get(url, timeout=rule.timeout)
            if answer.status_code != 200:
                raise DeliveryFailed(f"HTTP {answer.status_code}")
            return _code_in(answer.text, rule.response_field)
        except requests.RequestException as exc:
            problem = f"{type(exc).__name__}"
        except DeliveryFailed as exc:
            problem = exc.reason
        if attempt <= rule.retries:
            time.sleep(API_BACKOFF.next_delay(attempt))
    raise DeliveryFailed(f"delivery API failed after {rule.retries + 1} tries: {problem}")


def _code_in(body: str, field: str | None) -> str:
    if field is None:
        code = body.strip()
    else:
        try:
            node: Any = json.loads(body)
        except ValueError:
            raise DeliveryFailed(f"answer is not JSON (wanted field {field})") from None
        for name in field.split("."):
            node = node.get(name) if isinstance(node, dict) else None
        code = str(node).strip() if isinstance(node, str | int) and not isinstance(node, bool) else ""
    if not code:
        raise DeliveryFailed("answer has no code" + (f" in field {field}" if field else ""))
    return code


def send_unit(session: ImSession, cid: str, to_id: str, kind: str, code: str, text: str) -> None:
    """Send one unit's message (an image unit: the image, then its caption). Raises SendFailed."""
    if kind == "image":
        session.request(frames.send_image_frame(cid, to_id, session.credentials.unb, code, 0, 0))
        if not text:
            return
    session.send_text(cid, to_id, text)
