"""Race helpers: many threads (and processes) claiming the same keys at the same moment.

A module of its own so spawned processes can import `claim_in_process` by name.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from storage import Store

NOW_MS = 1_700_000_000_000
TTL_MS = 60_000


def claimer(store: Store, kind: str, now_ms: int = NOW_MS, account: str = "acc") -> Callable[[int], bool]:
    """The claim under test, on key number `key`."""
    if kind == "seen":
        return lambda key: store.mark_seen(account, f"msg-{key}", TTL_MS, now_ms)
    if kind == "once":
        return lambda key: store.claim_once(account, f"cid-{key}", "greeting", now_ms)
    raise ValueError(kind)


def claim_in_threads(
    claim: Callable[[int], bool], keys: int, threads: int, before_start: Callable[[], object] | None = None
) -> list[int]:
    """Every thread claims all keys 0..keys-1, all starting together; returns the keys won.

    Each thread first makes one claim outside the range, so connections are open and statements compiled before
    the start: otherwise the first thread (or process) to warm up could win every key, and a test could not tell
    a race from a relay. For the same reason each thread walks the keys in its own random order.
    `before_start` runs once when all threads are ready, before any is released (the cross-process barrier).
    """
    start = threading.Barrier(threads, action=before_start)

    def run(warm_up_key: int) -> list[int]:
        claim(warm_up_key)
        order = random.sample(range(keys), keys)
        start.wait(timeout=60)
        return [key for key in order if claim(key)]

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(run, keys + n) for n in range(threads)]
        return [key for future in futures for key in future.result()]


def claim_in_process(
    url: str, kind: str, account: str, keys: int, threads: int, start: Barrier, results: Queue[list[int]]
) -> None:
    """Child process body: open the store, warm up, wait for the sibling, race; put the keys won on `results`."""
    with Store(url) as store:
        won = claim_in_threads(
            claimer(store, kind, account=account), keys, threads, before_start=lambda: start.wait(timeout=60)
        )
        results.put(won)
