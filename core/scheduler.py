"""Periodic work on APScheduler's BackgroundScheduler, one job per (kind, account), and the heartbeats.

Heartbeats, every 15 s for every account, run on one heap timer (``beats``, core/session/beats.py): an APScheduler
job per account cost three objects and a scheduler round per beat, most of the idle CPU at a thousand accounts.
APScheduler keeps the jobs that are minutes apart.

Job ids are ``kind:account`` (``token:shop-a``, ``keepalive:shop-a``; the dashboard also lists ``heartbeat:shop-a``) and
``kind:*`` for process-wide jobs (``cleanup:*``, ``config:*``). Jobs are short, never block on the
network longer than the HTTP timeout, and never shut the scheduler down: a failing job is logged by the
wrapper and simply runs again next time.

First runs are spread over one interval (a deterministic offset per account) so a thousand heartbeats
do not fire in the same millisecond, and token refreshes carry APScheduler's jitter so accounts do not
hit the token API together.

APScheduler keeps due times on the wall clock. When that clock steps back (an NTP correction, a VM resumed,
someone setting the date), every job would wait out the step (an hour back: no heartbeat for an hour, and the
platform drops the connection). A watch thread compares the wall clock with the monotonic one each second and
moves the due times of the jobs now further away than they can legitimately be by the step. A step forward
needs nothing: the jobs are overdue, run once (coalesced) and go on from the new time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from core.session.beats import Beats

log = logging.getLogger(__name__)

ACCOUNT_JOB_KINDS = ("token", "keepalive")  # APScheduler's; the heartbeat is `beats`'
CLOCK_WATCH_SECONDS = 1.0   # how often the wall clock is compared with the monotonic one
CLOCK_STEP_SECONDS = 2.0    # a disagreement beyond this is a step of the wall clock, not scheduling noise


def job_id(kind: str, account_id: str) -> str:
    return f"{kind}:{account_id}"


def spread_offset(account_id: str, kind: str, interval: float) -> float:
    """A stable offset in [0, interval) so each account's jobs keep their own phase across restarts."""
    return (zlib.crc32(f"{kind}:{account_id}".encode()) % 10_000) / 10_000 * interval


class Jobs:
    def __init__(self, workers: int = 16) -> None:
        self.lateness = Lateness()
        self.beats = Beats(self.lateness)
        self._scheduler = BackgroundScheduler(
            executors={"default": JobExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone=UTC,
        )

        self._reach: dict[str, float] = {}   # job id → the furthest ahead its next run can be, in seconds
        self._stopping = threading.Event()
        self._watch = threading.Thread(target=self._watch_clock, name="clock-watch", daemon=True)

    def start(self) -> None:
        self._scheduler.start()
        self.beats.start()
        self._watch.start()

    def shutdown(self) -> None:
        self._stopping.set()
        self.beats.stop()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def _watch_clock(self) -> None:
        offset = time.time() - time.monotonic()
        while not self._stopping.wait(CLOCK_WATCH_SECONDS):
            now_offset = time.time() - time.monotonic()
            if now_offset - offset < -CLOCK_STEP_SECONDS:
                self._pull_back(now_offset - offset)
            offset = now_offset

    def _pull_back(self, step: float) -> None:
        """The wall clock went back by ``-step`` s: bring the jobs that now lie beyond their reach back with it."""
        now = time.time()
        moved = 0
        for job in self._scheduler.get_jobs():
            due = job.next_run_time
            if due is None or due.timestamp() - now <= self._reach.get(job.id, 0.0) + CLOCK_STEP_SECONDS:
                continue
            with contextlib.suppress(LookupError):  # removed meanwhile (an account stopped)
                job.modify(next_run_time=datetime.fromtimestamp(due.timestamp() + step, UTC))
                moved += 1
        log.warning("the wall clock stepped back %.0f s: %d periodic job(s) moved back with it", -step, moved)

    def every(self, kind: str, owner: str, seconds: float, func: Callable[[], None], *,
              jitter: float = 0.0, first_in: float | None = None) -> None:
        """Add (or replace) the job ``kind:owner`` running ``func`` every ``seconds``."""
        jid = job_id(kind, owner)
        delay = seconds if first_in is None else first_in
        first_due = time.monotonic() + delay
        measured = self.lateness if not jitter else None  # a jittered job has no fixed due time
        self._reach[jid] = max(seconds, delay) + jitter
        self._scheduler.add_job(
            _guarded(jid, func, measured, first_due, seconds), IntervalTrigger(seconds=seconds, jitter=jitter or None, timezone=UTC),
            id=jid, name=jid, replace_existing=True,
            next_run_time=datetime.fromtimestamp(time.time() + delay, UTC),
        )

    def remove(self, kind: str, owner: str) -> None:
        self._reach.pop(job_id(kind, owner), None)
        with contextlib.suppress(LookupError):  # JobLookupError: already gone, as wanted
            self._scheduler.remove_job(job_id(kind, owner))

    def remove_account(self, account_id: str) -> None:
        self.beats.remove(account_id)
        for kind in ACCOUNT_JOB_KINDS:
            self.remove(kind, account_id)

    def next_runs(self, owner: str) -> list[tuple[str, int | None]]:
        """(job id, next run in epoch ms or None when paused) of one owner's jobs, for the dashboard."""
        suffix = f":{owner}"
        runs = [(job.id, int(job.next_run_time.timestamp() * 1000) if job.next_run_time else None)
                for job in self._scheduler.get_jobs() if job.id.endswith(suffix)]
        beat = self.beats.next_due_ms(owner)
        if beat is not None:
            runs.append((job_id("heartbeat", owner), beat))
        return sorted(runs)


class Lateness:
    """How late periodic jobs start, per kind: the heartbeat's promise is kept here or nowhere.

    Without jitter an interval job's k-th run is due at ``first + k·interval`` (on the monotonic clock, so a
    step of the wall clock is not taken for lateness); lateness is the distance from the nearest due time
    (samples are kept in a bounded ring per kind)."""

    def __init__(self, keep: int = 20_000) -> None:
        self._samples: dict[str, deque[float]] = {}
        self._keep = keep

    def record(self, kind: str, seconds: float) -> None:
        ring = self._samples.get(kind)
        if ring is None:
            ring = self._samples.setdefault(kind, deque(maxlen=self._keep))
        ring.append(seconds)

    def samples(self, kind: str) -> list[float]:
        return list(self._samples.get(kind, ()))

    def clear(self) -> None:
        for ring in self._samples.values():
            ring.clear()


def _guarded(jid: str, func: Callable[[], None], lateness: Lateness | None, first_due: float,
             interval: float) -> Callable[[], None]:
    kind = jid.split(":", 1)[0]

    def run() -> None:
        if lateness is not None:
            elapsed = time.monotonic() - first_due
            lateness.record(kind, max(0.0, elapsed - round(elapsed / interval) * interval))
        try:
            func()
        except Exception as exc:  # noqa: BLE001 - a job must never take the scheduler down
            log.warning("job %s failed: %s", jid, exc)
    return run
