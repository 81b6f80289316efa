"""What slider verification costs: time per solve, memory per browser, wall time for a batch at each slot limit.

    python bench/slider.py [--solves 10] [--slots 1,2,3] [--browser chromium]

Against an in-process simulator, for each slot limit it risk-flags ``--solves`` fresh sellers, fetches each one's
punish URL with a real token call, then hands all of them at once to a ``SliderPool`` (one thread per job, as the
sessions would). Each job is the real thing: a headless Chromium, the simulator's nocaptcha page, a drag, the
x5sec cookie. It prints per slot limit: solves ok, wall time for the batch, time per solve (from the job taking
its slot to the x5sec, including the browser's start and quit: p50 / max), the most browsers alive at once, and
peak memory per browser (the summed RSS of one browser's process tree: the browser, zygotes, GPU, network and
renderer processes; shared pages count once per process, so this is an upper bound; PSS, which splits shared
pages, is printed beside it) plus the peak of all browsers together. Sampled every 100 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import events as ev  # noqa: E402
from core.goofish.cookies import CookieJar  # noqa: E402
from core.goofish.endpoints import DEFAULT_UA, Endpoints  # noqa: E402
from core.goofish.errors import RiskControl  # noqa: E402
from core.goofish.mtop import MtopClient  # noqa: E402
from core.verification.browser import browsers_by_profile  # noqa: E402
from core.verification.pool import SliderPool, SliderSettings  # noqa: E402
from sim.server import start  # noqa: E402

MIB = 1024 * 1024


class Timings:
    """An event sink: when each job took its slot and when it was solved."""

    inline = True  # memory only: counted on the emitting thread

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.solved: dict[str, float] = {}
        self._lock = threading.Lock()

    def emit(self, event: ev.Event) -> None:
        if isinstance(event, ev.VerificationChanged):
            with self._lock:
                if event.phase == "running" and event.attempt == 1:
                    self.started[event.account_id] = time.monotonic()
                elif event.phase == "solved":
                    self.solved[event.account_id] = time.monotonic()

    def per_solve(self) -> list[float]:
        return sorted(self.solved[a] - self.started[a] for a in self.solved)


class MemorySampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.per_browser = 0       # summed RSS of one browser's processes
        self.per_browser_pss = 0   # the same as PSS: shared pages split between the processes sharing them
        self.all_browsers = 0
        self.most_browsers = 0

    def run(self) -> None:
        while not self.stop.is_set():
            sums, pss = [], []
            for processes in browsers_by_profile(os.getpid()).values():
                rss_total = pss_total = 0
                for process in processes:
                    with contextlib.suppress(psutil.Error):  # a helper that just exited
                        memory = process.memory_full_info()
                        rss_total += memory.rss
                        pss_total += memory.pss
                sums.append(rss_total)
                pss.append(pss_total)
            if sums:
                self.per_browser = max(self.per_browser, max(sums))
                self.per_browser_pss = max(self.per_browser_pss, max(pss))
                self.all_browsers = max(self.all_browsers, sum(sums))
                self.most_browsers = max(self.most_browsers, len(sums))
            time.sleep(0.1)


def control(urls: dict[str, str], path: str, body: dict) -> dict:
    answer = requests.post(f"{urls['control']}{path}", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def punish_urls(urls: dict[str, str], first_unb: int, count: int) -> list[tuple[str, str, dict]]:
    """Risk-flag ``count`` fresh sellers; each one's punish URL comes from a real (refused) token call."""
    endpoints = Endpoints(urls["ws"], urls["api"], urls["passport"], urls.get("ca"))
    jobs = []
    for n in range(count):
        unb = str(first_unb + n)
        jar = CookieJar.parse(control(urls, "/accounts", {"unb": unb, "nick": f"bench{n}"})["cookie"])
        control(urls, "/faults", {"seller": unb, "kind": "risk_control", "count": 1})
        try:
            MtopClient(jar, endpoints, user_agent=DEFAULT_UA).login_token(f"device-{unb}")
        except RiskControl as risk:
            jobs.append((f"shop-{n}", risk.url, dict(jar.items())))
        else:
            raise SystemExit(f"seller {unb} was not risk-controlled")
    return jobs


def run_batch(slots: int, jobs: list[tuple[str, str, dict]], browser: str) -> None:
    bus, timings = ev.EventBus(), Timings()
    bus.add(timings)
    pool = SliderPool(SliderSettings(slots=slots, wait_timeout=3600, tries=3, browser_path=browser), bus)
    results: dict[str, bool] = {}
    sampler = MemorySampler()
    sampler.start()
    began = time.monotonic()

    def job(account_id: str, url: str, cookies: dict) -> None:
        results[account_id] = bool(pool.verify(account_id, url, DEFAULT_UA, cookies))

    threads = [threading.Thread(target=job, args=spec) for spec in jobs]
    for thread in threads:
        thread.start()
        time.sleep(0.01)  # queue order = job order
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    sampler.stop.set()
    sampler.join()
    per_solve = timings.per_solve()
    p50 = statistics.median(per_solve) if per_solve else float("nan")
    print(f"slots {slots}: {sum(results.values())}/{len(jobs)} solved, wall {wall:.1f} s, "
          f"per solve p50 {p50:.2f} s / max {max(per_solve, default=float('nan')):.2f} s, "
          f"at most {sampler.most_browsers} browser(s) at once, "
          f"peak per browser RSS {sampler.per_browser / MIB:.0f} MiB (PSS {sampler.per_browser_pss / MIB:.0f} MiB), "
          f"all browsers RSS {sampler.all_browsers / MIB:.0f} MiB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--solves", type=int, default=10)
    parser.add_argument("--slots", default="1,2,3")
    parser.add_argument("--browser", default="chromium")
    args = parser.parse_args()
    with start() as sim:
        print(f"{args.solves} solves per slot limit; {os.cpu_count()} CPU(s); "
              f"{psutil.virtual_memory().total / MIB / 1024:.1f} GiB RAM", flush=True)
        for index, slots in enumerate(int(s) for s in args.slots.split(",")):
            jobs = punish_urls(sim.urls, 2200000100000 + index * 1000, args.solves)
            run_batch(slots, jobs, args.browser)


if __name__ == "__main__":
    main()
