"""The slider verification behind a risk-control punish URL: the page, and the judge of a dragged trajectory.

A slide is accepted when it looks like a hand on a mouse: enough move events, a human duration, some vertical
jitter, uneven timing and no teleporting, ending at the right end of the track. Then the punish ticket
(`x5secdata`) is used up and the answer sets an `x5sec` cookie bound to the account and the browser's User-Agent
(sim/credentials.py), which unlocks the risk-checked API once.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from sim.httpd import HttpRequest, HttpResponse, cookie
from sim.slider_page import BUTTON_WIDTH, HTML, TRACK_WIDTH
from sim.state import SimState

PUNISH_MARK = "/_____tmd_____/punish"
SLIDE_MARK = "/_____tmd_____/slide"
DISTANCE = TRACK_WIDTH - BUTTON_WIDTH
MIN_POINTS = 10
MIN_DURATION_MS = 300
END_TOLERANCE = 2


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    t: float        # ms since mousedown


def _points(raw: Any) -> list[Point]:
    if not isinstance(raw, list):
        raise ValueError("trajectory must be a list of {x, y, t}")
    return [Point(float(p["x"]), float(p["y"]), float(p["t"])) for p in raw]


def judge(raw: Any) -> str | None:
    """None if the trajectory passes as human, else why it does not."""
    try:
        points = _points(raw)
    except (TypeError, KeyError, ValueError):
        return "malformed trajectory"
    if len(points) < MIN_POINTS:
        return "too few mouse moves"
    gaps = [b.t - a.t for a, b in zip(points, points[1:], strict=False)]
    if min(gaps) < 0:
        return "time runs backwards"
    if points[-1].t - points[0].t < MIN_DURATION_MS:
        return "too fast"
    if points[-1].x - points[0].x < DISTANCE - END_TOLERANCE:
        return f"the slider did not reach the end (it stopped at {points[-1].x - points[0].x:g} of {DISTANCE} px)"
    if len({p.y for p in points}) == 1:
        return "no vertical jitter"
    if statistics.pstdev(gaps) == 0:
        return "perfectly uniform timing"
    if max(abs(b.x - a.x) for a, b in zip(points, points[1:], strict=False)) > DISTANCE / 2:
        return "the slider jumped"
    return None


def page() -> HttpResponse:
    # The page itself is static: it reads x5secdata from its own URL.
    return HttpResponse.html(HTML)


def _rejected(reason: str) -> HttpResponse:
    return HttpResponse.json({"success": False, "reason": reason}, 400)


def slide(state: SimState, request: HttpRequest) -> HttpResponse:
    try:
        body = request.json()
        data, trajectory = str(body["x5secdata"]), body["trajectory"]
    except (ValueError, TypeError, KeyError):
        return _rejected("malformed request")
    verdict = judge(trajectory)
    if verdict is not None and body.get("track") != DISTANCE:  # the page measured its track otherwise: say so
        verdict += f"; the page measured a {body.get('track')!r} px track"
    with state.transaction() as world:
        ticket = world.credentials.ticket(data)
        if ticket is None:
            return _rejected("x5secdata unknown or already used")
        account = world.require_account(ticket.unb)
        account.slides_attempted += 1
        if world.faults.take(ticket.unb, "slider_reject"):
            verdict = "rejected by a slider_reject fault"
        if verdict is not None:
            return _rejected(verdict)
        x5sec = world.credentials.redeem(ticket, request.user_agent)
        account.slides_accepted += 1
        account.x5sec_issued += 1
    return HttpResponse.json({"success": True, "code": 0}, set_cookies=(cookie("x5sec", x5sec.value),))
