"""`Store`: every query the service makes, as plain methods.

Each method is one short transaction on a pooled connection, so any thread may call any method at any time; rows
come back detached (readable after the transaction ended).

Writes are Core statements, prebuilt for the per-message path (`statements.py`), one statement wherever the
outcome must be atomic: an ORM flush costs several times as much, and the pipeline makes half a dozen writes per
message at up to 200 messages/s. Reads load models through a Session, which builds them faster than constructing
them by hand.

Claims with exactly one winner — `mark_seen`, `claim_once` — are one INSERT … ON CONFLICT decided by the primary
key, hence atomic across threads and processes on SQLite and PostgreSQL alike.

Errors: `DatabaseUnavailable` when the database cannot be reached or stayed locked, `StorageError` for any other
database failure. Wrong arguments (an unknown field, an unknown reply status) raise TypeError / ValueError.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Executable, bindparam, case, delete, func, tuple_, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from storage.driver import DriverTx, DriverWriter
from storage.engine import for_writes, open_engine, reason_of
from storage.errors import DatabaseUnavailable, StorageError, mask_url
from storage.models import (
    AccountState,
    ChatLine,
    ChatPause,
    Decided,
    InboundMessage,
    ItemCache,
    Reply,
    ReplyStatus,
    SeenMessage,
    Verdict,
)
from storage.orders import OrderStore
from storage.statements import Statements, upsert_into

# How long after its decision a pending or sent reply can still explain an echo. Echoes come within seconds of
# the send, but sends are retried with delays; a longer window would take more hand-typed repeats for echoes.
ECHO_WINDOW_MS = 2 * 60_000
# How often the WAL is folded into the database file (engine.py turns automatic checkpoints off).
CHECKPOINT_SECONDS = 2.0
# Cleanup deletes in chunks of this many rows, one transaction each, so SQLite's single write lock is never held
# long enough to make message handling wait (a day of 200 messages/s is 17 million rows).
_CLEANUP_CHUNK = 5_000
_ACCOUNT_FIELDS = frozenset(AccountState.model_fields) - {"account_id"}
_ATTEMPT_STATUSES = frozenset({ReplyStatus.SENT, ReplyStatus.FAILED})


log = logging.getLogger(__name__)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Store:
    """The service's database. `Store(url)` opens (and if needed creates) it; `close()` releases it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = open_engine(url)
        self._writer = for_writes(self._engine)
        self._dialect = self._engine.dialect.name
        self._sql = Statements.build(self._dialect)
        self._write_gate: AbstractContextManager[object] = (
            threading.Lock() if self._dialect == "sqlite" else contextlib.nullcontext())
        self._closed = threading.Event()
        # The per-message statements run on the driver (see driver.py): far less time holding the write lock.
        self._fast = DriverWriter(self._engine, self._write_gate, url)
        # Orders, deliveries and stock keep their SQL in storage/orders.py, on this store's transactions.
        self.orders = OrderStore(self._write, lambda: self._transaction(self._engine), self._dialect)
        if self._dialect == "sqlite":
            threading.Thread(target=self._checkpoints, name="sqlite-checkpoint", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._fast.close()
        if self._dialect == "sqlite":
            self._checkpoint("TRUNCATE")  # leave a small WAL behind
        self._engine.dispose()

    def _checkpoints(self) -> None:
        """Fold the WAL into the database every few seconds, off the writers' path (see engine.py)."""
        while not self._closed.wait(CHECKPOINT_SECONDS):
            self._checkpoint("PASSIVE")

    def _checkpoint(self, mode: str) -> None:
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")
        except DBAPIError as exc:  # a busy or closed database: the next round tries again
            log.debug("checkpoint %s skipped: %s", mode, reason_of(exc))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({mask_url(self.url)!r})"

    # -- transactions -------------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, bind: Engine) -> Iterator[Connection]:
        try:
            with bind.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise DatabaseUnavailable(self.url, reason_of(exc)) from exc
        except DBAPIError as exc:
            raise StorageError(f"{mask_url(self.url)}: {reason_of(exc)}") from exc

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._transaction(self._engine) as conn, Session(conn, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        # SQLite has one writer at a time; a thread that loses the race sleeps in SQLite's busy handler in
        # 1, 2, 5, 10 … ms steps, which is where tail latency came from. Queueing this process's writers on
        # a lock instead wakes the next one the moment the last commits (busy_timeout still arbitrates
        # between processes). PostgreSQL needs no such thing.
        with self._write_gate, self._transaction(self._writer) as conn:
            yield conn

    def _execute(self, stmt: Executable, params: Mapping[str, Any]) -> None:
        self._fast.run(lambda tx: tx.run(stmt, params))

    def _returns_row(self, stmt: Executable, params: Mapping[str, Any]) -> bool:
        """Run a write with RETURNING: True when it wrote (and so returned) a row."""
        # RETURNING rather than rowcount: not every driver promises an INSERT's rowcount (psycopg reports -1),
        # while a row returned is exactly "this statement wrote it".
        return self._fast.run(lambda tx: bool(tx.rows(stmt, params)))

    def _insert_returning_id(self, stmt: Executable, params: Mapping[str, Any]) -> int:
        return self._fast.run(lambda tx: tx.rows(stmt, params)[0][0])

    # -- accounts ----------------------------------------------------------------------------------------------

    def get_account_state(self, account_id: str) -> AccountState | None:
        with self._read() as session:
            return session.get(AccountState, account_id)

    def list_account_states(self) -> list[AccountState]:
        with self._read() as session:
            return list(session.exec(select(AccountState).order_by(AccountState.account_id)))

    def upsert_account_state(self, account_id: str, **fields: Any) -> AccountState:
        """Set the given fields, creating the row (other fields at their defaults) when missing; return the row.

        `updated_at_ms` defaults to now. `state_since_ms` defaults to now too, but only when `state` changes:
        writing the current state again keeps the moment it was entered.
        """
        unknown = fields.keys() - _ACCOUNT_FIELDS
        if unknown:
            raise TypeError(f"unknown AccountState fields: {', '.join(sorted(unknown))}")
        fields.setdefault("updated_at_ms", _now_ms())
        new_row = AccountState(account_id=account_id, **{"state_since_ms": fields["updated_at_ms"], **fields})
        stmt = upsert_into(self._dialect, AccountState).values(new_row.model_dump())
        table = stmt.table
        changes: dict[str, Any] = {name: stmt.excluded[name] for name in fields}
        if "state" in fields and "state_since_ms" not in fields:
            changes["state_since_ms"] = case(
                (table.c.state == stmt.excluded.state, table.c.state_since_ms),
                else_=stmt.excluded.state_since_ms,
            )
        # One statement, so two threads creating the same account cannot collide on the primary key.
        stmt = stmt.on_conflict_do_update(index_elements=["account_id"], set_=changes)
        with self._write() as conn:
            row = conn.execute(stmt.returning(*table.c)).one()
        return AccountState(**row._mapping)

    def save_progress(self, rows: list[dict[str, Any]]) -> None:
        """Many accounts' ``sync_pts``/``state``/``state_since_ms``/``last_error`` in ONE transaction: the
        periodic save must not hold the write lock a hundred times over while replies wait for it."""
        if not rows:
            return
        table = AccountState.__table__  # type: ignore[attr-defined]
        stmt = update(table).where(table.c.account_id == bindparam("row_id"))
        now = _now_ms()
        with self._write() as conn:
            conn.execute(stmt, [{"row_id": r["account_id"], "sync_pts": r["sync_pts"], "state": r["state"],
                                 "state_since_ms": r["state_since_ms"], "last_error": r["last_error"],
                                 "updated_at_ms": now} for r in rows])

    # -- deduplication and once-only claims -----------------------------------------------------------------------

    def mark_seen(self, account_id: str, message_id: str, ttl_ms: int, now_ms: int) -> bool:
        """True for the first sight of this message (or the first since its mark expired), False for a repeat."""
        params = {"account_id": account_id, "message_id": message_id, "seen_at_ms": now_ms}
        return self._returns_row(self._sql.mark_seen, params | {"expires_at_ms": now_ms + ttl_ms})

    def claim_once(self, account_id: str, cid: str, rule: str, now_ms: int) -> bool:
        """True for the first caller only: this chat gets this `once` reply now, and never again."""
        params = {"account_id": account_id, "cid": cid, "rule": rule, "at_ms": now_ms}
        return self._returns_row(self._sql.claim_once, params)

    # -- inbound messages ----------------------------------------------------------------------------------------

    def record_inbound(self, **fields: Any) -> int:
        """Store a pushed message before deciding on it; returns its id for `set_decision`.

        Fields: account_id, cid, message_id, kind, created_at_ms, received_at_ms, and optionally text,
        sender_id, sender_nick, item_id."""
        return self._insert_returning_id(self._sql.insert_inbound, _inbound_params(**fields))

    def accept_inbound(self, *, ttl_ms: int, verdict: Verdict | None = None, **fields: Any) -> Decided | None:
        """Dedupe, store and (given a verdict) decide in ONE transaction — the per-message hot path, where
        every write transaction is a turn at SQLite's single write lock. None when this message id was
        already seen; a message without an id is always recorded. Without a verdict the message stays
        undecided, for a later `decide`."""
        params = _inbound_params(**fields)
        account_id, cid = params["account_id"], params["cid"]

        def accept(tx: DriverTx) -> Decided | None:
            if params["message_id"]:
                seen = {"account_id": account_id, "message_id": params["message_id"],
                        "seen_at_ms": params["received_at_ms"], "expires_at_ms": params["received_at_ms"] + ttl_ms}
                if not tx.rows(self._sql.mark_seen, seen):
                    return None
            if verdict is None:
                return Decided(tx.rows(self._sql.insert_inbound, params)[0][0], None)
            decision = self._claim(tx, account_id, cid, verdict)
            decided = {"decision": decision, "rule": verdict.rule, "decided_at_ms": verdict.decided_at_ms}
            inbound_id = tx.rows(self._sql.insert_inbound, params | decided)[0][0]
            return self._reply_for(tx, inbound_id, account_id, cid, verdict, decision)

        return self._fast.run(accept)

    def decide(self, inbound_id: int, account_id: str, cid: str, verdict: Verdict) -> Decided:
        """Record a verdict for a message recorded earlier (after a debounce, or by a previous run)."""
        def apply(tx: DriverTx) -> Decided:
            decision = self._claim(tx, account_id, cid, verdict)
            tx.run(self._sql.set_decision, {"row_id": inbound_id, "decision": decision, "rule": verdict.rule,
                                            "decided_at_ms": verdict.decided_at_ms})
            return self._reply_for(tx, inbound_id, account_id, cid, verdict, decision)

        return self._fast.run(apply)

    def _claim(self, tx: DriverTx, account_id: str, cid: str, verdict: Verdict) -> str:
        """The verdict's decision, or "once_already" when its once-per-chat rule has answered this chat before."""
        if not verdict.once:
            return verdict.decision
        claim = {"account_id": account_id, "cid": cid, "rule": verdict.rule, "at_ms": verdict.decided_at_ms}
        return verdict.decision if tx.rows(self._sql.claim_once, claim) else "once_already"

    def _reply_for(self, tx: DriverTx, inbound_id: int, account_id: str, cid: str, verdict: Verdict,
                   decision: str) -> Decided:
        """The pending reply row of a "replied" decision, to send."""
        if decision != "replied" or verdict.reply_text is None:
            return Decided(inbound_id, decision)
        reply = {"account_id": account_id, "cid": cid, "to_id": verdict.to_id, "inbound_id": inbound_id,
                 "rule": verdict.rule, "text": verdict.reply_text, "decided_at_ms": verdict.decided_at_ms,
                 "status": ReplyStatus.PENDING.value, "attempts": 0}
        return Decided(inbound_id, decision, tx.rows(self._sql.insert_reply, reply)[0][0])

    def set_decision(self, inbound_id: int, decision: str, rule: str | None, decided_at_ms: int) -> None:
        params = {"row_id": inbound_id, "decision": decision, "rule": rule, "decided_at_ms": decided_at_ms}
        self._execute(self._sql.set_decision, params)

    def undecided_chats(self, account_id: str, since_ms: int, limit: int = 500) -> list[InboundMessage]:
        """Buyer messages recorded but never decided on (the process stopped in between), oldest first."""
        query = (select(InboundMessage)
                 .where(InboundMessage.account_id == account_id, InboundMessage.kind == "chat",
                        InboundMessage.decision.is_(None), InboundMessage.received_at_ms >= since_ms)
                 .order_by(InboundMessage.received_at_ms, InboundMessage.id).limit(limit))
        with self._read() as session:
            return list(session.exec(query))

    def recent_messages(
        self, account_id: str | None = None, cid: str | None = None, limit: int = 100
    ) -> list[InboundMessage]:
        """The latest inbound messages, newest first, optionally of one account and/or one chat."""
        query = select(InboundMessage)
        if account_id is not None:
            query = query.where(InboundMessage.account_id == account_id)
        if cid is not None:
            query = query.where(InboundMessage.cid == cid)
        query = query.order_by(InboundMessage.received_at_ms.desc(), InboundMessage.id.desc()).limit(limit)
        with self._read() as session:
            return list(session.exec(query))

    # -- replies -------------------------------------------------------------------------------------------------

    def add_reply(self, *, account_id: str, cid: str, to_id: str, rule: str, text: str, decided_at_ms: int) -> int:
        """Record a reply that answers no recorded message (the seller's send from the dashboard), pending;
        returns its id for `mark_reply`. Replies to buyer messages are recorded by `accept_inbound`/`decide`."""
        params = {"account_id": account_id, "cid": cid, "to_id": to_id, "inbound_id": None, "rule": rule,
                  "text": text, "decided_at_ms": decided_at_ms, "status": ReplyStatus.PENDING.value, "attempts": 0}
        return self._insert_returning_id(self._sql.insert_reply, params)

    def record_manual_reply(
        self, *, account_id: str, cid: str, text: str, at_ms: int, to_id: str = ""
    ) -> int:
        """Record what the seller typed by hand (an echo no pending reply explains), for the chat history.

        `to_id` may be left empty: the echo of a hand-typed message need not name the buyer.
        """
        params = {
            "account_id": account_id,
            "cid": cid,
            "to_id": to_id,
            "rule": "manual",
            "text": text,
            "decided_at_ms": at_ms,
            "sent_at_ms": at_ms,
            "status": ReplyStatus.MANUAL.value,
            "attempts": 0,
        }
        return self._insert_returning_id(self._sql.insert_reply, params)

    def mark_reply(
        self,
        reply_id: int,
        status: str,
        sent_at_ms: int | None = None,
        error: str | None = None,
        attempts: int | None = None,
    ) -> None:
        """Record a send's outcome.

        `attempts` is the total number of sends tried, for a caller that retries before recording; without it,
        a "sent" or "failed" outcome counts one attempt more.
        """
        checked = ReplyStatus(status)  # ValueError on a typo, before it reaches the table
        params = {"row_id": reply_id, "status": checked.value, "sent_at_ms": sent_at_ms, "error": error}
        if attempts is not None:
            self._execute(self._sql.mark_reply, params | {"attempts": attempts})
        elif checked in _ATTEMPT_STATUSES:
            self._execute(self._sql.mark_reply_attempt, params)
        else:
            self._execute(self._sql.mark_reply, params)

    def mark_replies_sent(self, rows: list[tuple[int, int, int]]) -> None:
        """Many (reply id, sent_at_ms, attempts) "sent" outcomes in one transaction."""
        params = [{"row_id": reply_id, "status": ReplyStatus.SENT.value, "sent_at_ms": sent_at_ms,
                   "error": None, "attempts": attempts} for reply_id, sent_at_ms, attempts in rows]
        self._fast.run(lambda tx: tx.many(self._sql.mark_reply, params))

    def find_pending_reply(
        self,
        account_id: str,
        cid: str,
        text: str,
        now_ms: int | None = None,
        within_ms: int = ECHO_WINDOW_MS,
    ) -> Reply | None:
        """The oldest pending-or-sent reply with exactly this text decided within `within_ms`, or None.

        A pure read, so a re-pushed echo finds its reply again. The price: the seller typing by hand the very
        words of a recent automatic reply is taken for its echo.
        """
        now = _now_ms() if now_ms is None else now_ms
        params = {"acc": account_id, "chat": cid, "body": text, "not_before": now - within_ms}
        with self._read() as session:
            return session.exec(self._sql.find_reply, params=params).first()

    def counters_since(self, account_id: str | None, since_ms: int) -> tuple[int, int]:
        """(messages received, replies sent) since `since_ms`, for one account or (None) all of them.

        A reply counts by its decision time (indexed), which precedes its send by the send's latency.
        """
        messages = select(func.count()).where(InboundMessage.received_at_ms >= since_ms)
        replies = select(func.count()).where(
            Reply.decided_at_ms >= since_ms, Reply.status == ReplyStatus.SENT
        )
        if account_id is not None:
            messages = messages.where(InboundMessage.account_id == account_id)
            replies = replies.where(Reply.account_id == account_id)
        with self._read() as session:
            return session.exec(messages).one(), session.exec(replies).one()

    def chat_history(self, account_id: str, cid: str, limit: int = 200) -> list[ChatLine]:
        """The last `limit` lines of one chat, inbound and replies merged, oldest first."""
        inbound = (
            select(InboundMessage)
            .where(InboundMessage.account_id == account_id, InboundMessage.cid == cid)
            .order_by(InboundMessage.received_at_ms.desc(), InboundMessage.id.desc())
            .limit(limit)
        )
        replies = (
            select(Reply)
            .where(Reply.account_id == account_id, Reply.cid == cid)
            .order_by(Reply.decided_at_ms.desc(), Reply.id.desc())
            .limit(limit)
        )
        with self._read() as session:
            lines = [_inbound_line(m) for m in session.exec(inbound)]
            lines += [_reply_line(r) for r in session.exec(replies)]
        # At the same millisecond the message comes before the reply it caused.
        lines.sort(key=lambda line: (line.at_ms, line.direction == "out", line.row_id))
        return lines[-limit:]

    # -- chat pauses ---------------------------------------------------------------------------------------------

    def pause_chat(self, account_id: str, cid: str, until_ms: int, reason: str = "") -> None:
        """Pause automatic replies in a chat until `until_ms`, replacing any earlier pause."""
        params = {"account_id": account_id, "cid": cid, "until_ms": until_ms, "reason": reason}
        self._execute(self._sql.pause_chat, params)

    def paused_until(self, account_id: str, cid: str, now_ms: int) -> int | None:
        """When the chat's pause ends, or None when it is not paused at `now_ms`."""
        with self._transaction(self._engine) as conn:
            return conn.execute(
                self._sql.paused_until, {"acc": account_id, "chat": cid, "now": now_ms}
            ).scalar()

    def resume_chat(self, account_id: str, cid: str) -> bool:
        """End a chat's pause now; False when there was none."""
        with self._write() as conn:
            return conn.execute(self._sql.resume_chat, {"acc": account_id, "chat": cid}).rowcount > 0

    def list_pauses(self, now_ms: int, account_id: str | None = None) -> list[ChatPause]:
        """Pauses still running at `now_ms`, the soonest to end first."""
        query = select(ChatPause).where(ChatPause.until_ms > now_ms)
        if account_id is not None:
            query = query.where(ChatPause.account_id == account_id)
        with self._read() as session:
            return list(session.exec(query.order_by(ChatPause.until_ms, ChatPause.account_id, ChatPause.cid)))

    # -- item cache ----------------------------------------------------------------------------------------------

    def get_item(self, item_id: str) -> ItemCache | None:
        with self._read() as session:
            return session.get(ItemCache, item_id)

    def put_item(
        self,
        item_id: str,
        *,
        title: str,
        price: str,
        fetched_at_ms: int,
        desc: str = "",
        quantity: int | None = None,
    ) -> None:
        """Cache an item's details, replacing what was cached before."""
        params = {"item_id": item_id, "title": title, "price": price, "desc": desc, "quantity": quantity}
        self._execute(self._sql.put_item, params | {"fetched_at_ms": fetched_at_ms})

    # -- housekeeping --------------------------------------------------------------------------------------------

    def cleanup(self, now_ms: int, retention_ms: int) -> dict[str, int]:
        """Delete expired dedupe marks and pauses, and messages and replies older than `retention_ms`.

        Returns the rows deleted per table. Runs as several short transactions (see `_CLEANUP_CHUNK`).
        `once` claims are kept: once means once for the life of the chat.
        """
        cutoff = now_ms - retention_ms
        return {
            "seen_messages": self._delete_chunked(
                (SeenMessage.account_id, SeenMessage.message_id), SeenMessage.expires_at_ms <= now_ms
            ),
            "chat_pauses": self._delete_chunked(
                (ChatPause.account_id, ChatPause.cid), ChatPause.until_ms <= now_ms
            ),
            "inbound_messages": self._delete_chunked(
                (InboundMessage.id,), InboundMessage.received_at_ms < cutoff
            ),
            "replies": self._delete_chunked((Reply.id,), Reply.decided_at_ms < cutoff),
        }

    def _delete_chunked(self, key: tuple[Any, ...], condition: ColumnElement[bool]) -> int:
        table = key[0].table
        deleted = 0
        while True:
            victims = select(*key).where(condition).limit(_CLEANUP_CHUNK)
            with self._write() as conn:
                count = conn.execute(delete(table).where(tuple_(*key).in_(victims))).rowcount
            deleted += count
            if count < _CLEANUP_CHUNK:
                return deleted

    # -- dashboard reads (the TUI) -------------------------------------------------------------------------------

    def counters_by_account(self, since_ms: int) -> dict[str, tuple[int, int]]:
        """(buyer messages received, replies sent) per account since `since_ms`, in two grouped queries."""
        messages = (select(InboundMessage.account_id, func.count())
                    .where(InboundMessage.received_at_ms >= since_ms, InboundMessage.kind == "chat")
                    .group_by(InboundMessage.account_id))
        replies = (select(Reply.account_id, func.count())
                   .where(Reply.decided_at_ms >= since_ms, Reply.status == ReplyStatus.SENT)
                   .group_by(Reply.account_id))
        with self._read() as session:
            received = dict(session.exec(messages).all())
            sent = dict(session.exec(replies).all())
        return {account: (received.get(account, 0), sent.get(account, 0)) for account in received.keys() | sent}

    def inbox(self, account_id: str | None = None, limit: int = 200) -> list[tuple[InboundMessage, Reply | None]]:
        """The latest buyer messages, newest first, each with the reply that answered it (if any)."""
        query = select(InboundMessage).where(InboundMessage.kind == "chat")
        if account_id is not None:
            query = query.where(InboundMessage.account_id == account_id)
        query = query.order_by(InboundMessage.received_at_ms.desc(), InboundMessage.id.desc()).limit(limit)
        with self._read() as session:
            messages = list(session.exec(query))
            ids = [m.id for m in messages]
            replies = {r.inbound_id: r for r in session.exec(select(Reply).where(Reply.inbound_id.in_(ids)))} if ids else {}
        return [(m, replies.get(m.id)) for m in messages]

    def rule_hits(self, account_id: str, since_ms: int = 0) -> dict[str, int]:
        """How many replies each rule sent for one account since `since_ms`."""
        query = (select(Reply.rule, func.count())
                 .where(Reply.account_id == account_id, Reply.decided_at_ms >= since_ms,
                        Reply.status == ReplyStatus.SENT)
                 .group_by(Reply.rule))
        with self._read() as session:
            return dict(session.exec(query).all())


def _inbound_line(message: InboundMessage) -> ChatLine:
    assert message.id is not None  # loaded rows always have their id
    return ChatLine(
        at_ms=message.received_at_ms,
        direction="in",
        text=message.text,
        sender_id=message.sender_id,
        sender_nick=message.sender_nick,
        rule=message.rule,
        status=message.decision,
        row_id=message.id,
    )


def _reply_line(reply: Reply) -> ChatLine:
    assert reply.id is not None  # loaded rows always have their id
    return ChatLine(
        at_ms=reply.decided_at_ms,
        direction="out",
        text=reply.text,
        sender_id=None,
        sender_nick=None,
        rule=reply.rule,
        status=reply.status,
        row_id=reply.id,
    )


def _inbound_params(
    *,
    account_id: str,
    cid: str,
    message_id: str,
    kind: str,
    created_at_ms: int,
    received_at_ms: int,
    text: str = "",
    sender_id: str | None = None,
    sender_nick: str | None = None,
    item_id: str | None = None,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "cid": cid,
        "message_id": message_id,
        "kind": kind,
        "sender_id": sender_id,
        "sender_nick": sender_nick,
        "item_id": item_id,
        "text": text,
        "created_at_ms": created_at_ms,
        "received_at_ms": received_at_ms,
    }
