"""The tables, and the read-only shape (`ChatLine`) that queries build from them.

Conventions:
- Times are integers: milliseconds since the UTC epoch, never naive datetimes. A moment is `<what>_at_ms`
  (`received_at_ms`, `sent_at_ms`), a bound `<preposition>_ms` (`until_ms`, `since_ms`). They are BIGINT
  because epoch milliseconds overflow PostgreSQL's 32-bit INTEGER.
- Names are the config's account ids and the platform's ids (cid, message_id, item_id) as strings.
- State columns hold the values core writes (the order and delivery state machine is `core/orders/states.py`,
  a buyer message's decisions `core/replies/verdict.py`); storage only compares them with values it is given.
  The two lifecycles storage carries out itself are its own: a reply row's (`ReplyStatus`) and a stock code's
  (`CodeState`).
- `AccountRecord` holds a cookie jar and an access token, sealed in the database (AccountStore seals and opens
  them) and plain in the row objects callers get: its repr masks both, so a logged row leaks nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, Integer
from sqlmodel import Field, SQLModel

# Autoincrement ids: BIGINT on PostgreSQL (200 messages/s exhaust 2^31 in about four months), but INTEGER on SQLite,
# where only "INTEGER PRIMARY KEY" is the auto-assigned rowid (and is 64-bit anyway).
_ID = BigInteger().with_variant(Integer(), "sqlite")

_SECRET_FIELDS = frozenset({"cookie_jar", "access_token"})


class ReplyStatus(StrEnum):
    """`Reply.status`: the reply row's lifecycle. StrEnum, so plain strings ("sent") compare equal and store the
    same."""

    PENDING = "pending"  # decided, about to be sent: the replies stage matches its own echo against these
    SENT = "sent"
    FAILED = "failed"
    MANUAL = "manual"  # typed by the seller by hand (on the phone), recorded for the chat history
    EXPIRED = "expired"  # left unsent by a stopped (or killed) run; too old to send when the next one started


class CodeState(StrEnum):
    """`StockCode.state`: a code is available in its list, reserved for one order's unit, then sent."""

    AVAILABLE = "available"
    RESERVED = "reserved"
    SENT = "sent"


class AccountRecord(SQLModel, table=True):
    """What one account must remember across restarts."""

    __tablename__ = "account_state"

    account_id: str = Field(primary_key=True)
    cookie_jar: str = ""  # the full Cookie header, merged with every Set-Cookie the platform sent
    # A hash of the configured cookie the jar grew from: when the user pastes a new cookie, the stale jar goes.
    cookie_source: str = ""
    device_id: str = ""  # "" until the session generates one; then kept, so the platform sees one device
    access_token: str | None = None
    token_expires_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    sync_pts: int = Field(default=0, sa_type=BigInteger)  # the IM sync position, in microseconds
    state: str = "stopped"
    state_since_ms: int = Field(default=0, sa_type=BigInteger)
    last_error: str | None = None
    updated_at_ms: int = Field(default=0, sa_type=BigInteger)

    def __repr_args__(self) -> Sequence[tuple[str | None, Any]]:
        # Masked rather than dropped: whether a cookie or token is present is worth seeing in a log.
        return [
            (name, "***" if name in _SECRET_FIELDS and value else value)
            for name, value in super().__repr_args__()
        ]


