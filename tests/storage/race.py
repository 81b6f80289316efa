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

from core.replies.verdict import Decision, Verdict
from storage import Store
from storage.messages import Inbound

NOW_MS = 1_700_000_000_000
TTL_MS = 60_000


def claimer(store: Store, kind: str, now_ms: int = NOW_MS, account: str = "acc") -> Callable[[int], bool]:
    """The claim under test, on key number `key`."""
    if kind == "seen":
        return lambda key: store.messages.mark_seen(account, f"msg-{key}", TTL_MS, now_ms)
    if kind == "once":
        return lambda key: claim_once(store, account, f"cid-{key}", "greeting", now_ms)
    raise ValueError(kind)


def inbound(store: Store, account_id: str, cid: str, message_id: str, at_ms: int, text: str = "在吗",
            verdict: Verdict | None = None) -> int | None:
    """Store one buyer message the way the replies stage does (deduped, decided when given a verdict); its id, or
    None when its message id was seen before."""
    recorded = store.messages.accept(
        Inbound(account_id=account_id, cid=cid, message_id=message_id, kind="chat", text=text, sender_id="b",
                created_at_ms=at_ms, received_at_ms=at_ms),
        ttl_ms=TTL_MS, verdict=verdict)
    return None if recorded is None else recorded.inbound_id


def claim_once(store: Store, account_id: str, cid: str, rule: str, now_ms: int) -> bool:
    """A buyer message answered by a once-per-chat rule: True when this one won the chat's claim (a reply was
    written), False when the rule had answered the chat before."""
    _counter[0] += 1  # a fresh message each time: the once-claim, not the dedupe, must decide
    verdict = Verdict(Decision.REPLIED, now_ms, rule, reply_text="你好", to_id="b", once=True)
    recorded = store.messages.accept(
        Inbound(account_id=account_id, cid=cid, message_id=f"once-{threading.get_ident()}-{_counter[0]}",
                kind="chat", text="你好", created_at_ms=now_ms, received_at_ms=now_ms),
        ttl_ms=TTL_MS, verdict=verdict)
    assert recorded is not None
    return recorded.reply_id is not None


_counter = [0]


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
