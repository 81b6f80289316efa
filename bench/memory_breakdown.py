"""Benchmark: where the service's memory goes, per account.

    python bench/memory_breakdown.py [--steps 0,100,1000] [--tls] [--no-trace] [--db-dir DIR] [--timeout 120]

Starts `python -m sim` (plain ws:// by default, `--tls` for wss/https), then for each step runs a fresh
core.service.Service with that many accounts (a fresh set of simulator accounts, a fresh SQLite file) and,
once every account is online (and the start-up spread, with its gc.freeze, is over), measures:

  * RSS: VmRSS, RssAnon, RssFile from /proc/self/status; threads; open descriptors;
  * thread stacks: the Rss of the anonymous rw mappings of about one stack size (ulimit -s, 8 MiB) in
    /proc/self/smaps — what the threads' stacks really touch — and of glibc's per-thread malloc arenas
    (64 MiB-aligned anonymous mappings);
  * tracemalloc (unless --no-trace): traced Python allocations grouped by the file that allocated them
    (relative to the project, site-packages or the standard library): the top 15 per step, and what each
    file adds per account between steps (the same as Snapshot.compare_to(..., "filename"), divided by the
    accounts added);
  * objects by type: every object the collector tracks (gc.unfreeze first: the frozen ones are not in
    gc.get_objects()) plus the untracked objects they refer to directly (str, bytes, int ...), counted by
    module.qualname with their shallow sys.getsizeof bytes; the top 20 types by growth, per account.

Each step runs in a process of its own (the hidden --step-only mode), started by this one: a step's RSS
is then not lowered by heap or thread stacks an earlier step freed and glibc kept, nor raised by the
measuring of an earlier step. A final table gives the marginal cost per account between steps
(RSS, RssAnon, RssFile, stacks, arenas, traced bytes, shallow object bytes, threads, fds) and the top
contributors. tracemalloc roughly doubles the process's memory and slows start-up: RSS is only
meaningful in a --no-trace run; the traced bytes are meaningful in either.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.service_scale import create_accounts, fd_count, raise_fd_limit, start_sim, stop_sim, write_config  # noqa: E402

TOP_FILES = 15
TOP_TYPES = 20
ARENA_ALIGN = 64 << 20  # glibc HEAP_MAX_SIZE on 64-bit: per-thread arenas are reserved 64 MiB-aligned


# ---- measuring, in the step's own process ------------------------------------------------------------

def proc_status() -> dict[str, int]:
    """VmRSS, RssAnon, RssFile, RssShmem (KiB) and Threads from /proc/self/status."""
    wanted = {"VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads", "VmSize"}
    result = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            result[key] = int(value.split()[0])
    return result


def stack_bytes() -> int:
    size = threading.stack_size()
    if size:
        return size
    soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
    return soft if soft != resource.RLIM_INFINITY else 8 << 20


def smaps_breakdown() -> dict[str, int]:
    """Rss (KiB) of anonymous mappings by kind: thread stacks (rw mappings one stack size less the guard
    page: glibc maps the stack with its guard, then mprotects the guard, which splits it off), malloc
    arenas of other threads (64 MiB-aligned), the brk heap, other anonymous memory (pymalloc arenas,
    large mallocs); and file-backed Rss."""
    stack = stack_bytes()
    low, high = stack - (64 << 10), stack  # the stack less its guard page (a ---p mapping of its own)
    kinds = {"stacks": 0, "stacks_n": 0, "arenas": 0, "arenas_n": 0, "heap": 0, "anon_other": 0, "file": 0}
    current: tuple[str, int, int, str] | None = None

    def account(rss: int) -> None:
        kind, start, size, perms = current
        if kind == "file":
            kinds["file"] += rss
        elif kind == "[heap]":
            kinds["heap"] += rss
        elif kind == "" and perms.startswith("rw") and low <= size <= high:
            kinds["stacks"] += rss
            kinds["stacks_n"] += 1
        elif kind == "" and perms.startswith("rw") and start % ARENA_ALIGN == 0:
            kinds["arenas"] += rss
            kinds["arenas_n"] += 1
        elif kind in ("", "[stack]"):
            kinds["anon_other"] += rss
        # [vdso], [vvar], [vsyscall]: not counted

    for line in Path("/proc/self/smaps").read_text().splitlines():
        first = line.split(None, 5)
        if "-" in first[0] and len(first) >= 5 and ":" in first[3]:  # a mapping's header line
            begin, end = (int(x, 16) for x in first[0].split("-"))
            name = first[5].strip() if len(first) > 5 else ""
            kind = "file" if name.startswith("/") else name
            current = (kind, begin, end - begin, first[1])
        elif first[0] == "Rss:" and current is not None:
            account(int(first[1]))
    return kinds


def short_filename(filename: str) -> str:
    """A traced file relative to the project, site-packages or the standard library."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    try:
        return str(Path(filename).relative_to(ROOT))
    except ValueError:
        pass
    stdlib = sysconfig.get_paths()["stdlib"]
    if filename.startswith(stdlib + "/"):
        return "<stdlib>/" + filename[len(stdlib) + 1:]
    return filename


