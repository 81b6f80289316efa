"""Benchmark: many accounts in one service process, against `python -m sim --tls`.

    python bench/service_scale.py [--accounts 1000] [--idle 30] [--rate 200] [--load-accounts 100]
                                  [--load-seconds 20] [--no-floor] [--db-dir DIR]

Prints, in one run on this machine:
  * the floor — a bare websocket-client recv→send loop (one thread per connection, shared SSLContext)
    answering the same load, push-to-reply latency p50/p99/max; in a process and simulator of its own, so
    nothing it leaves behind weighs on the service's run;
  * the service — time until all accounts are online, marginal RSS per account, idle CPU, heartbeat
    lateness p50/p99/max, push-to-reply latency p50/p99/max for keyword replies (debounce 0).

Latency is measured by the simulator (`reply_after_us` in /_sim/sent: from the buyer message entering the
sim to the seller's send arriving), so the floor and the service are measured the same way. The load is
posted from a separate process so it does not share the service's GIL.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.floor import run_floor  # noqa: E402
from bench.load import post_load  # noqa: E402

KEYWORD, REPLY = "价格", "现价 99 元，拍下即发"


class RunEvents:
    """Counts backoff transitions (a healthy run has none) and why they happened; also keeps the
    service's own view of reply latency (socket read → server's answer to the send)."""

    inline = True  # memory only: counted on the emitting thread

    def __init__(self) -> None:
        self.count = 0
        self._reasons: dict[str, int] = {}
        self.internal_ms: list[float] = []

    def emit(self, event) -> None:
        if hasattr(event, "latency_ms"):
            self.internal_ms.append(event.latency_ms)
        if getattr(event, "state", None) == "backoff":
            self.count += 1
            reason = event.reason.split(";")[0]
            self._reasons[reason] = self._reasons.get(reason, 0) + 1

    def reasons(self) -> dict[str, int]:
        return dict(self._reasons)


class GcPauses:
    """Collector pauses per generation (a full collection holds the GIL: every thread waits)."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._started) * 1000)

    def clear(self) -> None:
        for values in self.pauses.values():
            values.clear()

    def summary(self) -> str:
        return ", ".join(f"gen{g}: {len(v)}× max {max(v, default=0):.1f} ms" for g, v in self.pauses.items())


def start_sim(extra: list[str]) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-m", "sim", "--log-level", "ERROR", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    urls = json.loads(proc.stdout.readline())
    return proc, urls


def create_accounts(control: str, prefix: str, count: int) -> list[tuple[str, str]]:
    def one(i: int) -> tuple[str, str]:
        unb = f"{prefix}{i:06d}"
        answer = requests.post(f"{control}/accounts", json={"unb": unb, "nick": f"店{i}"}, timeout=10)
        answer.raise_for_status()
        return unb, answer.json()["cookie"]
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(count)))


