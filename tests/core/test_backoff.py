import random

import pytest

from core.backoff import Backoff


def test_ceiling_doubles_then_caps():
    policy = Backoff(base=1.0, cap=10.0)
    assert [policy.ceiling(n) for n in range(0, 7)] == [0.0, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_huge_attempt_does_not_overflow():
    assert Backoff(base=0.5, cap=30.0).ceiling(10_000) == 30.0


def test_delay_stays_within_jitter_band():
    policy = Backoff(base=2.0, cap=60.0, jitter=0.5)
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = policy.ceiling(attempt)
        for _ in range(50):
            delay = policy.next_delay(attempt, rng)
            assert ceiling * 0.5 <= delay <= ceiling


def test_jitter_spreads_a_thundering_herd():
    policy = Backoff(base=1.0, cap=60.0, jitter=1.0)
    rng = random.Random(1)
    delays = {round(policy.next_delay(6, rng), 3) for _ in range(100)}
    assert len(delays) > 90


def test_no_jitter_is_deterministic():
    assert Backoff(base=1.0, cap=8.0, jitter=0.0).next_delay(3) == 4.0


def test_policy_is_immutable_and_validated():
    policy = Backoff()
    with pytest.raises(AttributeError):
        policy.base = 5  # type: ignore[misc]
    with pytest.raises(ValueError):
        Backoff(base=0)
    with pytest.raises(ValueError):
        Backoff(base=5, cap=1)
    with pytest.raises(ValueError):
        Backoff(jitter=1.5)