def traced_by_file() -> tuple[dict[str, list[int]], int]:
    """{file: [bytes, blocks]} of what is traced now (tracemalloc's own bookkeeping left out), and the
    memory tracemalloc itself uses."""
    import tracemalloc
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    result: dict[str, list[int]] = {}
    for stat in snapshot.statistics("filename"):
        name = short_filename(stat.traceback[0].filename)
        entry = result.setdefault(name, [0, 0])
        entry[0] += stat.size
        entry[1] += stat.count
    del snapshot
    return result, tracemalloc.get_tracemalloc_memory()


def type_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def objects_by_type() -> dict[str, list[int]]:
    """{module.qualname: [count, shallow bytes]} over every gc-tracked object (frozen ones included) and
    the untracked objects they refer to directly."""
    frozen = gc.get_freeze_count()
    gc.unfreeze()  # the permanent generation is invisible to gc.get_objects()
    try:
        objs = gc.get_objects()
        counts: dict[type, list[int]] = {}
        getsizeof = sys.getsizeof
        for obj in objs:
            entry = counts.get(type(obj))
            if entry is None:
                entry = counts[type(obj)] = [0, 0]
            entry[0] += 1
            entry[1] += getsizeof(obj, 0)
        seen: set[int] = set()
        is_tracked = gc.is_tracked
        for ref in gc.get_referents(*objs):
            if is_tracked(ref) or id(ref) in seen:
                continue
            seen.add(id(ref))
            entry = counts.get(type(ref))
            if entry is None:
                entry = counts[type(ref)] = [0, 0]
            entry[0] += 1
            entry[1] += getsizeof(ref, 0)
        del objs, seen
    finally:
        if frozen:
            gc.freeze()
    result: dict[str, list[int]] = {}
    for kind, (count, size) in counts.items():
        entry = result.setdefault(type_name(kind), [0, 0])  # two classes may share a name
        entry[0] += count
        entry[1] += size
    return result


