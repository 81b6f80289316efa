"""The per-message statements, built once per dialect and executed with parameter dicts.

Building a SQLAlchemy statement costs more than running it on SQLite (about 230 µs against 100 µs for
`mark_seen`), and the pipeline runs half a dozen per message at up to 200 messages/s. So the hot path's statements
are built here once, with bind parameters, and the stores only supply values. Dashboard queries with optional
filters are rare and are still built per call in their store.

Parameter names: an INSERT takes its columns by name; an UPDATE sets the columns named in the parameters, and
finds its row by `row_id`. Other parameters have names that are not column names (`acc`, `chat`, `now`, …),
because SQLAlchemy reserves column names for the SET/VALUES clause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sqlalchemy import Delete, Insert, Table, Update, bindparam, delete, insert, update
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import ChatPause, InboundMessage, ItemCache, Reply, ReplyOnce, ReplyStatus, SeenMessage

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert


def table_of(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def upsert_into(dialect: str, model: type[SQLModel]) -> SqliteInsert | PgInsert:
    """An INSERT that accepts ON CONFLICT clauses: both dialects spell them alike, but in their own classes."""
    if dialect == "sqlite":
        return sqlite_insert(table_of(model))
    # Imported only for a PostgreSQL database: the dialect's modules cost a SQLite run ~3 MiB for nothing.
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    return pg_insert(table_of(model))


@dataclass(frozen=True, slots=True)
class Statements:
    # Writes that return a row only when they wrote it: first sight / first claim.
    mark_seen: Insert  # account_id, message_id, seen_at_ms, expires_at_ms
    claim_once: Insert  # account_id, cid, rule, at_ms
    # Inserts returning the new id.
    insert_inbound: Insert
    insert_reply: Insert
    # Updates by row_id.
    set_decision: Update  # decision, rule, decided_at_ms
    mark_reply: Update  # status, sent_at_ms, error, attempts
    find_reply: SelectOfScalar[Reply]  # acc, chat, body, not_before (see ReplyStore.find_ours)
    pause_chat: Insert  # account_id, cid, until_ms, reason
    resume_chat: Delete  # acc, chat
    put_item: Insert  # item_id, title, price, desc, quantity, fetched_at_ms

    @classmethod
    def build(cls, dialect: str) -> Statements:
        seen = upsert_into(dialect, SeenMessage)
        once = upsert_into(dialect, ReplyOnce)
        pause = upsert_into(dialect, ChatPause)
        item = upsert_into(dialect, ItemCache)
        inbound, reply, pauses = table_of(InboundMessage), table_of(Reply), table_of(ChatPause)
        reply_by_id = update(reply).where(reply.c.id == bindparam("row_id"))
        return cls(
            # An expired mark is refreshed by the same statement, and only then is a row written (and returned).
            mark_seen=seen.on_conflict_do_update(
                index_elements=["account_id", "message_id"],
                set_={"seen_at_ms": seen.excluded.seen_at_ms, "expires_at_ms": seen.excluded.expires_at_ms},
                where=seen.table.c.expires_at_ms <= seen.excluded.seen_at_ms,
            ).returning(seen.table.c.account_id),
            claim_once=once.on_conflict_do_nothing().returning(once.table.c.account_id),
            insert_inbound=insert(inbound).returning(inbound.c.id),
            insert_reply=insert(reply).returning(reply.c.id),
            set_decision=update(inbound).where(inbound.c.id == bindparam("row_id")),
            mark_reply=reply_by_id,
            find_reply=select(Reply)
            .where(
                Reply.account_id == bindparam("acc"),
                Reply.cid == bindparam("chat"),
                Reply.decided_at_ms >= bindparam("not_before"),
                Reply.text == bindparam("body"),
                Reply.status.in_([ReplyStatus.PENDING.value, ReplyStatus.SENT.value]),
            )
            .order_by(Reply.decided_at_ms, Reply.id)
            .limit(1),
            pause_chat=pause.on_conflict_do_update(
                index_elements=["account_id", "cid"],
                set_={"until_ms": pause.excluded.until_ms, "reason": pause.excluded.reason},
            ),
            resume_chat=delete(pauses).where(
                pauses.c.account_id == bindparam("acc"), pauses.c.cid == bindparam("chat")
            ),
            put_item=item.on_conflict_do_update(
                index_elements=["item_id"],
                set_={
                    name: item.excluded[name]
                    for name in ("title", "price", "desc", "quantity", "fetched_at_ms")
                },
            ),
        )
