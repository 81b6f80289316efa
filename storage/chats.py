"""`ChatStore`: chat pauses, and the reads the dashboard makes of chats (history, inbox, counters, rule hits)."""

from __future__ import annotations

from sqlalchemy import bindparam, func
from sqlmodel import select

from storage.database import Database
from storage.models import ChatLine, ChatPause, InboundMessage, Reply, ReplyStatus


class ChatStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._sql = db.sql

    # -- pauses --------------------------------------------------------------------------------------------------

    def pause(self, account_id: str, cid: str, until_ms: int, reason: str = "") -> None:
        """Pause automatic replies in a chat until `until_ms`, replacing any earlier pause."""
        params = {"account_id": account_id, "cid": cid, "until_ms": until_ms, "reason": reason}
        self._db.fast.run(lambda tx: tx.run(self._sql.pause_chat, params))

    def resume(self, account_id: str, cid: str) -> bool:
        """End a chat's pause now; False when there was none."""
        with self._db.write() as conn:
            return conn.execute(self._sql.resume_chat, {"acc": account_id, "chat": cid}).rowcount > 0

    def pauses(self, now_ms: int, account_id: str | None = None) -> list[ChatPause]:
        """Pauses still running at `now_ms`, the soonest to end first."""
        query = select(ChatPause).where(ChatPause.until_ms > now_ms)
        if account_id is not None:
            query = query.where(ChatPause.account_id == account_id)
        with self._db.read() as session:
            return list(session.exec(query.order_by(ChatPause.until_ms, ChatPause.account_id, ChatPause.cid)))

    # -- what the dashboard reads ---------------------------------------------------------------------------------

    def history(self, account_id: str, cid: str, limit: int = 200) -> list[ChatLine]:
        """The last `limit` lines of one chat, stored messages and replies merged, oldest first. Core statements
        built once (every AI reply reads its chat: an ORM session cost three times as much)."""
        params = {"acc": account_id, "chat": cid, "limit": limit}
        with self._db.transaction() as conn:
            lines = [ChatLine(row.received_at_ms, "in", row.text, row.sender_id, row.sender_nick, row.rule,
                              row.decision, row.id) for row in conn.execute(_HISTORY_IN, params)]
            lines += [ChatLine(row.decided_at_ms, "out", row.text, None, None, row.rule, row.status, row.id)
                      for row in conn.execute(_HISTORY_OUT, params)]
        # At the same millisecond the message comes before the reply it caused.
        lines.sort(key=lambda line: (line.at_ms, line.direction == "out", line.row_id))
        return lines[-limit:]

    def inbox(self, kind: str, account_id: str | None = None,
              limit: int = 200) -> list[tuple[InboundMessage, Reply | None]]:
        """The latest messages of `kind` (the buyers'), newest first, each with the reply that answered it."""
        query = select(InboundMessage).where(InboundMessage.kind == kind)
        if account_id is not None:
            query = query.where(InboundMessage.account_id == account_id)
        query = query.order_by(InboundMessage.received_at_ms.desc(), InboundMessage.id.desc()).limit(limit)
        with self._db.read() as session:
            messages = list(session.exec(query))
            ids = [m.id for m in messages]
            replies = ({r.inbound_id: r for r in session.exec(select(Reply).where(Reply.inbound_id.in_(ids)))}
                       if ids else {})
        return [(m, replies.get(m.id)) for m in messages]

    def counters_by_account(self, kind: str, since_ms: int) -> dict[str, tuple[int, int]]:
        """(messages of `kind` received, replies sent) per account since `since_ms`, in two grouped queries. A
        reply counts by its decision time (indexed), which precedes its send by the send's latency."""
        messages = (select(InboundMessage.account_id, func.count())
                    .where(InboundMessage.received_at_ms >= since_ms, InboundMessage.kind == kind)
                    .group_by(InboundMessage.account_id))
        replies = (select(Reply.account_id, func.count())
                   .where(Reply.decided_at_ms >= since_ms, Reply.status == ReplyStatus.SENT)
                   .group_by(Reply.account_id))
        with self._db.read() as session:
            received = dict(session.exec(messages).all())
            sent = dict(session.exec(replies).all())
        return {account: (received.get(account, 0), sent.get(account, 0)) for account in received.keys() | sent}

    def rule_hits(self, account_id: str, since_ms: int = 0) -> dict[str, int]:
        """How many replies each rule sent for one account since `since_ms`."""
        query = (select(Reply.rule, func.count())
                 .where(Reply.account_id == account_id, Reply.decided_at_ms >= since_ms,
                        Reply.status == ReplyStatus.SENT)
                 .group_by(Reply.rule))
        with self._db.read() as session:
            return dict(session.exec(query).all())


_IN = InboundMessage.__table__.c  # type: ignore[attr-defined]
_OUT = Reply.__table__.c  # type: ignore[attr-defined]
_HISTORY_IN = (select(_IN.id, _IN.received_at_ms, _IN.text, _IN.sender_id, _IN.sender_nick, _IN.rule, _IN.decision)
               .where(_IN.account_id == bindparam("acc"), _IN.cid == bindparam("chat"))
               .order_by(_IN.received_at_ms.desc(), _IN.id.desc()).limit(bindparam("limit")))
_HISTORY_OUT = (select(_OUT.id, _OUT.decided_at_ms, _OUT.text, _OUT.rule, _OUT.status)
                .where(_OUT.account_id == bindparam("acc"), _OUT.cid == bindparam("chat"))
                .order_by(_OUT.decided_at_ms.desc(), _OUT.id.desc()).limit(bindparam("limit")))
