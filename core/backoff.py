"""Reconnect backoff as an immutable policy value (in the spirit of urllib3's ``Retry``).

A policy never changes; ``next_delay(attempt)`` is a pure function of the attempt number and a random
source, so it is unit-tested without sleeping, and one policy value is shared by every account.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Jittered exponential backoff: ``base * 2**(attempt-1)``, capped, with "full jitter" in
    ``[(1-jitter)·d, d]`` so a thousand accounts that drop together do not reconnect together."""

    base: float = 1.0
    cap: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError(f"backoff needs 0 < base <= cap, got base={self.base} cap={self.cap}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"backoff jitter must be within [0, 1], got {self.jitter}")

    def ceiling(self, attempt: int) -> float:
        """The delay before jitter for the ``attempt``-th consecutive failure (1-based)."""
        if attempt < 1:
            return 0.0
        # min() before the power would overflow for large attempts; cap the exponent instead.
        return min(self.cap, self.base * 2 ** min(attempt - 1, 62))

    def next_delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = self.ceiling(attempt)
        if ceiling == 0.0:
            return 0.0
        low = ceiling * (1.0 - self.jitter)
        return (rng or random).uniform(low, ceiling)
