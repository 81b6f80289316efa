"""Benchmark: does the dashboard keep up with 1,000 accounts and a burst of 500 buyer messages a second?

    python bench/tui_load.py [--accounts 1000] [--rate 500] [--load-accounts 100] [--seconds 10]

A real Service (1,000 accounts online against `python -m sim` in its own process, load posted from another
process, as bench/service_scale.py does) with the dashboard on top, run headless through
``App.run_test()`` at 160×48 (layout and compositing run as on a terminal; only the bytes are not written).

Prints, per phase (idle on Accounts, load on Accounts, load on Inbox; ``--bare``: the same run with no app,
only the loop watcher, which is the baseline the process's other threads leave to any event loop):
  * the event loop's blocked gaps: an asyncio task asks to wake every 10 ms; the gap is how late it woke
    (worst and p99) — the number that says whether keys and redraws wait;
  * the 4 Hz tick (drain events → model) and the 1 Hz redraw (snapshots → changed cells): durations;
  * how far the UI trails the service: how long the oldest event of each drain waited since a service
    thread handed it over, and the most events one tick drained.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.service_scale import KEYWORD, create_accounts, describe, start_sim, write_config  # noqa: E402

WAKE_EVERY = 0.010


class Phase:
    def __init__(self, name: str) -> None:
        self.name = name
        self.gaps_ms: list[float] = []
        self.ticks_ms: list[float] = []
        self.redraws_ms: list[float] = []
        self.lag_ms: list[float] = []
        self.batch: list[int] = []

    def report(self) -> None:
        print(f"[{self.name}]")
        print("  " + describe("event-loop blocked gap", self.gaps_ms))
        print("  " + describe("tick (drain + model, 4 Hz, includes any redraw)", self.ticks_ms))
        print("  " + describe("redraw (snapshots + changed cells, 1 Hz)", self.redraws_ms))
        print("  " + describe("UI lag: oldest event's wait from hand-off to drain", self.lag_ms))
        print(f"  events per tick: max {max(self.batch, default=0)}, total {sum(self.batch)}")


async def watch_gaps(current: list[Phase], stop: asyncio.Event) -> None:
    """Ask to wake every 10 ms; how late each wake-up comes is how long the loop was blocked."""
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(WAKE_EVERY)
        now = time.perf_counter()
        current[0].gaps_ms.append(max(0.0, (now - last - WAKE_EVERY) * 1000))
        last = now


async def drive_bare(phases: list[Phase], seconds: float, load_started: threading.Event,
                     load_done: threading.Event) -> None:
    """The same phases with no app: what an empty asyncio loop sees in this process (the GIL's share)."""
    current, stop = [phases[0]], asyncio.Event()
    watcher = asyncio.create_task(watch_gaps(current, stop))
    await asyncio.sleep(5)
    load_started.set()
    current[0] = phases[1]
    await asyncio.sleep(seconds / 2)
    current[0] = phases[2]
    while not load_done.is_set():
        await asyncio.sleep(0.1)
    stop.set()
    await watcher


async def drive(app, phases: list[Phase], seconds: float, load_started: threading.Event,
                load_done: threading.Event) -> None:
    from textual.widgets import DataTable

    current: list[Phase] = [phases[0]]
    real_tick, real_drain, real_redraw = app.tick, app.feed.drain, app.redraw

    emitted: dict[int, float] = {}  # id(event) → when a service thread handed it over
    real_emit = app.feed.emit

    def emit(event) -> None:
        emitted[id(event)] = time.perf_counter()
        real_emit(event)

    def drain():
        events = real_drain()
        handed = [emitted.pop(id(e), None) for e in events]
        if events and handed[0] is not None:
            current[0].lag_ms.append((time.perf_counter() - handed[0]) * 1000)
        current[0].batch.append(len(events))
        return events

    def timed_tick() -> None:
        began = time.perf_counter()
        real_tick()
        current[0].ticks_ms.append((time.perf_counter() - began) * 1000)

    def timed_redraw() -> None:
        began = time.perf_counter()
        real_redraw()
        current[0].redraws_ms.append((time.perf_counter() - began) * 1000)

    app.feed.drain = drain
    app.feed.emit = emit  # the bus holds the feed object, so this wraps what service threads call
    app.tick = timed_tick  # set_interval(self.tick) in on_mount picks the instance attribute
    app.redraw = timed_redraw

    async with app.run_test(size=(160, 48)) as pilot:
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_gaps(current, stop))
        await pilot.pause()
        print(f"dashboard: {app.screen.query_one(DataTable).row_count} account rows")
        await asyncio.sleep(5)  # idle, 1,000 rows on screen
        load_started.set()
        current[0] = phases[1]
        await asyncio.sleep(seconds / 2)
        current[0] = phases[2]
        await pilot.press("2")  # the Inbox, rows arriving
        while not load_done.is_set():
            await asyncio.sleep(0.1)
        stop.set()
        await watcher
        print(f"dashboard: {len(app.model.conversations)} conversations in memory, "
              f"header: {app.header_summary()}")


