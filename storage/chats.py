"""`ChatStore`: chat pauses, and the reads the dashboard makes of chats (history, inbox, counters, rule hits)."""

from __future__ import annotations

from sqlalchemy import func
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
        """The last `limit` lines of one chat, stored messages and replies merged, oldest first."""
        inbound = (select(InboundMessage)
                   .where(InboundMessage.account_id == account_id, InboundMessage.cid == cid)
                   .order_by(InboundMessage.received_at_ms.desc(), InboundMessage.id.desc()).limit(limit))
        replies = (select(Reply).where(Reply.account_id == account_id, Reply.cid == cid)
                   .order_by(Reply.decided_at_ms.desc(), Reply.id.desc()).limit(limit))
        with self._db.read() as session:
            lines = [_inbound_line(m) for m in session.exec(inbound)]
            lines += [_reply_line(r) for r in session.exec(replies)]
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


def _inbound_line(message: InboundMessage) -> ChatLine:
    assert message.id is not None  # loaded rows always have their id
    return ChatLine(at_ms=message.received_at_ms, direction="in", text=message.text, sender_id=message.sender_id,
                    sender_nick=message.sender_nick, rule=message.rule, status=message.decision, row_id=message.id)


def _reply_line(reply: Reply) -> ChatLine:
    assert reply.id is not None  # loaded rows always have their id
    return ChatLine(at_ms=reply.decided_at_ms, direction="out", text=reply.text, sender_id=None, sender_nick=None,
                    rule=reply.rule, status=reply.status, row_id=reply.id)
