"""A human-looking drag of a slider button: a pure function of the distance and a random generator.

Slider judges (the real nocaptcha and the simulator's) reject drags that look scripted: too few moves, too
fast, a straight horizontal line, a metronome's timing, or a jump. A hand speeds up, slows down, goes a little
past the end, comes back and stops; the pointer wanders a pixel or two vertically; the gaps between mouse events
vary. ``drag_path`` produces exactly that, and nothing else, so the properties can be unit-tested.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One mouse move: where the pointer goes (offsets from where the drag started, px) after ``pause_ms``."""

    x: float
    y: float
    pause_ms: float


@dataclass(frozen=True)
class DragStyle:
    """The ranges a drag is drawn from (an immutable policy, like ``Backoff``)."""

    moves: tuple[int, int] = (22, 30)            # moves of the main stroke
    settle_moves: tuple[int, int] = (3, 5)       # moves back from the overshoot to the end
    overshoot_px: tuple[float, float] = (4.0, 9.0)
    jitter_px: float = 2.5                       # the pointer stays within ±jitter_px of the start row
    pause_ms: tuple[float, float] = (14.0, 34.0)


DEFAULT_STYLE = DragStyle()


def _ease(u: float) -> float:
    """Smoothstep: velocity grows from 0, peaks mid-way and falls back to 0 (acceleration then braking)."""
    return u * u * (3 - 2 * u)


def drag_path(distance: float, rng: random.Random, style: DragStyle = DEFAULT_STYLE) -> tuple[Step, ...]:
    """The moves that take a slider button ``distance`` px to the right, ending exactly at ``distance``."""
    if distance <= 0:
        raise ValueError(f"distance must be positive, got {distance!r}")
    overshoot = rng.uniform(*style.overshoot_px)
    peak = distance + overshoot
    moves = rng.randint(*style.moves)
    settle = rng.randint(*style.settle_moves)
    xs = [peak * _ease(i / moves) for i in range(1, moves + 1)]
    # Back from the overshoot, slowing down again as the hand finds the end.
    xs += [distance + overshoot * (1 - _ease(i / settle)) for i in range(1, settle + 1)]
    ys = _jitter(len(xs), rng, style.jitter_px)
    pauses = _pauses(len(xs), rng, style.pause_ms)
    steps = [Step(round(x, 1), y, p) for x, y, p in zip(xs, ys, pauses, strict=True)]
    steps[-1] = Step(float(distance), steps[-1].y, steps[-1].pause_ms)
    return tuple(steps)


def _jitter(count: int, rng: random.Random, limit: float) -> list[float]:
    """A bounded random walk: neighbouring moves differ by at most a pixel, never all on one row."""
    ys, y = [], 0.0
    for _ in range(count):
        y = max(-limit, min(limit, y + rng.choice((-1.0, -0.5, 0.0, 0.5, 1.0))))
        ys.append(y)
    if len(set(ys)) == 1:  # a perfectly flat line is the giveaway; bend the middle of it
        ys[count // 2] = ys[count // 2] + (1.0 if ys[count // 2] < limit else -1.0)
    return ys


def _pauses(count: int, rng: random.Random, bounds: tuple[float, float]) -> list[float]:
    """Uneven gaps between moves, a little longer where the hand slows (the start and the settle)."""
    low, high = bounds
    pauses = []
    for i in range(count):
        slow = 1.0 + 0.6 * math.exp(-i / 3)  # the first moves come slower, as a grip takes hold
        pauses.append(round(rng.uniform(low, high) * slow, 1))
    if len(set(pauses)) == 1:
        pauses[-1] += 7.0
    return pauses
