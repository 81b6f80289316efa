"""Buyer-message load for the benchmarks: POST /_sim/messages at a fixed rate from its own process."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

BUYERS_PER_SELLER = 5


def post_load(control: str, targets: list[str], text: str, rate: float, seconds: float) -> int:
    """Post ``rate`` messages per second for ``seconds``, round-robin over ``targets``; returns the count.

    Message k is due at ``start + k/rate`` (an open-loop schedule: a slow answer does not slow the load)."""
    total = int(rate * seconds)
    local = threading.local()
    start = time.monotonic() + 0.2

    def post(k: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        delay = start + k / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        seller = targets[k % len(targets)]
        buyer = f"77{(k // len(targets)) % BUYERS_PER_SELLER:05d}{k % len(targets):04d}"
        session.post(f"{control}/messages", timeout=10, json={
            "seller": seller, "buyer": buyer, "buyer_nick": f"买家{buyer[-4:]}", "item_id": "900000000001",
            "text": f"{text}？#{k}"}).raise_for_status()

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(post, range(total)))
    return total
