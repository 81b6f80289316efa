"""`NoticeStore`: what notifications keep — the incidents (one open per account and cause) and the durable outbox
of messages per channel. Each method is one short transaction; core/notify decides what is said and when."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select

from storage.database import Database
from storage.models import DeliveryUnit, InboundMessage, NotifyIncident, NotifyMessage, OrderRecord, Reply
from storage.statements import upsert_into


class NoticeStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- incidents -------------------------------------------------------------------------------------------------

    def open_incident(self, incident: NotifyIncident) -> int | None:
        """Open *incident* (its ``cause`` becomes ``open_cause``); its id, or None when one for the same account
        and cause is open already (nothing written)."""
        values = incident.model_dump(exclude={"id"}) | {"open_cause": incident.cause}
        statement = upsert_into(self._db.dialect, NotifyIncident).values(values).on_conflict_do_nothing()
        with self._db.write() as conn:
            result = conn.execute(statement.returning(NotifyIncident.__table__.c.id))  # type: ignore[attr-defined]
            row = result.first()
        return int(row[0]) if row is not None else None

    def open_incidents(self, account_id: str | None = None) -> list[NotifyIncident]:
        query = select(NotifyIncident).where(col(NotifyIncident.open_cause).is_not(None))
        if account_id is not None:
            query = query.where(NotifyIncident.account_id == account_id)
        with self._db.read() as session:
            return list(session.exec(query.order_by(col(NotifyIncident.id))))

    def incident(self, incident_id: int) -> NotifyIncident | None:
        with self._db.read() as session:
            return session.get(NotifyIncident, incident_id)

    def change_incident(self, incident_id: int, **changes: Any) -> None:
        """Update one incident; ``closed_at_ms`` given closes it (its cause may open again)."""
        if changes.get("closed_at_ms") is not None:
            changes["open_cause"] = None
        with self._db.write() as conn:
            conn.execute(update(NotifyIncident).where(col(NotifyIncident.id) == incident_id).values(changes))

    def due_incidents(self, now_ms: int) -> list[NotifyIncident]:
        """Incidents with something to say whose time has come, oldest first."""
        query = (select(NotifyIncident).where(NotifyIncident.due != "", col(NotifyIncident.due_at_ms) <= now_ms)
                 .order_by(col(NotifyIncident.due_at_ms)))
        with self._db.read() as session:
            return list(session.exec(query))

    def waiting(self, kind: str, due: str) -> list[NotifyIncident]:
        """Every incident of *kind* with *due* to say, due or not yet: the members of one grouped message."""
        query = select(NotifyIncident).where(NotifyIncident.kind == kind, NotifyIncident.due == due)
        with self._db.read() as session:
            return list(session.exec(query.order_by(col(NotifyIncident.id))))

    def announce(self, messages: Sequence[dict[str, Any]], changes: Sequence[tuple[int, dict[str, Any]]]) -> int:
        """In ONE transaction: write *messages* to the outbox (a (channel, key) already there is skipped) and apply
        the incidents' *changes* (what was said is no longer due). Returns the messages written."""
        written = 0
        with self._db.write() as conn:
            if messages:
                table = NotifyMessage.__table__  # type: ignore[attr-defined]
                statement = upsert_into(self._db.dialect, NotifyMessage).on_conflict_do_nothing()
                for message in messages:  # RETURNING: PostgreSQL's rowcount says nothing here
                    written += conn.execute(statement.values(message).returning(table.c.id)).first() is not None
            for incident_id, values in changes:
                if values.get("closed_at_ms") is not None:
                    values = {**values, "open_cause": None}
                conn.execute(update(NotifyIncident).where(col(NotifyIncident.id) == incident_id).values(values))
        return written

    # -- the outbox ------------------------------------------------------------------------------------------------

    def due_messages(self, channel: str, now_ms: int, limit: int = 20) -> list[NotifyMessage]:
        query = (select(NotifyMessage)
                 .where(NotifyMessage.channel == channel, NotifyMessage.state == "pending",
                        col(NotifyMessage.next_at_ms) <= now_ms)
                 .order_by(col(NotifyMessage.next_at_ms), col(NotifyMessage.id)).limit(limit))
        with self._db.read() as session:
            return list(session.exec(query))

    def next_due(self, channel: str) -> int | None:
        """When the channel's next pending message is due (epoch ms), None when nothing is pending."""
        query = select(func.min(NotifyMessage.next_at_ms)).where(NotifyMessage.channel == channel,
                                                                  NotifyMessage.state == "pending")
        with self._db.read() as session:
            return session.exec(query).one()

    def claim_message(self, message_id: int) -> bool:
        """pending → sending, for one sender only (False: another took it, or it is no longer pending)."""
        statement = (update(NotifyMessage).where(col(NotifyMessage.id) == message_id, NotifyMessage.state == "pending")
                     .values(state="sending"))
        with self._db.write() as conn:
            return conn.execute(statement).rowcount == 1

    def unclaim_all(self) -> int:
        """At a start: what a killed run was sending goes back to pending (sent again: at least once)."""
        statement = update(NotifyMessage).where(NotifyMessage.state == "sending").values(state="pending")
        with self._db.write() as conn:
            return conn.execute(statement).rowcount

    def change_message(self, message_id: int, **changes: Any) -> None:
        with self._db.write() as conn:
            conn.execute(update(NotifyMessage).where(col(NotifyMessage.id) == message_id).values(changes))

    def recent_messages(self, limit: int = 100) -> list[NotifyMessage]:
        query = select(NotifyMessage).order_by(col(NotifyMessage.id).desc()).limit(limit)
        with self._db.read() as session:
            return list(session.exec(query))

    def has_message(self, channel: str, key: str) -> bool:
        query = select(NotifyMessage.id).where(NotifyMessage.channel == channel, NotifyMessage.key == key)
        with self._db.read() as session:
            return session.exec(query).first() is not None

    # -- the day in numbers ----------------------------------------------------------------------------------------

    def day_counts(self, since_ms: int, until_ms: int) -> dict[str, dict[str, int]]:
        """account → {messages, replies, failed_replies, orders, deliveries, failed_deliveries} in [since, until)."""
        counts: dict[str, dict[str, int]] = {}

        def add(name: str, rows: Any) -> None:
            for account_id, count in rows:
                counts.setdefault(account_id, {})[name] = int(count)

        def between(column: Any) -> Any:
            return (col(column) >= since_ms) & (col(column) < until_ms)

        with self._db.read() as session:
            add("messages", session.exec(
                select(InboundMessage.account_id, func.count()).where(
                    InboundMessage.kind == "chat", between(InboundMessage.received_at_ms))
                .group_by(InboundMessage.account_id)))
            for name, status in (("replies", "sent"), ("failed_replies", "failed")):
                add(name, session.exec(
                    select(Reply.account_id, func.count()).where(
                        Reply.status == status, between(Reply.decided_at_ms)).group_by(Reply.account_id)))
            add("orders", session.exec(
                select(OrderRecord.account_id, func.count()).where(
                    between(OrderRecord.created_at_ms), col(OrderRecord.status) != "unpaid")
                .group_by(OrderRecord.account_id)))
            add("failed_deliveries", session.exec(
                select(OrderRecord.account_id, func.count()).where(
                    OrderRecord.delivery_state == "failed", between(OrderRecord.updated_at_ms))
                .group_by(OrderRecord.account_id)))
            add("deliveries", session.exec(
                select(DeliveryUnit.account_id, func.count()).where(
                    DeliveryUnit.state == "sent", between(DeliveryUnit.sent_at_ms))
                .group_by(DeliveryUnit.account_id)))
        return counts
