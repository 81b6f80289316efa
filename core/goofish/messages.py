"""The typed result of decoding one push item: `ImEvent`, and the kinds it can have.

One flat frozen dataclass rather than a class per kind: the CLI prints the same fields for every kind
(docs/contracts.md §3.1), the pipeline switches on `kind`, and absent fields are simply None.

Field semantics (all ids without the "@goofish" suffix):
- `cid`: the conversation id. `sender_id`: who sent it (for `session` events, the user field "4").
- `text`: what a human would read — the chat text, the card summary ("[我已拍下，待付款]"), "[图片]" …
- `message_id`: the platform's 32-hex id when present, else the server id verbatim ("3402391472503.PNM").
- `created_at`: epoch ms. `order_status`: only on `order` events (may be None for cards of unknown state).
- `error`: only on `invalid` events; the reason the item could not be decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["chat", "own_echo", "order", "system", "read_receipt", "session", "arouse", "invalid"]
KINDS: frozenset[str] = frozenset(
    {"chat", "own_echo", "order", "system", "read_receipt", "session", "arouse", "invalid"}
)

OrderStatus = Literal["unpaid", "paid", "shipped", "completed", "closed", "refund"]
ORDER_STATUSES: frozenset[str] = frozenset({"unpaid", "paid", "shipped", "completed", "closed", "refund"})

_CLI_FIELDS = (
    "kind", "cid", "sender_id", "sender_nick", "text", "item_id",
    "order_id", "order_status", "message_id", "created_at",
)


@dataclass(frozen=True)
class ImEvent:
    """One decoded push item. `raw` (the decoded payload) is kept for logs and debugging, not compared."""

    kind: Kind
    cid: str | None = None
    sender_id: str | None = None
    sender_nick: str | None = None
    text: str | None = None
    item_id: str | None = None
    order_id: str | None = None
    order_status: OrderStatus | None = None
    message_id: str | None = None
    created_at: int | None = None
    content_type: int | None = None
    image_url: str | None = None
    object_type: int | None = None
    error: str | None = None
    raw: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def invalid(cls, error: str, raw: Any = None, object_type: int | None = None) -> ImEvent:
        """An item that could not be decoded; `error` says why (never contains secrets: payloads have none)."""
        return cls(kind="invalid", error=error, raw=raw, object_type=object_type)

    def to_json_dict(self) -> dict[str, Any]:
        """The CLI's JSON line: the contract fields (None → null), plus `error` for invalid events."""
        out = {name: getattr(self, name) for name in _CLI_FIELDS}
        if self.kind == "invalid":
            out["error"] = self.error
        return out
