"""`AiStore`: what AI replies keep — bargaining per buyer and item, the model's drafts, token usage per day, and
the chats flagged for the seller. Each method is one short transaction; core decides what the values mean."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, update
from sqlmodel import select

from storage.database import Database
from storage.driver import DriverTx
from storage.models import AiDraft, AiUsage, BargainRecord, ChatFlag
from storage.statements import upsert_into


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One model call to count: the account's day and the tokens it took."""

    account_id: str
    day: str
    prompt_tokens: int
    completion_tokens: int
    failed: bool


class AiStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        # The writes on an AI reply's path go through the driver (storage/driver.py), built once.
        draft = AiDraft.__table__  # type: ignore[attr-defined]
        self._insert_draft = insert(draft).returning(draft.c.id)
        usage = AiUsage.__table__  # type: ignore[attr-defined]
        upsert = upsert_into(db.dialect, AiUsage)
        self._add_usage = upsert.on_conflict_do_update(
            index_elements=["account_id", "day"],
            set_={name: usage.c[name] + upsert.excluded[name]
                  for name in ("calls", "failures", "prompt_tokens", "completion_tokens")})

    # -- bargaining ----------------------------------------------------------------------------------------------

    def bargain(self, account_id: str, buyer_id: str, item_id: str) -> BargainRecord | None:
        with self._db.read() as session:
            return session.get(BargainRecord, (account_id, buyer_id, item_id))

    def save_bargain(self, record: BargainRecord) -> None:
        values = record.model_dump()
        keys = ("account_id", "buyer_id", "item_id")
        statement = upsert_into(self._db.dialect, BargainRecord).values(values)
        statement = statement.on_conflict_do_update(index_elements=list(keys),
                                                    set_={k: v for k, v in values.items() if k not in keys})
        with self._db.write() as conn:
            conn.execute(statement)

    def agreed_prices(self, account_id: str, buyer_id: str, now_ms: int) -> dict[str, str]:
        """item id → the price agreed with this buyer, still remembered at `now_ms`."""
        query = select(BargainRecord).where(BargainRecord.account_id == account_id,
                                            BargainRecord.buyer_id == buyer_id,
                                            BargainRecord.agreed.is_not(None),  # type: ignore[union-attr]
                                            BargainRecord.agreed_until_ms > now_ms)  # type: ignore[operator]
        with self._db.read() as session:
            return {row.item_id: row.agreed for row in session.exec(query) if row.agreed}

    # -- drafts --------------------------------------------------------------------------------------------------

    def add_draft(self, usage: UsageRow | None = None, **fields: Any) -> int:
        """Store a draft (and, in the same transaction, the call's `usage`); returns its id."""
        values = AiDraft(**fields).model_dump(exclude={"id"})

        def write(tx: DriverTx) -> int:
            [(draft_id,)] = tx.rows(self._insert_draft, values)
            if usage is not None:
                tx.run(self._add_usage, _usage_values(usage))
            return int(draft_id)

        return self._db.fast.run(write)

    def draft(self, draft_id: int) -> AiDraft | None:
        with self._db.read() as session:
            return session.get(AiDraft, draft_id)

    def set_draft(self, draft_id: int, status: str, now_ms: int, *, from_status: str | None = None,
                  text: str | None = None) -> bool:
        """Move a draft to `status` (only from `from_status` when given: two clicks cannot send it twice)."""
        changes: dict[str, Any] = {"status": status, "updated_at_ms": now_ms}
        if text is not None:
            changes["text"] = text
        statement = update(AiDraft).where(AiDraft.id == draft_id)  # type: ignore[arg-type]
        if from_status is not None:
            statement = statement.where(AiDraft.status == from_status)  # type: ignore[arg-type]
        with self._db.write() as conn:
            return conn.execute(statement.values(changes)).rowcount > 0

    def replace_drafts(self, account_id: str, cid: str, status: str, keep_id: int, new_status: str,
                       now_ms: int) -> int:
        """Move the chat's other drafts in `status` to `new_status` (a newer one, `keep_id`, takes their place)."""
        statement = (update(AiDraft).where(AiDraft.account_id == account_id, AiDraft.cid == cid,  # type: ignore[arg-type]
                                           AiDraft.status == status, AiDraft.id != keep_id)  # type: ignore[arg-type]
                     .values(status=new_status, updated_at_ms=now_ms))
        with self._db.write() as conn:
            return conn.execute(statement).rowcount

    def drafts(self, status: str, account_id: str | None = None, limit: int = 200) -> list[AiDraft]:
        """Drafts in `status`, newest first."""
        query = select(AiDraft).where(AiDraft.status == status)
        if account_id is not None:
            query = query.where(AiDraft.account_id == account_id)
        with self._db.read() as session:
            return list(session.exec(query.order_by(AiDraft.id.desc()).limit(limit)))  # type: ignore[union-attr]

    # -- usage ---------------------------------------------------------------------------------------------------

    def add_usage(self, usage: UsageRow) -> None:
        self._db.fast.run(lambda tx: tx.run(self._add_usage, _usage_values(usage)))

    def usage(self, account_id: str, since_day: str = "") -> list[AiUsage]:
        """The account's usage per day from `since_day` on, newest first."""
        query = select(AiUsage).where(AiUsage.account_id == account_id, AiUsage.day >= since_day)
        with self._db.read() as session:
            return list(session.exec(query.order_by(AiUsage.day.desc())))  # type: ignore[attr-defined]

    # -- chats that need the seller ------------------------------------------------------------------------------

    def flag(self, account_id: str, cid: str, reason: str, at_ms: int) -> None:
        values = {"account_id": account_id, "cid": cid, "reason": reason, "at_ms": at_ms}
        statement = upsert_into(self._db.dialect, ChatFlag).values(values)
        statement = statement.on_conflict_do_update(index_elements=["account_id", "cid"],
                                                    set_={"reason": reason, "at_ms": at_ms})
        with self._db.write() as conn:
            conn.execute(statement)

    def unflag(self, account_id: str, cid: str) -> bool:
        with self._db.write() as conn:
            return conn.execute(delete(ChatFlag).where(ChatFlag.account_id == account_id,  # type: ignore[arg-type]
                                                       ChatFlag.cid == cid)).rowcount > 0  # type: ignore[arg-type]

    def flags(self, account_id: str | None = None) -> list[ChatFlag]:
        query = select(ChatFlag)
        if account_id is not None:
            query = query.where(ChatFlag.account_id == account_id)
        with self._db.read() as session:
            return list(session.exec(query.order_by(ChatFlag.at_ms.desc())))  # type: ignore[attr-defined]

    def flag_of(self, account_id: str, cid: str) -> ChatFlag | None:
        with self._db.read() as session:
            return session.get(ChatFlag, (account_id, cid))


def _usage_values(usage: UsageRow) -> dict[str, Any]:
    return {"account_id": usage.account_id, "day": usage.day, "calls": 1, "failures": int(usage.failed),
            "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
