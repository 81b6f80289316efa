"""The drag trajectory is a pure function: these are the properties that make it pass for a hand."""

from __future__ import annotations

import random
import statistics

import pytest

from core.verification.trajectory import DEFAULT_STYLE, drag_path
from sim.slider import DISTANCE, judge

SEEDS = range(40)


def _paths(distance: float = DISTANCE):
    return [drag_path(distance, random.Random(seed)) for seed in SEEDS]


def _gains(path) -> list[float]:
    xs = [0.0] + [step.x for step in path]
    return [b - a for a, b in zip(xs, xs[1:], strict=False)]


def test_same_seed_same_path_and_different_seeds_differ() -> None:
    assert drag_path(260, random.Random(7)) == drag_path(260, random.Random(7))
    assert len({drag_path(260, random.Random(seed)) for seed in SEEDS}) == len(SEEDS)


def test_accelerates_from_rest_then_brakes() -> None:
    for path in _paths():
        gains = _gains(path)
        top = gains.index(max(gains))
        assert 5 <= top <= len(path) - 8, "the longest move is mid-stroke"
        # (0.25 px of slack: positions are rounded to 0.1 px and the curve is flat at its top)
        assert all(b >= a - 0.25 for a, b in zip(gains[:top], gains[1:top + 1], strict=True)), \
            "moves grow longer until the top speed"
        forward = [g for g in gains[top:] if g > 0]
        assert all(b <= a + 0.25 for a, b in zip(forward, forward[1:], strict=False)), "then shorter: braking"
        assert forward[-1] < max(gains) / 3
        assert gains[0] < gains[top] / 5, "the first move is a fraction of the fastest"


def test_overshoots_then_settles_exactly_on_the_end() -> None:
    low, high = DEFAULT_STYLE.overshoot_px
    for distance in (DISTANCE, 120.0, 333.3):
        for path in _paths(distance):
            xs = [step.x for step in path]
            peak = xs.index(max(xs))
            assert low - 0.1 <= xs[peak] - distance <= high + 0.1
            assert xs[-1] == distance
            assert 3 <= len(xs) - 1 - peak <= 5, "a few moves back from the overshoot"
            assert xs[peak:] == sorted(xs[peak:], reverse=True), "settling only moves back"
            assert xs[:peak + 1] == sorted(xs[:peak + 1]), "the stroke only moves forward"


def test_vertical_jitter_is_small_and_never_flat() -> None:
    for path in _paths():
        ys = [step.y for step in path]
        assert len(set(ys)) > 1
        assert max(abs(y) for y in ys) <= DEFAULT_STYLE.jitter_px + 1
        assert all(abs(b - a) <= 2 for a, b in zip(ys, ys[1:], strict=False)), "the pointer drifts, never jumps"


def test_timing_is_uneven_and_human() -> None:
    for path in _paths():
        pauses = [step.pause_ms for step in path]
        assert min(pauses) > 0
        assert statistics.pstdev(pauses) > 2, "no metronome"
        assert 300 <= sum(pauses) <= 3000


def test_no_move_is_a_jump() -> None:
    for path in _paths():
        xs = [0.0] + [step.x for step in path]
        assert max(abs(b - a) for a, b in zip(xs, xs[1:], strict=False)) < DISTANCE / 4


def test_the_simulator_judge_accepts_every_path() -> None:
    """What the page records (x clamped to the track, time since mousedown) passes the server's judge."""
    for path in _paths():
        t, points = 0.0, [{"x": 0.0, "y": 0.0, "t": 0.0}]
        for step in path:
            t += step.pause_ms
            points.append({"x": min(step.x, DISTANCE), "y": step.y, "t": round(t)})
        assert judge(points) is None


def test_rejects_a_distance_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="distance must be positive"):
        drag_path(0, random.Random(1))
