"""WriteBehind: rows queued from many threads are committed in batches, and nothing is lost on close."""

from __future__ import annotations

import threading
import time

from core.replies.writebehind import WriteBehind


def test_rows_from_many_threads_arrive_in_few_batches_and_close_flushes_the_rest() -> None:
    batches: list[list[int]] = []
    behind: WriteBehind[int] = WriteBehind(batches.append, interval=0.05, name="test-behind")
    threads = [threading.Thread(target=lambda n=n: [behind.put(n * 100 + k) for k in range(100)]) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    behind.close()
    rows = [row for batch in batches for row in batch]
    assert sorted(rows) == [n * 100 + k for n in range(4) for k in range(100)]
    assert len(batches) < 40  # batched, not one write per row


def test_rows_are_written_within_the_interval_without_a_close() -> None:
    seen = threading.Event()
    behind: WriteBehind[str] = WriteBehind(lambda rows: seen.set(), interval=0.02, name="test-behind")
    began = time.monotonic()
    behind.put("x")
    assert seen.wait(2) and time.monotonic() - began < 2
    behind.close()


def test_a_failing_flush_is_logged_and_later_rows_still_go(caplog) -> None:
    calls: list[list[int]] = []
    first_failed = threading.Event()

    def flush(rows: list[int]) -> None:
        calls.append(rows)
        if len(calls) == 1:
            first_failed.set()
            raise RuntimeError("database is locked")

    behind: WriteBehind[int] = WriteBehind(flush, interval=0.01, name="test-behind")
    behind.put(1)
    assert first_failed.wait(2)
    behind.put(2)
    behind.close()
    assert calls[-1] == [2] and "could not record 1 rows" in caplog.text


def test_a_row_put_after_close_is_written_through() -> None:
    batches: list[list[int]] = []
    behind: WriteBehind[int] = WriteBehind(batches.append, interval=1, name="test-behind")
    behind.close()
    behind.put(7)
    assert batches == [[7]]
