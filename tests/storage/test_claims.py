"""The two claims with one winner — a message id seen, a once-per-chat rule's chat — exactly one winner per key, across threads and across processes."""

from __future__ import annotations

import multiprocessing

import pytest

from storage import Store
from tests.storage.race import NOW_MS, TTL_MS, claim_in_process, claim_in_threads, claim_once, claimer

KINDS = ["seen", "once"]


def test_mark_seen_first_sight_only(store: Store) -> None:
    assert store.messages.mark_seen("shop-a", "m1", TTL_MS, NOW_MS) is True
    assert store.messages.mark_seen("shop-a", "m1", TTL_MS, NOW_MS + 1) is False
    assert store.messages.mark_seen("shop-b", "m1", TTL_MS, NOW_MS) is True  # per account
    assert store.messages.mark_seen("shop-a", "m2", TTL_MS, NOW_MS) is True


def test_mark_seen_counts_an_expired_mark_as_unseen_and_refreshes_it(store: Store) -> None:
    assert store.messages.mark_seen("shop-a", "m1", TTL_MS, NOW_MS) is True
    assert store.messages.mark_seen("shop-a", "m1", TTL_MS, NOW_MS + TTL_MS - 1) is False
    assert store.messages.mark_seen("shop-a", "m1", TTL_MS, NOW_MS + TTL_MS) is True
    # Refreshed: the new mark lasts a full TTL from its renewal.
    assert store.messages.mark_seen("shop-a", "m1", TTL_MS, NOW_MS + 2 * TTL_MS - 1) is False


def test_claim_once_first_caller_wins_per_chat_and_rule(store: Store) -> None:
    assert claim_once(store, "shop-a", "c1", "default", NOW_MS) is True
    assert claim_once(store, "shop-a", "c1", "default", NOW_MS + 10**9) is False  # once means ever
    assert claim_once(store, "shop-a", "c1", "greeting", NOW_MS) is True
    assert claim_once(store, "shop-a", "c2", "default", NOW_MS) is True
    assert claim_once(store, "shop-b", "c1", "default", NOW_MS) is True


@pytest.mark.parametrize("kind", KINDS)
def test_eight_threads_racing_on_one_key_have_one_winner(store: Store, kind: str) -> None:
    assert claim_in_threads(claimer(store, kind), keys=1, threads=8) == [0]


@pytest.mark.parametrize("kind", KINDS)
def test_eight_threads_racing_on_many_keys_win_each_key_once(store: Store, kind: str) -> None:
    won = claim_in_threads(claimer(store, kind), keys=40, threads=8)
    assert sorted(won) == list(range(40))


def test_threads_racing_to_refresh_expired_marks_have_one_winner_each(store: Store) -> None:
    for key in range(20):
        store.messages.mark_seen("acc", f"msg-{key}", TTL_MS, NOW_MS - TTL_MS)  # all expired by NOW_MS
    won = claim_in_threads(claimer(store, "seen"), keys=20, threads=8)
    assert sorted(won) == list(range(20))


def test_two_processes_racing_win_each_key_once(store: Store, db_url: str) -> None:
    # The parent's Store created the tables; spawn (not fork) so no engine or lock state crosses over.
    # SQLite's busy handler is not fair: on a loaded machine one process can take every key before its sibling
    # gets the lock once. Every round must be exact; at least one round (fresh keys each) must really overlap.
    context = multiprocessing.get_context("spawn")
    keys = 200
    for kind in KINDS:
        overlapped = False
        for round_no in range(5):
            start = context.Barrier(2)
            results = context.Queue()
            account = f"acc-{kind}-{round_no}"
            workers = [
                context.Process(
                    target=claim_in_process, args=(db_url, kind, account, keys, 4, start, results)
                )
                for _ in range(2)
            ]
            for worker in workers:
                worker.start()
            won = [results.get(timeout=60) for _ in workers]
            for worker in workers:
                worker.join(timeout=30)
                assert worker.exitcode == 0
            assert sorted(won[0] + won[1]) == list(range(keys)), (kind, round_no)
            if all(won):
                overlapped = True
                break
        assert overlapped, (
            f"{kind}: in five rounds one process always won nothing, so the race never overlapped"
        )