def post_load_elsewhere(control: str, targets: list[str], rate: float, seconds: float) -> int:
    """bench/load.py's post_load in its own process, so the load shares no GIL with the app. A plain
    subprocess: multiprocessing cannot spawn while Textual has replaced sys.stderr."""
    code = ("import sys; from bench.load import post_load; "
            f"print(post_load({control!r}, {targets!r}, {KEYWORD!r}, {rate!r}, {seconds!r}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500.0, help="buyer messages per second")
    parser.add_argument("--load-accounts", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the load lasts")
    parser.add_argument("--bare", action="store_true",
                        help="no dashboard: the same service and load with an empty asyncio loop (the baseline)")
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    from core.config import load_config
    from core.control import Control
    from core.service import Service
    from tui.app import XianyuApp
    from tui.backend import ServiceBackend
    from tui.feed import EventFeed

    sim, urls = start_sim([])
    control = urls["control"]
    try:
        accounts = create_accounts(control, "220", args.accounts)
        tmp = Path(tempfile.mkdtemp(prefix="xianyu-tui-bench-"))
        write_config(tmp / "accounts.yml", urls, accounts, tmp / "bench.db", [])
        service = Service(load_config(tmp / "accounts.yml"), watch_config=False)
        feed = EventFeed()
        service.bus.add(feed)
        started = time.monotonic()
        service.start()
        while sum(s.state == "online" for s in service.manager.snapshots()) < args.accounts:
            if time.monotonic() - started > 300:
                break
            time.sleep(0.2)
        print(f"service: {sum(s.state == 'online' for s in service.manager.snapshots())}/{args.accounts} online "
              f"after {time.monotonic() - started:.1f} s; load {args.rate:.0f} msg/s over {args.load_accounts} "
              f"accounts for {args.seconds:.0f} s")
        feed.drain()  # the start-up burst is not what is measured
        if args.bare:
            service.bus.remove(feed)
            phases = [Phase("bare loop, idle, 5 s"), Phase("bare loop, load"), Phase("bare loop, load (2nd half)")]
        else:
            phases = [Phase("idle, Accounts screen, 5 s"), Phase("load, Accounts screen"),
                      Phase("load, Inbox screen")]
        load_started, load_done = threading.Event(), threading.Event()
        targets = [unb for unb, _ in accounts[: args.load_accounts]]
        posted: list[int] = []

        def load() -> None:
            try:
                load_started.wait()
                began = time.monotonic()
                posted.append(post_load_elsewhere(control, targets, args.rate, args.seconds))
                posted.append(int(time.monotonic() - began))
                time.sleep(2)  # let the last replies come through
            finally:
                load_done.set()

        threading.Thread(target=load, daemon=True).start()
        if args.bare:
            asyncio.run(drive_bare(phases, args.seconds, load_started, load_done))
        else:
            asyncio.run(drive(XianyuApp(ServiceBackend(Control(service)), feed), phases, args.seconds, load_started,
                              load_done))
        print(f"load: posted {posted[0]} messages in {posted[1]} s (target {args.rate:.0f}/s)")
        for phase in phases:
            phase.report()
        service.stop()
    finally:
        sim.terminate()
        sim.wait(10)
        os.environ.pop("REQUESTS_CA_BUNDLE", None)


if __name__ == "__main__":
    main()
