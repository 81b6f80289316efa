"""`MessageStore`: what the platform pushed, deduplicated, and what was decided about each buyer message.

The per-message path runs here, so its writes are prebuilt statements (`statements.py`) on the driver's own
connection (`driver.py`), ONE transaction per buyer message: dedupe, the message with its decision, the
once-claim and the pending reply. Claims with exactly one winner (`mark_seen`, the once-claim) are one
INSERT … ON CONFLICT decided by the primary key, hence atomic across threads and processes on SQLite and
PostgreSQL alike.

The decision itself is the caller's (`core/replies/verdict.py`): this module records a `RecordableVerdict` as it
is given, including what to record when its once-per-chat claim was lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlmodel import select

from storage.database import Database
from storage.driver import DriverTx
from storage.models import InboundMessage, ReplyStatus, SeenMessage


@dataclass(frozen=True, slots=True)
class Inbound:
    """One pushed message as it is stored. `message_id` "" stores it without dedupe (read receipts and session
    events point at other messages' ids)."""

    account_id: str
    cid: str
    message_id: str
    kind: str
    created_at_ms: int  # the platform's clock
    received_at_ms: int  # ours
    text: str = ""
    sender_id: str | None = None
    sender_nick: str | None = None
    item_id: str | None = None

    def params(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "cid": self.cid, "message_id": self.message_id, "kind": self.kind,
                "sender_id": self.sender_id, "sender_nick": self.sender_nick, "item_id": self.item_id,
                "text": self.text, "created_at_ms": self.created_at_ms, "received_at_ms": self.received_at_ms}


class RecordableVerdict(Protocol):
    """What is recorded for a decided buyer message (core's `Verdict` is one)."""

    @property
    def decision(self) -> str: ...
    @property
    def decided_at_ms(self) -> int: ...
    @property
    def rule(self) -> str | None: ...
    @property
    def reply_text(self) -> str | None: ...  # set: a pending reply with this text is written too
    @property
    def to_id(self) -> str: ...
    @property
    def once(self) -> bool: ...  # claim (account, chat, rule) first …
    @property
    def once_taken(self) -> str: ...  # … and when the claim was lost, record this decision and no reply


@dataclass(frozen=True, slots=True)
class Recorded:
    """A stored message and what was stored for it: `reply_id` is the pending reply to send, if any."""

    inbound_id: int
    decision: str | None  # None: stored undecided (no verdict was given)
    reply_id: int | None = None


class MessageStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._sql = db.sql

    def mark_seen(self, account_id: str, message_id: str, ttl_ms: int, now_ms: int) -> bool:
        """True for the first sight of this message (or the first since its mark expired), False for a repeat."""
        params = {"account_id": account_id, "message_id": message_id, "seen_at_ms": now_ms,
                  "expires_at_ms": now_ms + ttl_ms}
        return self._db.fast.run(lambda tx: bool(tx.rows(self._sql.mark_seen, params)))

    def seen(self, account_id: str, message_id: str, now_ms: int) -> bool:
        """A pure read: is this message id marked seen (and the mark not expired)?"""
        query = select(SeenMessage.message_id).where(SeenMessage.account_id == account_id,
                                                     SeenMessage.message_id == message_id,
                                                     SeenMessage.expires_at_ms > now_ms)
        with self._db.read() as session:
            return session.exec(query).first() is not None

    def accept(self, message: Inbound, *, ttl_ms: int, verdict: RecordableVerdict | None = None) -> Recorded | None:
        """Dedupe, store and (given a verdict) decide in ONE transaction — the per-message hot path, where every
        write transaction is a turn at SQLite's single write lock. None when this message id was already seen;
        a message without an id is always stored. Without a verdict the message stays undecided, for `decide`."""
        params = message.params()

        def accept(tx: DriverTx) -> Recorded | None:
            if message.message_id:
                seen = {"account_id": message.account_id, "message_id": message.message_id,
                        "seen_at_ms": message.received_at_ms, "expires_at_ms": message.received_at_ms + ttl_ms}
                if not tx.rows(self._sql.mark_seen, seen):
                    return None
            if verdict is None:
                return Recorded(tx.rows(self._sql.insert_inbound, params)[0][0], None)
            decision = self._claim(tx, message.account_id, message.cid, verdict)
            decided = {"decision": decision, "rule": verdict.rule, "decided_at_ms": verdict.decided_at_ms}
            inbound_id = tx.rows(self._sql.insert_inbound, params | decided)[0][0]
            return self._reply_for(tx, inbound_id, message.account_id, message.cid, verdict, decision)

        return self._db.fast.run(accept)

    def decide(self, inbound_id: int, account_id: str, cid: str, verdict: RecordableVerdict) -> Recorded:
        """Record a verdict for a message stored earlier (after a debounce, a slow rule, or by a previous run)."""
        def apply(tx: DriverTx) -> Recorded:
            decision = self._claim(tx, account_id, cid, verdict)
            tx.run(self._sql.set_decision, {"row_id": inbound_id, "decision": decision, "rule": verdict.rule,
                                            "decided_at_ms": verdict.decided_at_ms})
            return self._reply_for(tx, inbound_id, account_id, cid, verdict, decision)

        return self._db.fast.run(apply)

    def set_decision(self, inbound_id: int, decision: str, rule: str | None, decided_at_ms: int) -> None:
        params = {"row_id": inbound_id, "decision": decision, "rule": rule, "decided_at_ms": decided_at_ms}
        self._db.fast.run(lambda tx: tx.run(self._sql.set_decision, params))

    def undecided(self, account_id: str, kind: str, since_ms: int, limit: int = 500) -> list[InboundMessage]:
        """Messages of `kind` stored but never decided on (the process stopped in between), oldest first."""
        query = (select(InboundMessage)
                 .where(InboundMessage.account_id == account_id, InboundMessage.kind == kind,
                        InboundMessage.decision.is_(None), InboundMessage.received_at_ms >= since_ms)
                 .order_by(InboundMessage.received_at_ms, InboundMessage.id).limit(limit))
        with self._db.read() as session:
            return list(session.exec(query))

    def recent(self, account_id: str | None = None, cid: str | None = None, limit: int = 100) -> list[InboundMessage]:
        """The latest stored messages, newest first, optionally of one account and/or one chat."""
        query = select(InboundMessage)
        if account_id is not None:
            query = query.where(InboundMessage.account_id == account_id)
        if cid is not None:
            query = query.where(InboundMessage.cid == cid)
        query = query.order_by(InboundMessage.received_at_ms.desc(), InboundMessage.id.desc()).limit(limit)
        with self._db.read() as session:
            return list(session.exec(query))

    def _claim(self, tx: DriverTx, account_id: str, cid: str, verdict: RecordableVerdict) -> str:
        """The verdict's decision, or its `once_taken` when its once-per-chat rule has answered this chat before."""
        if not verdict.once:
            return verdict.decision
        claim = {"account_id": account_id, "cid": cid, "rule": verdict.rule, "at_ms": verdict.decided_at_ms}
        return verdict.decision if tx.rows(self._sql.claim_once, claim) else verdict.once_taken

    def _reply_for(self, tx: DriverTx, inbound_id: int, account_id: str, cid: str, verdict: RecordableVerdict,
                   decision: str) -> Recorded:
        """The pending reply row of a decision that kept its reply text (a lost once-claim has none)."""
        if decision != verdict.decision or verdict.reply_text is None:
            return Recorded(inbound_id, decision)
        reply = {"account_id": account_id, "cid": cid, "to_id": verdict.to_id, "inbound_id": inbound_id,
                 "rule": verdict.rule, "text": verdict.reply_text, "decided_at_ms": verdict.decided_at_ms,
                 "status": ReplyStatus.PENDING.value, "attempts": 0}
        return Recorded(inbound_id, decision, tx.rows(self._sql.insert_reply, reply)[0][0])