def wait_online(service, timeout: float) -> tuple[int, int, float]:
    """Until every account is online and the starter thread (whose end is settle_memory: collect and
    freeze) is done; gives up after ``timeout`` seconds."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        states = [s.state for s in service.manager.snapshots()]
        online = states.count("online")
        if online == len(states) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    for thread in threading.enumerate():
        if thread.name == "starter":
            thread.join(max(0.0, deadline - time.monotonic()))
    return online, len(states), elapsed


def run_step(args: argparse.Namespace) -> None:
    """One step in this process: the Service on ``args.step_only`` (a config file), measured once online;
    the numbers go to ``args.result`` as JSON, a summary to stdout."""
    from core.config import load_config
    from core.service import Service

    config = load_config(Path(args.step_only))
    n = len(config.accounts)
    trace = not args.no_trace
    if trace:
        import tracemalloc
        tracemalloc.start(1)
    gc.collect()
    before = proc_status()
    fds_before = fd_count()
    service = Service(config, watch_config=False)
    try:
        service.start()
        online, total, elapsed = wait_online(service, args.timeout)
        if online < total:
            print(f"step {n}: gave up waiting: {online}/{total} online after {elapsed:.0f} s", flush=True)
        time.sleep(2.0)  # let the last connections finish their first round trips
        gc.collect()
        status = proc_status()
        fds = fd_count()
        threads = threading.active_count()
        maps = smaps_breakdown()
        result = {"accounts": n, "online": online, "total": total, "online_after_s": elapsed,
                  "before": before, "status": status, "fds_before": fds_before, "fds": fds, "threads": threads,
                  "smaps": maps, "frozen": gc.get_freeze_count(), "stack_kib": stack_bytes() >> 10}
        if trace:
            files, overhead = traced_by_file()
            result["traced"] = files
            result["trace_overhead"] = overhead
            tracemalloc.stop()
        result["types"] = objects_by_type()
    finally:
        stop0 = time.monotonic()
        service.stop()
        stop_s = time.monotonic() - stop0

    per = f", {(status['VmRSS'] - before['VmRSS']) / n:.1f} KiB per account over the step's own start" if n else ""
    print(f"\n== step {n} accounts: {online}/{total} online after {elapsed:.1f} s; stopped in {stop_s:.1f} s"
          + (" (tracemalloc on: RSS inflated)" if trace else ""))
    print(f"RSS {status['VmRSS'] / 1024:.1f} MiB (anon {status['RssAnon'] / 1024:.1f}, file "
          f"{status['RssFile'] / 1024:.1f}, shmem {status['RssShmem'] / 1024:.1f}){per}")
    print(f"threads {threads} (kernel {status['Threads']}), fds {fds_before} → {fds}, "
          f"gc: {result['frozen']} frozen objects")
    per_n = max(1, n)
    print(f"thread stacks: {maps['stacks_n']} mappings of ~{result['stack_kib']} KiB, Rss {maps['stacks'] / 1024:.1f} MiB"
          + (f", {maps['stacks'] / per_n:.1f} KiB per account" if n else ""))
    print(f"malloc arenas: {maps['arenas_n']}, Rss {maps['arenas'] / 1024:.1f} MiB; brk heap {maps['heap'] / 1024:.1f} MiB; "
          f"other anonymous {maps['anon_other'] / 1024:.1f} MiB; file-backed {maps['file'] / 1024:.1f} MiB")
    if trace:
        files = result["traced"]
        traced = sum(size for size, _ in files.values())
        print(f"tracemalloc: {traced / 1024 / 1024:.1f} MiB traced in {sum(c for _, c in files.values())} blocks "
              f"(tracemalloc's own memory {result['trace_overhead'] / 1024 / 1024:.1f} MiB); top {TOP_FILES} files:")
        for name, (size, count) in sorted(files.items(), key=lambda kv: -kv[1][0])[:TOP_FILES]:
            print(f"  {size / 1024:10.1f} KiB {count:9d} blocks  {name}")
    Path(args.result).write_text(json.dumps(result), encoding="utf-8")
    sys.stdout.flush()


# ---- the orchestrating process ------------------------------------------------------------------------

def growth(prev: dict[str, list[int]], cur: dict[str, list[int]], accounts: int) -> list[tuple[str, float, float]]:
    """(name, Δfirst/account, Δsecond/account) for every key, largest growth of the first field first."""
    rows = []
    for name in set(prev) | set(cur):
        a, b = prev.get(name, [0, 0]), cur.get(name, [0, 0])
        rows.append((name, (b[0] - a[0]) / accounts, (b[1] - a[1]) / accounts))
    return sorted(rows, key=lambda r: -r[1])


def compare(prev: dict, cur: dict) -> dict:
    d = cur["accounts"] - prev["accounts"]
    s0, s1, m0, m1 = prev["status"], cur["status"], prev["smaps"], cur["smaps"]
    row = {"from": prev["accounts"], "to": cur["accounts"],
           "rss": (s1["VmRSS"] - s0["VmRSS"]) / d, "anon": (s1["RssAnon"] - s0["RssAnon"]) / d,
           "file": (s1["RssFile"] - s0["RssFile"]) / d, "stacks": (m1["stacks"] - m0["stacks"]) / d,
           "arenas": (m1["arenas"] - m0["arenas"]) / d, "threads": (cur["threads"] - prev["threads"]) / d,
           "fds": (cur["fds"] - prev["fds"]) / d,
           "objects": sum(b for _, b in cur["types"].values()) - sum(b for _, b in prev["types"].values())}
    row["objects"] /= d * 1024
    types = growth(prev["types"], cur["types"], d)
    print(f"\n== {prev['accounts']} → {cur['accounts']} accounts: per account added")
    print(f"RSS {row['rss']:.1f} KiB (anon {row['anon']:.1f}, file {row['file']:.1f}); thread stacks "
          f"{row['stacks']:.1f} KiB, malloc arenas {row['arenas']:.1f} KiB; {row['threads']:.2f} threads, "
          f"{row['fds']:.2f} fds")
    if "traced" in cur and "traced" in prev:
        files = sorted(growth(prev["traced"], cur["traced"], d), key=lambda r: -abs(r[1]))
        row["traced"] = sum(r[1] for r in files) / 1024
        row["top"] = [(name, size / 1024) for name, size, _ in files[:5]]
        print(f"tracemalloc (compare_to by filename, ÷ {d}): {row['traced']:.1f} KiB traced per account; "
              f"top {TOP_FILES}:")
        for name, size, count in files[:TOP_FILES]:
            print(f"  {size / 1024:+9.2f} KiB {count:+9.1f} blocks  {name}")
    else:
        row["top"] = [(name, size / 1024) for name, _, size in sorted(types, key=lambda r: -r[2])[:5]]
    print(f"objects (gc-tracked + their untracked referents), top {TOP_TYPES} types by count growth: "
          f"{row['objects']:.1f} KiB shallow per account in all")
    for name, count, size in types[:TOP_TYPES]:
        print(f"  {count:+9.1f} objects {size / 1024:+8.2f} KiB  {name}")
    return row


def final_table(rows: list[dict], trace: bool) -> None:
    print("\n== marginal cost per account (KiB unless said)")
    head = f"{'step':>12} {'RSS':>8} {'anon':>8} {'file':>7} {'stacks':>7} {'arenas':>7} {'objects':>8}"
    head += f" {'traced':>7}" if trace else ""
    print(head + f" {'threads':>7} {'fds':>5}  top contributors")
    for r in rows:
        line = (f"{r['from']:>5} → {r['to']:<4} {r['rss']:8.1f} {r['anon']:8.1f} {r['file']:7.1f} {r['stacks']:7.1f} "
                f"{r['arenas']:7.1f} {r['objects']:8.1f}")
        line += f" {r.get('traced', float('nan')):7.1f}" if trace else ""
        top = ", ".join(f"{name} {size:.1f}" for name, size in r["top"])
        print(line + f" {r['threads']:7.2f} {r['fds']:5.2f}  {top}")
    print("(objects: shallow sys.getsizeof of gc-tracked objects and their direct untracked referents; "
          + ("traced: tracemalloc; top: traced KiB by allocating file)" if trace
             else "top: shallow KiB by type)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="0,100,1000", help="account counts, increasing (default 0,100,1000)")
    parser.add_argument("--tls", action="store_true", help="wss:// and https:// instead of plain ws:// and http://")
    parser.add_argument("--no-trace", action="store_true", help="without tracemalloc (RSS as in a normal run)")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up waiting for all online (s)")
    parser.add_argument("--db-dir", metavar="DIR", help="where the SQLite files go (default: a temporary directory)")
    parser.add_argument("--step-only", metavar="CONFIG", help=argparse.SUPPRESS)  # one step's own process
    parser.add_argument("--result", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_fd_limit()
    if args.step_only:
        run_step(args)
        return
    steps = [int(x) for x in args.steps.split(",") if x.strip()]
    if steps != sorted(steps) or len(set(steps)) != len(steps):
        parser.error("--steps must be increasing")

    sim, urls = start_sim(["--tls"] if args.tls else [])
    results = []
    try:
        if "ca" in urls:
            os.environ["REQUESTS_CA_BUNDLE"] = urls["ca"]
        print(f"simulator: {urls['ws']}; steps {steps}; tracemalloc {'off' if args.no_trace else 'on'}", flush=True)
        for index, n in enumerate(steps):
            accounts = create_accounts(urls["control"], f"6{index:02d}", n)
            tmp = Path(tempfile.mkdtemp(prefix="xianyu-mem-", dir=args.db_dir))
            config_path = tmp / "accounts.yml"
            write_config(config_path, urls, accounts, tmp / "bench.db", [])
            if not accounts:
                config_path.write_text(config_path.read_text(encoding="utf-8").replace("\naccounts:\n", "\naccounts: []\n"),
                                       encoding="utf-8")
            result_path = tmp / "result.json"
            command = [sys.executable, __file__, "--step-only", str(config_path), "--result", str(result_path),
                       "--timeout", str(args.timeout), *(["--no-trace"] if args.no_trace else [])]
            subprocess.run(command, check=True, timeout=args.timeout + 600)
            results.append(json.loads(result_path.read_text(encoding="utf-8")))
        rows = [compare(prev, cur) for prev, cur in zip(results, results[1:], strict=False)]
        if rows:
            final_table(rows, not args.no_trace)
    finally:
        stop_sim(sim)


if __name__ == "__main__":
    main()