class InboundMessage(SQLModel, table=True):
    """One message the platform pushed, and what the pipeline decided about it."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        Index("ix_inbound_chat", "account_id", "cid", "received_at_ms"),  # chat history
        Index("ix_inbound_account", "account_id", "received_at_ms"),  # per-account recent list and counters
        Index("ix_inbound_received", "received_at_ms"),  # global recent list, retention cleanup
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    account_id: str
    cid: str
    message_id: str  # the platform's id
    kind: str  # chat | own_echo | order | system | … (decode's kinds)
    sender_id: str | None = None
    sender_nick: str | None = None
    item_id: str | None = None
    text: str = ""
    created_at_ms: int = Field(sa_type=BigInteger)  # the platform's clock
    received_at_ms: int = Field(sa_type=BigInteger)  # ours: all ordering and retention use this one
    decided_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    # free text chosen by the pipeline: replied | debounced | paused | too_old | no_rule | system | …
    decision: str | None = None
    rule: str | None = None


class Reply(SQLModel, table=True):
    """One message sent, or about to be sent, on the seller's behalf (or typed by the seller: status manual)."""

    __tablename__ = "reply"
    __table_args__ = (
        Index("ix_reply_chat", "account_id", "cid", "decided_at_ms"),  # echo matching, chat history
        Index("ix_reply_account", "account_id", "decided_at_ms"),  # per-account counters
        Index("ix_reply_decided", "decided_at_ms"),  # global counters, retention cleanup
        Index("ix_reply_status", "status", "account_id"),  # the unsent replies a start resumes (few rows)
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    account_id: str
    cid: str
    to_id: str
    # Not a foreign key: retention deletes inbound rows and replies independently, and a dangling id is harmless.
    inbound_id: int | None = Field(default=None, sa_type=BigInteger)
    rule: str
    text: str
    decided_at_ms: int = Field(sa_type=BigInteger)
    sent_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    status: str = ReplyStatus.PENDING
    error: str | None = None
    attempts: int = 0


class ChatPause(SQLModel, table=True):
    """No automatic replies in this chat until `until_ms` (the seller took over, or paused it in the dashboard)."""

    __tablename__ = "chat_pause"
    __table_args__ = (Index("ix_chat_pause_until", "until_ms"),)

    account_id: str = Field(primary_key=True)
    cid: str = Field(primary_key=True)
    until_ms: int = Field(sa_type=BigInteger)
    reason: str = ""


class SeenMessage(SQLModel, table=True):
    """Message ids already handled: the platform delivers at least once, so every push is checked here."""

    __tablename__ = "seen_message"
    __table_args__ = (Index("ix_seen_expires", "expires_at_ms"),)

    account_id: str = Field(primary_key=True)
    message_id: str = Field(primary_key=True)
    seen_at_ms: int = Field(sa_type=BigInteger)
    expires_at_ms: int = Field(sa_type=BigInteger)


class ReplyOnce(SQLModel, table=True):
    """A `once` reply already given in a chat; the primary key makes the first claimer the only one."""

    __tablename__ = "reply_once"

    account_id: str = Field(primary_key=True)
    cid: str = Field(primary_key=True)
    rule: str = Field(primary_key=True)
    at_ms: int = Field(sa_type=BigInteger)


class ItemCache(SQLModel, table=True):
    """Item details fetched from the platform, for reply templates ({item_title}, {item_price})."""

    __tablename__ = "item_cache"

    item_id: str = Field(primary_key=True)
    title: str = ""
    price: str = ""  # yuan, as the platform writes it ("9.90"): a string, so no float rounding
    desc: str = ""
    quantity: int | None = None
    fetched_at_ms: int = Field(sa_type=BigInteger)


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One line of a chat as the dashboard shows it: an inbound message or a reply, in local-clock order."""

    at_ms: int  # InboundMessage.received_at_ms or Reply.decided_at_ms: both our clock, so the order is causal
    direction: str  # "in" | "out"
    text: str
    sender_id: str | None  # inbound only: a reply's sender is the seller
    sender_nick: str | None
    rule: str | None
    status: str | None  # a reply's status; an inbound message's decision
    row_id: int  # InboundMessage.id or Reply.id, as `direction` says


# ---- orders and delivery ---------------------------------------------------------------------------------------


class OrderRecord(SQLModel, table=True):
    """One order as this account saw it, with its delivery's progress and the lease of whoever works on it.

    `lease_owner`/`lease_until_ms` make one worker (thread or process) the only one to deliver an order at a
    time: claimed by compare-and-swap, released when the worker stops, stolen when it expired or its process
    died (a kill -9 leaves a lease behind)."""

    __tablename__ = "order_record"
    __table_args__ = (
        Index("ix_order_due", "delivery_state", "next_try_at_ms"),  # the delivery worker's scan
        Index("ix_order_updated", "updated_at_ms"),  # the dashboard's recent list
        Index("ix_order_chat", "account_id", "cid"),  # recognising the echo of a delivery in its chat
    )

    account_id: str = Field(primary_key=True)
    order_id: str = Field(primary_key=True)
    cid: str = ""
    buyer_id: str = ""
    buyer_nick: str = ""
    item_id: str | None = None
    item_title: str = ""
    status: str  # core.goofish.messages.OrderStatus
    quantity: int | None = None  # from the order detail; None until asked
    delivery_state: str  # core/orders/states.py DeliveryState
    reason: str = ""
    attempts: int = 0
    next_try_at_ms: int = Field(default=0, sa_type=BigInteger)
    shipment_confirmed: bool = False  # consign.dummy answered success (or the shipped notice came)
    lease_owner: str = ""
    lease_until_ms: int = Field(default=0, sa_type=BigInteger)
    created_at_ms: int = Field(sa_type=BigInteger)
    updated_at_ms: int = Field(sa_type=BigInteger)


class OrderTransition(SQLModel, table=True):
    """The history of an order's states: one row per accepted change (stale notices leave none)."""

    __tablename__ = "order_transition"
    __table_args__ = (Index("ix_order_transition_order", "account_id", "order_id", "at_ms"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    account_id: str
    order_id: str
    previous: str | None = None
    status: str
    at_ms: int = Field(sa_type=BigInteger)
    message_id: str = ""


class DeliveryUnit(SQLModel, table=True):
    """One unit of an order's delivery. The primary key (order, unit) is what makes a second code for the same
    unit impossible: the row and its stock code are written in one transaction, and only once."""

    __tablename__ = "delivery_unit"

    account_id: str = Field(primary_key=True)
    order_id: str = Field(primary_key=True)
    unit: int = Field(primary_key=True)  # 1..quantity
    kind: str  # text | stock | api | image
    stock_code_id: int | None = Field(default=None, sa_type=BigInteger)
    code: str | None = None  # what was reserved: the stock code, the API's answer, the text, the image URL
    text: str = ""  # the whole message to the buyer, fixed at reservation so a resend is the same message
    state: str  # core/orders/states.py DeliveryState: reserved, sent or cancelled
    attempts: int = 0  # sends tried: > 0 means the buyer may have it already (asked before resending)
    reserved_at_ms: int = Field(sa_type=BigInteger)
    sent_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    updated_at_ms: int = Field(sa_type=BigInteger)


class StockCode(SQLModel, table=True):
    """One code of a stock list: available, reserved for an order's unit, or sent."""

    __tablename__ = "stock_code"
    __table_args__ = (
        Index("ux_stock_code", "stock", "code", unique=True),  # duplicates are rejected on import
        Index("ix_stock_available", "stock", "state", "id"),  # the next available code, oldest first
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    stock: str
    code: str
    state: str = CodeState.AVAILABLE
    account_id: str | None = None  # the holder while reserved or sent
    order_id: str | None = None
    unit: int | None = None
    added_at_ms: int = Field(sa_type=BigInteger)
    used_at_ms: int | None = Field(default=None, sa_type=BigInteger)


class StockAlert(SQLModel, table=True):
    """Whether a stock list is below its low-stock threshold: a StockLow event fires on the crossing only."""

    __tablename__ = "stock_alert"

    stock: str = Field(primary_key=True)
    low: bool = False


# ---- AI replies -------------------------------------------------------------------------------------------------


class BargainRecord(SQLModel, table=True):
    """Where bargaining stands between one buyer and one item: counted per buyer, so a new message (or a new
    chat) cannot reset the rounds. Prices are yuan strings ("80.00"), like `ItemCache.price`."""

    __tablename__ = "bargain"

    account_id: str = Field(primary_key=True)
    buyer_id: str = Field(primary_key=True)
    item_id: str = Field(primary_key=True)
    rounds: int = 0
    lowest_counter: str | None = None
    best_offer: str | None = None
    agreed: str | None = None
    agreed_until_ms: int | None = Field(default=None, sa_type=BigInteger)
    updated_at_ms: int = Field(sa_type=BigInteger)


class AiDraft(SQLModel, table=True):
    """One model answer: what the model wrote (`draft`), what the checks made of it (`text`), the price the program
    decided and why the checks changed it — kept whether it was sent, suggested, blocked or discarded."""

    __tablename__ = "ai_draft"
    __table_args__ = (Index("ix_ai_draft_status", "status", "account_id"),
                      Index("ix_ai_draft_chat", "account_id", "cid"))

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    account_id: str
    cid: str
    to_id: str = ""
    inbound_id: int | None = Field(default=None, sa_type=BigInteger)
    item_id: str | None = None
    draft: str = ""
    text: str = ""
    decision: str = ""  # e.g. "counter 90 (round 2 of 3)"
    checks: str = ""  # what the checks changed, "; "-joined
    status: str = ""  # core's words: sent | suggested | approved | discarded | blocked
    created_at_ms: int = Field(sa_type=BigInteger)
    updated_at_ms: int = Field(sa_type=BigInteger)


class AiUsage(SQLModel, table=True):
    """Model calls and tokens per account and local day ("2026-12-07")."""

    __tablename__ = "ai_usage"

    account_id: str = Field(primary_key=True)
    day: str = Field(primary_key=True)
    calls: int = 0
    failures: int = 0
    prompt_tokens: int = Field(default=0, sa_type=BigInteger)
    completion_tokens: int = Field(default=0, sa_type=BigInteger)


class ChatFlag(SQLModel, table=True):
    """A chat that needs the seller (the buyer asked for a person): shown in the dashboard until cleared."""

    __tablename__ = "chat_flag"

    account_id: str = Field(primary_key=True)
    cid: str = Field(primary_key=True)
    reason: str = ""
    at_ms: int = Field(sa_type=BigInteger)


# ---- notifications ----------------------------------------------------------------------------------------------


class NotifyIncident(SQLModel, table=True):
    """One incident: an account and a cause (``login_required``, ``delivery_failed:<order>`` …), open until it
    recovers or expires. ``open_cause`` is the cause while open and NULL once closed: the unique index on it lets
    only one incident per account and cause be open, so a repeated or replayed event opens nothing.
    ``due`` is what is still to be said about it (open | reminder | recovered | "" = nothing) from ``due_at_ms``:
    the notifier writes the messages and clears it in one transaction, so a restart neither loses nor repeats one."""

    __tablename__ = "notify_incident"
    __table_args__ = (Index("ux_notify_incident_open", "account_id", "open_cause", unique=True),
                      Index("ix_notify_incident_due", "due", "due_at_ms"))

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    account_id: str
    cause: str
    open_cause: str | None = None
    kind: str
    severity: str
    detail: str = ""  # JSON of what the message says (the punish URL, the order, the reason …)
    opened_at_ms: int = Field(sa_type=BigInteger)
    announced_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    reminders: int = 0
    due: str = ""
    due_at_ms: int = Field(default=0, sa_type=BigInteger)
    closed_at_ms: int | None = Field(default=None, sa_type=BigInteger)
    expires_at_ms: int | None = Field(default=None, sa_type=BigInteger)  # one-shot kinds close silently then


class NotifyMessage(SQLModel, table=True):
    """The durable outbox: one message for one channel. ``key`` is its idempotency key (the unique index on
    (channel, key) makes writing it twice a no-op); ``state``: pending → sent, or dead after the last try."""

    __tablename__ = "notify_outbox"
    __table_args__ = (Index("ux_notify_outbox_key", "channel", "key", unique=True),
                      Index("ix_notify_outbox_due", "state", "channel", "next_at_ms"))

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    channel: str
    key: str
    kind: str
    severity: str
    accounts: str = ""  # comma-separated account ids
    title: str = ""
    body: str = ""
    state: str = "pending"
    attempts: int = 0
    next_at_ms: int = Field(default=0, sa_type=BigInteger)
    last_error: str = ""
    created_at_ms: int = Field(sa_type=BigInteger)
    sent_at_ms: int | None = Field(default=None, sa_type=BigInteger)
