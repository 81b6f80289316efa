"""SQLite group commit (storage/driver.py): writers queued behind a busy lock share one transaction, and one
caller's failure stays its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.replies.verdict import Decision, Verdict
from storage import Store
from storage.driver import DriverTx, DriverWriter
from storage.messages import Inbound
from tests.service.support import wait_until

T0 = 1_700_000_000_000
TTL_MS = 10**9


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'x.db'}") as store:
        yield store


def message(n: int) -> Inbound:
    return Inbound(**{"account_id": "shop-a", "cid": f"c{n % 7}", "message_id": f"m{n}", "kind": "chat", "text": f"价格{n}",
            "sender_id": "b", "sender_nick": "n", "item_id": "1", "created_at_ms": T0, "received_at_ms": T0 + n})


def writer_of(store: Store) -> DriverWriter:
    return store.db.fast


def test_sixteen_threads_each_get_their_own_rows_back(sqlite_store: Store) -> None:
    batches: list[int] = []
    writer = writer_of(sqlite_store)
    run_batch = writer._run_batch
    writer._run_batch = lambda batch: (batches.append(len(batch)), run_batch(batch))[1]  # type: ignore[method-assign]
    results: dict[int, Any] = {}

    def worker(first: int) -> None:
        for n in range(first, first + 50):
            verdict = Verdict(Decision.REPLIED, T0 + n, "kw", reply_text=f"回复{n}", to_id="b")
            results[n] = sqlite_store.messages.accept(message(n), ttl_ms=TTL_MS, verdict=verdict)

    threads = [threading.Thread(target=worker, args=(k * 50,)) for k in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(batches) == 800
    rows = {m.message_id: m for m in sqlite_store.messages.recent("shop-a", limit=1000)}
    assert len(rows) == 800
    for n, accepted in results.items():
        assert accepted is not None and rows[f"m{n}"].id == accepted.inbound_id  # each caller its own id
        reply = sqlite_store.replies.find_ours("shop-a", f"c{n % 7}", f"回复{n}", not_before_ms=T0 + n)
        assert reply is not None and (reply.id, reply.inbound_id) == (accepted.reply_id, accepted.inbound_id)


def test_writers_queued_behind_the_lock_share_one_transaction_and_a_failure_stays_its_callers(
        sqlite_store: Store) -> None:
    writer = writer_of(sqlite_store)
    batches: list[int] = []
    run_batch = writer._run_batch
    writer._run_batch = lambda batch: (batches.append(len(batch)), run_batch(batch))[1]  # type: ignore[method-assign]
    outcomes: dict[int, Any] = {}

    def failing(tx: DriverTx) -> None:
        tx.run(sqlite_store.db.sql.pause_chat, {"account_id": "shop-a", "cid": "bad", "until_ms": T0, "reason": ""})
        raise ValueError("this caller's bug")

    def call(n: int) -> None:
        try:
            if n == 3:
                outcomes[n] = writer.run(failing)
            else:
                outcomes[n] = sqlite_store.messages.accept(message(n), ttl_ms=TTL_MS)
        except ValueError as exc:
            outcomes[n] = exc

    # Hold SQLite's write lock the way any other writer does, so the callers queue up behind it.
    with sqlite_store.db._write_gate:
        threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        wait_until(lambda: len(writer._queue) == 8)
    for thread in threads:
        thread.join(5)
    assert isinstance(outcomes.pop(3), ValueError)
    assert all(accepted is not None for accepted in outcomes.values())
    assert len(sqlite_store.messages.recent("shop-a")) == 7
    assert sqlite_store.chats.pauses(T0 - 1) == []  # the failed caller's write was rolled back
    assert batches[0] == 1 and batches[1] == 7  # the leader alone, then everyone who queued meanwhile
