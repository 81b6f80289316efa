"""`ReplyStore`: every message sent (or about to be sent) on the seller's behalf, and the hand-typed ones.

A reply row is written *pending* before its send (with the buyer message's decision, by `MessageStore`, or here
for a reply that answers no stored message), so the echo the platform pushes back finds it; `mark` and
`mark_sent` record the outcome. Its status lifecycle (`ReplyStatus`) is the row's own.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from storage.database import Database
from storage.models import Reply, ReplyStatus


class ReplyStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._sql = db.sql

    def add(self, *, account_id: str, cid: str, to_id: str, rule: str, text: str, decided_at_ms: int,
            status: ReplyStatus = ReplyStatus.PENDING, sent_at_ms: int | None = None) -> int:
        """Store a reply that answers no stored buyer message — one typed in the dashboard (pending, to send) or
        on the seller's phone (`MANUAL`, already sent: for the chat history); returns its id."""
        params = {"account_id": account_id, "cid": cid, "to_id": to_id, "inbound_id": None, "rule": rule,
                  "text": text, "decided_at_ms": decided_at_ms, "sent_at_ms": sent_at_ms,
                  "status": ReplyStatus(status).value, "attempts": 0}
        return self._db.fast.run(lambda tx: tx.rows(self._sql.insert_reply, params)[0][0])

    def mark(self, reply_id: int, status: ReplyStatus, *, attempts: int, sent_at_ms: int | None = None,
             error: str | None = None) -> None:
        """Record a send's outcome after `attempts` tries."""
        params = {"row_id": reply_id, "status": ReplyStatus(status).value, "sent_at_ms": sent_at_ms,
                  "error": error, "attempts": attempts}
        self._db.fast.run(lambda tx: tx.run(self._sql.mark_reply, params))

    def mark_sent(self, rows: list[tuple[int, int, int]]) -> None:
        """Many (reply id, sent_at_ms, attempts) "sent" outcomes in one transaction."""
        params = [{"row_id": reply_id, "status": ReplyStatus.SENT.value, "sent_at_ms": sent_at_ms,
                   "error": None, "attempts": attempts} for reply_id, sent_at_ms, attempts in rows]
        self._db.fast.run(lambda tx: tx.many(self._sql.mark_reply, params))

    def unsent(self, account_id: str, decided_before_ms: int, limit: int = 500) -> list[Reply]:
        """Replies still pending that were decided before `decided_before_ms` (by an earlier run: this one
        settles its own), oldest first."""
        query = (select(Reply)
                 .where(Reply.status == ReplyStatus.PENDING, Reply.account_id == account_id,
                        Reply.decided_at_ms < decided_before_ms)
                 .order_by(Reply.decided_at_ms, Reply.id).limit(limit))
        with self._db.read() as session:
            return list(session.exec(query))

    def find_ours(self, account_id: str, cid: str, text: str, not_before_ms: int) -> Reply | None:
        """The oldest pending-or-sent reply in this chat with exactly this text, decided at `not_before_ms` or
        later, or None. A pure read, so a re-pushed echo finds its reply again."""
        params = {"acc": account_id, "chat": cid, "body": text, "not_before": not_before_ms}
        with self._db.read() as session:
            return session.exec(self._sql.find_reply, params=params).first()

    def last_by_hand_ms(self, account_id: str, cid: str, rule: str) -> int | None:
        """When the seller last wrote in this chat themselves: on the phone (status manual) or in the dashboard
        (`rule`, core's name for typed replies); None if never."""
        query = select(func.max(Reply.decided_at_ms)).where(
            Reply.account_id == account_id, Reply.cid == cid,
            (Reply.status == ReplyStatus.MANUAL) | (Reply.rule == rule))  # type: ignore[arg-type]
        with self._db.read() as session:
            return session.exec(query).first()