def write_config(path: Path, urls: dict, accounts: list[tuple[str, str]], db: Path,
                 extra_settings: list[str]) -> None:
    lines = ["server:", f"  ws: {urls['ws']}", f"  api: {urls['api']}", f"  passport: {urls['passport']}",
             *([f"  ca: {urls['ca']}"] if "ca" in urls else []), f"database: sqlite:///{db}", "settings:", "  debounce_seconds: 0",
             "  start_spread_seconds: 5", "  log_level: WARNING", *(f"  {x}" for x in extra_settings),
             "accounts:"]
    for unb, cookie in accounts:
        lines += [f"  - id: s{unb}", f"    cookie: {json.dumps(cookie)}", "    keywords:",
                  f"      - match: {KEYWORD}", f"        reply: {json.dumps(REPLY, ensure_ascii=False)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def stop_sim(proc: subprocess.Popen) -> None:
    """Stop a simulator this bench started, whatever state it is in: terminate, then kill if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def fd_count(pid: int | str = "self") -> int:
    """Open descriptors of a process (``/proc/<pid>/fd``); -1 when it cannot be read."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def raise_fd_limit() -> None:
    """Soft descriptor limit up to the hard one: a thousand accounts need a socket each (the simulator inherits it)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def describe(name: str, values_ms: list[float]) -> str:
    if not values_ms:
        return f"{name}: no samples"
    return (f"{name}: n={len(values_ms)} p50={statistics.median(values_ms):.2f} ms "
            f"p99={pct(values_ms, 0.99):.2f} ms max={max(values_ms):.2f} ms")


def replies_since(control: str, unbs: list[str], since: dict[str, int]) -> list[float]:
    latencies = []
    for unb in unbs:
        sent = requests.get(f"{control}/sent", params={"seller": unb, "since": since.get(unb, 0)},
                            timeout=10).json()["messages"]
        latencies += [m["reply_after_us"] / 1000 for m in sent if m.get("reply_after_us") is not None]
    return latencies


def last_seq(control: str, unbs: list[str]) -> dict[str, int]:
    result = {}
    for unb in unbs:
        sent = requests.get(f"{control}/sent", params={"seller": unb}, timeout=10).json()["messages"]
        result[unb] = sent[-1]["seq"] if sent else 0
    return result


def run_load(control: str, targets: list[str], rate: float, seconds: float) -> int:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(post_load, (control, targets, KEYWORD, rate, seconds))


def start_sim_for(args: argparse.Namespace) -> tuple[subprocess.Popen, dict]:
    sim, urls = start_sim([] if args.plain else ["--tls"])
    if "ca" in urls:  # the control API is HTTPS too: trust the simulator's CA here and in the load process
        os.environ["REQUESTS_CA_BUNDLE"] = urls["ca"]
    return sim, urls


def floor_phase(args: argparse.Namespace) -> None:
    """The same shape as the service run, on a fresh simulator: as many connections, the load on the first few."""
    sim, urls = start_sim_for(args)
    try:
        control = urls["control"]
        accounts = create_accounts(control, "880", args.accounts)
        targets = [unb for unb, _ in accounts[: args.load_accounts]]
        answered = run_floor(urls, accounts, lambda _unbs: run_load(control, targets, args.rate, args.load_seconds),
                             KEYWORD, REPLY)
        print(describe(f"floor  push→reply (bare websocket-client loop, {args.accounts} connections)",
                       replies_since(control, targets, {})))
        print(f"floor  answered {answered} messages", flush=True)
    finally:
        stop_sim(sim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=30.0, help="idle window for CPU and heartbeats (s)")
    parser.add_argument("--rate", type=float, default=200.0, help="buyer messages per second")
    parser.add_argument("--load-accounts", type=int, default=100)
    parser.add_argument("--load-seconds", type=float, default=20.0)
    parser.add_argument("--no-floor", action="store_true", help="skip the bare-loop floor")
    parser.add_argument("--plain", action="store_true", help="ws:// and http:// instead of TLS")
    parser.add_argument("--db-dir", metavar="DIR", help="where the service's SQLite file goes (default: a "
                        "temporary directory; e.g. /dev/shm to take the disk out of the measurement)")
    parser.add_argument("--setting", action="append", default=[], metavar="KEY: VALUE",
                        help="an extra accounts.yml setting, e.g. --setting 'handler_threads: 32'")
    parser.add_argument("--floor-only", action="store_true", help=argparse.SUPPRESS)  # the floor's own process
    args = parser.parse_args()
    raise_fd_limit()
    if args.floor_only:
        floor_phase(args)
        return
    if not args.no_floor:
        # Its own process and simulator: nothing the floor leaves behind (threads, sockets, heap, the
        # simulator's extra accounts and idle keep-alive connections) may weigh on the service's run.
        shape = ["--accounts", str(args.accounts), "--rate", str(args.rate), "--load-accounts",
                 str(args.load_accounts), "--load-seconds", str(args.load_seconds), *(["--plain"] if args.plain else [])]
        subprocess.run([sys.executable, __file__, "--floor-only", *shape], check=True)

    from core.config import load_config
    from core.service import Service

    gc_pauses = GcPauses()

    sim, urls = start_sim_for(args)
    service = None
    stopped = False
    try:
        control = urls["control"]
        print(f"simulator: {urls['ws']}, {args.accounts} service accounts, "
              f"load {args.rate:.0f} msg/s over {args.load_accounts} accounts for {args.load_seconds:.0f} s")
        accounts = create_accounts(control, "220", args.accounts)
        tmp = Path(tempfile.mkdtemp(prefix="xianyu-bench-", dir=args.db_dir))
        config_path = tmp / "accounts.yml"
        write_config(config_path, urls, accounts, tmp / "bench.db", args.setting)
        config = load_config(config_path)
        print(f"service database: {tmp / 'bench.db'}")
        gc.collect()
        rss_before = rss_kib()
        fds_before, sim_fds_before = fd_count(), fd_count(sim.pid)
        service = Service(config, watch_config=False)
        events = RunEvents()
        service.bus.add(events)
        started = time.monotonic()
        service.start()
        while True:
            states = [s.state for s in service.manager.snapshots()]
            online = states.count("online")
            if online == len(states):
                break
            if time.monotonic() - started > 300:
                print(f"gave up waiting: {online}/{len(states)} online")
                break
            time.sleep(0.2)
        all_online = time.monotonic() - started
        time.sleep(max(0.0, config.settings.start_spread_seconds + 2 - all_online))
        collect0 = time.perf_counter()
        gc.collect()
        first_collect_ms = (time.perf_counter() - collect0) * 1000
        rss_online = rss_kib()
        fds_online, sim_fds_online = fd_count(), fd_count(sim.pid)
        collect0 = time.perf_counter()
        gc.collect()
        second_collect_ms = (time.perf_counter() - collect0) * 1000
        tracked = len(gc.get_objects())  # the permanent generation (gc.freeze) is not among them
        print(f"service: {online}/{len(states)} online after {all_online:.1f} s "
              f"(starts spread over {config.settings.start_spread_seconds:.0f} s)")
        print(f"service: RSS {rss_before / 1024:.1f} → {rss_online / 1024:.1f} MiB, "
              f"{(rss_online - rss_before) / args.accounts:.1f} KiB per account, "
              f"{threading.active_count()} threads")
        accounts_n = max(1, args.accounts)
        print(f"service: fds {fds_before} → {fds_online}, "
              f"{(fds_online - fds_before) / accounts_n:.2f} fds per account (service process)")
        print(f"simulator: fds {sim_fds_before} → {sim_fds_online}, "
              f"{(sim_fds_online - sim_fds_before) / accounts_n:.2f} fds per account (simulator process)")
        print(f"service: full collection after start-up {first_collect_ms:.1f} ms (again: {second_collect_ms:.1f} ms), "
              f"{tracked} objects tracked by gc, {gc.get_freeze_count()} frozen (gc.freeze)")

        service.jobs.lateness.clear()
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        time.sleep(args.idle)
        idle_cpu = (cpu_seconds() - cpu0) / (time.monotonic() - wall0) * 100
        lateness = [s * 1000 for s in service.jobs.lateness.samples("heartbeat")]
        print(f"service: idle CPU {idle_cpu:.1f} % of one core over {args.idle:.0f} s")
        print(describe("service heartbeat lateness", lateness))

        targets = [unb for unb, _ in accounts[: args.load_accounts]]
        since = last_seq(control, targets)
        events.internal_ms.clear()
        gc_pauses.clear()
        cpu0, sim0, wall0 = cpu_seconds(), process_cpu(sim.pid), time.monotonic()
        posted = run_load(control, targets, args.rate, args.load_seconds)
        wall = time.monotonic() - wall0
        print(f"service: CPU under load {(cpu_seconds() - cpu0) / wall * 100:.0f} % of one core "
              f"(simulator {(process_cpu(sim.pid) - sim0) / wall * 100:.0f} %)")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            latencies = replies_since(control, targets, since)
            if len(latencies) >= posted:
                break
            time.sleep(0.5)
        print(f"service: posted {posted}, answered {len(latencies)}")
        print(describe("service push→reply (keyword, debounce 0)", latencies))
        print(describe("service internal read→answered", events.internal_ms))
        print(f"service: collector pauses under load: {gc_pauses.summary()}")
        print(f"service: {events.count} reconnects during the run {events.reasons()}")
        stop0 = time.monotonic()
        stopped = True
        service.stop()
        print(f"service: stopped in {time.monotonic() - stop0:.1f} s")
    finally:
        try:
            if service is not None and not stopped:  # an exception on the way: the service first, then its simulator
                service.stop()
        finally:
            stop_sim(sim)


if __name__ == "__main__":
    main()
