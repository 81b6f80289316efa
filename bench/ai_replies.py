"""Benchmark: AI replies next to keyword replies, against `python -m sim --tls` and the fake model (`sim.llm`).

    python bench/ai_replies.py [--accounts 100] [--rate 50] [--ai-share 0.1] [--seconds 20] [--latency-ms 800]
                               [--concurrency 8] [--warmup 8] [--spread 3] [--cold-items] [--plain]
                               [--db-dir DIR]

Two runs in one invocation, each on a fresh simulator and a fresh database, the same accounts.yml shape (a keyword
rule, the AI block under `settings:`, `ai_concurrency`, a default reply), the service in this process:

  A. AI off (`ai: {enabled: false}`): keyword messages at `--rate` msg/s, round-robin over every account;
  B. AI on: the same keyword load, plus messages no keyword matches at `rate × ai-share` msg/s, each from a new
     buyer (its own chat: a keyword chat never waits behind a model call), answered by the fake model
     (`python -m sim.llm`, a subprocess, so its threads do not share the service's GIL) after `--latency-ms`.

Keep `rate × ai-share` below the pool's capacity, `concurrency / latency` (10/s for 8 threads at 800 ms): above
it the pool's queue grows and a message that waits past `ai.timeout` is answered by the next rule, which is the
overload path, not the one measured here. The AI load is an even schedule, so at 5/s and 800 ms about 4 calls
run at once.

Before each measured window a few messages no keyword matches are answered and waited for (warm-up, not counted): in
run B they pay the first model call's costs (importing `openai`, the client, the first connections); their
latency is printed as the cold start. The item details (one listed item per seller, every message is about it)
are fetched into the service's cache before the load, as after each item's first message (the cache keeps a
detail a day); `--cold-items` leaves the cache cold, so that every AI message pays one detail fetch.

Latency is measured by the simulator for both kinds (`reply_after_us` in /_sim/sent: from the buyer message
entering the sim to the seller's send arriving). The load is posted from a separate process. Threads are sampled
every 20 ms in the service process (`threading.enumerate()`: the `slow-rule*` threads, and all of them).

Prints the figures of both runs and three checks, each PASS/FAIL: keyword p99 B/A ≤ 1.2, AI p99 − model latency
≤ 20 ms, peak slow-rule threads ≤ `--concurrency`; and a breakdown of the AI reply's overhead: buyer message →
the model's request arriving (before), and the model's answer → the reply arriving at the sim (after).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import multiprocessing
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.service_scale import GcPauses, cpu_seconds, create_accounts, pct, start_sim  # noqa: E402

KEYWORD, REPLY = "价格", "现价 99 元，拍下即发"
AI_TEXT = "这个还在吗？成色怎么样"  # no keyword, no digits (a number would be read as an offer), no hand-off word
MODEL_ANSWER = "好的，亲，有什么可以帮您？"  # the fake model's default answer
FALLBACK = "稍等，马上回复您"  # default_reply: what a message gets when the AI rule passes
ITEM_BASE = 910_000_000_000  # one listed item per seller: ITEM_BASE + i
KEYWORD_BUYER, AI_BUYER, WARM_BUYER = "77", "66", "55"  # buyer id prefixes: a reply's `to` says its kind
BUYERS_PER_SELLER = 5
SAMPLE_SECONDS = 0.02
KEYWORD_P99_RATIO, AI_OVERHEAD_MS = 1.2, 20.0  # the targets


def tag(k: int) -> str:
    """A message number in letters (a digit in the text would be read as a price offer)."""
    letters = ""
    while True:
        k, r = divmod(k, 26)
        letters = chr(ord("a") + r) + letters
        if k == 0:
            return letters


# -- the load (its own process) ----------------------------------------------------------------------------------

def post_mixed(control: str, sellers: list[str], rate: float, ai_rate: float, seconds: float,
               warm: int) -> tuple[int, int]:
    """Open-loop: keyword message k due at start + k/rate, AI message j at start + j/ai_rate (offset by half a
    step, so the two schedules do not coincide); `warm` > 0: only that many warm-up messages, at once."""
    local = threading.local()

    def post(job: tuple[float, str, int]) -> None:
        due, kind, k = job
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        index = k % len(sellers)
        if kind == "kw":
            buyer = f"{KEYWORD_BUYER}{(k // len(sellers)) % BUYERS_PER_SELLER:05d}{index:04d}"
            text = f"{KEYWORD}？#{k}"
        else:
            buyer = f"{AI_BUYER if kind == 'ai' else WARM_BUYER}{k:08d}"
            text = f"{AI_TEXT}（{tag(k)}）"
        session.post(f"{control}/messages", timeout=10, json={
            "seller": sellers[index], "buyer": buyer, "buyer_nick": f"买家{buyer[-4:]}",
            "item_id": str(ITEM_BASE + index), "text": text}).raise_for_status()

    start = time.monotonic() + 0.2
    if warm:
        jobs = [(start, "warm", k) for k in range(warm)]
    else:
        jobs = [(start + k / rate, "kw", k) for k in range(int(rate * seconds))]
        if ai_rate > 0:
            jobs += [(start + (j + 0.5) / ai_rate, "ai", j) for j in range(int(ai_rate * seconds))]
        jobs.sort()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(post, jobs))
    kinds = Counter(kind for _, kind, _ in jobs)
    return kinds["kw"], kinds["ai"] + kinds["warm"]


def run_load(control: str, sellers: list[str], rate: float, ai_rate: float, seconds: float,
             warm: int = 0) -> tuple[int, int]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(post_mixed, (control, sellers, rate, ai_rate, seconds, warm))


# -- what the service does ---------------------------------------------------------------------------------------

class ThreadSampler:
    """The service process's threads every 20 ms: the slow-rule pool's and all Python threads."""

    def __init__(self) -> None:
        self.peak_slow = 0
        self.peak_total = 0
        self.at_peak: Counter[str] = Counter()  # thread names (digits dropped) at the peak of all threads
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def start(self) -> ThreadSampler:
        self._thread.start()
        return self

    def reset(self) -> None:
        self.peak_slow = self.peak_total = 0
        self.at_peak = Counter()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            # the service's threads: not the bench's own (this sampler, the load's multiprocessing.Pool threads)
            threads = [t for t in threading.enumerate() if t is not self._thread and "(_handle_" not in t.name]
            self.peak_slow = max(self.peak_slow, sum(t.name.startswith("slow-rule") for t in threads))
            if len(threads) > self.peak_total:
                self.peak_total = len(threads)
                self.at_peak = Counter(_family(t.name) for t in threads)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _family(name: str) -> str:
    """"slow-rule_3" → "slow-rule", "Thread-12 (run)" → "Thread (run)"."""
    return re.sub(r"[-_ ]?\d+", "", name).strip() or name


class ReplyRules:
    """ReplySent per rule, ReplyFailed (inline: counted on the emitting thread)."""

    inline = True

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.failed = 0

    def emit(self, event) -> None:
        kind = type(event).__name__
        if kind == "ReplySent":
            self.sent[event.rule] += 1
        elif kind == "ReplyFailed":
            self.failed += 1


class Warnings(logging.Handler):
    """Warnings and errors the service logs during a run (the AI rule's fall-throughs say why there)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.levelname} {record.name}: {record.getMessage()}"[:200])


# -- one run -----------------------------------------------------------------------------------------------------

def write_config(path: Path, urls: dict, accounts: list[tuple[str, str]], db: Path, ai_on: bool,
                 model_url: str, concurrency: int, spread: float) -> None:
    lines = ["server:", f"  ws: {urls['ws']}", f"  api: {urls['api']}", f"  passport: {urls['passport']}",
             *([f"  ca: {urls['ca']}"] if "ca" in urls else []), f"database: sqlite:///{db}", "settings:",
             "  debounce_seconds: 0", f"  start_spread_seconds: {spread:g}", "  log_level: WARNING",
             f"  ai_concurrency: {concurrency}", "  ai:", f"    base_url: {model_url}", "    model: sim-chat",
             "    timeout: 5", "accounts:"]
    for unb, cookie in accounts:
        lines += [f"  - id: s{unb}", f"    cookie: {json.dumps(cookie)}", f"    ai: {{enabled: {str(ai_on).lower()}}}",
                  "    keywords:", f"      - match: {KEYWORD}", f"        reply: {json.dumps(REPLY, ensure_ascii=False)}",
                  f"    default_reply: {json.dumps(FALLBACK, ensure_ascii=False)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def sent_since(control: str, sellers: list[str], since: dict[str, int]) -> list[dict]:
    messages = []
    for unb in sellers:
        messages += requests.get(f"{control}/sent", params={"seller": unb, "since": since.get(unb, 0)},
                                 timeout=10).json()["messages"]
    return messages


def last_seq(control: str, sellers: list[str]) -> dict[str, int]:
    return {unb: (sent[-1]["seq"] if sent else 0)
            for unb in sellers
            for sent in [requests.get(f"{control}/sent", params={"seller": unb}, timeout=10).json()["messages"]]}


def wait_answered(control: str, sellers: list[str], since: dict[str, int], count: int, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        sent = sent_since(control, sellers, since)
        if len(sent) >= count or time.monotonic() > deadline:
            return sent
        time.sleep(0.3)


def latency_ms(message: dict) -> float | None:
    us = message.get("reply_after_us")
    return us / 1000 if us is not None else None


def model_requests(model_control: str | None) -> list[dict]:
    if not model_control:
        return []
    return requests.get(f"{model_control}/requests", params={"since": 0}, timeout=10).json()["requests"]


def one_run(args: argparse.Namespace, ai_on: bool, model: dict | None, out) -> dict:
    """A fresh simulator and database; the service in this process; warm-up, then the measured load."""
    from core.config import load_config
    from core.service import Service

    name = "B (AI on)" if ai_on else "A (AI off)"
    ai_rate = args.rate * args.ai_share if ai_on else 0.0
    sim, urls = start_sim([] if args.plain else ["--tls"])
    if "ca" in urls:  # the control API is HTTPS too: trust the simulator's CA here and in the load process
        os.environ["REQUESTS_CA_BUNDLE"] = urls["ca"]
    control = urls["control"]
    warnings = Warnings()
    logging.getLogger().addHandler(warnings)
    sampler = ThreadSampler()
    gc_pauses = GcPauses()
    report: dict = {"run": name, "ai_rate": ai_rate}
    try:
        accounts = create_accounts(control, "330" if ai_on else "220", args.accounts)
        sellers = [unb for unb, _ in accounts]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: requests.post(f"{control}/items", timeout=10, json={
                "seller": sellers[i], "item_id": str(ITEM_BASE + i), "title": f"相机 {i}", "price": "99.00",
                "desc": "九成新，配件齐全", "quantity": 5}).raise_for_status(), range(len(sellers))))
        tmp = Path(tempfile.mkdtemp(prefix="xianyu-ai-bench-", dir=args.db_dir))
        config_path = tmp / "accounts.yml"
        model_url = model["base_url"] if model else "http://127.0.0.1:9/v1"
        write_config(config_path, urls, accounts, tmp / "bench.db", ai_on, model_url, args.concurrency, args.spread)
        service = Service(load_config(config_path), watch_config=False)
        rules = ReplyRules()
        service.bus.add(rules)
        threads_before = threading.active_count()
        sampler.start()
        started = time.monotonic()
        service.start()
        online = 0
        while time.monotonic() - started < 120:
            states = [s.state for s in service.manager.snapshots()]
            online = states.count("online")
            if online == len(states):
                break
            time.sleep(0.2)
        time.sleep(max(0.0, args.spread + 1 - (time.monotonic() - started)))
        report["online"] = f"{online}/{args.accounts} in {time.monotonic() - started:.1f} s"

        if not args.cold_items:  # as after each item's first message (the detail is cached a day)
            catalog0 = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda i: service.assistant.item(f"s{sellers[i]}", str(ITEM_BASE + i)),
                              range(len(sellers))))
            report["catalog"] = f"{len(sellers)} item details fetched in {time.monotonic() - catalog0:.1f} s"
        since = last_seq(control, sellers)
        warm = min(args.warmup, len(sellers))
        warm0 = time.monotonic()
        run_load(control, sellers, 0, 0, 0, warm=warm)
        warm_sent = wait_answered(control, sellers, since, warm, 30)
        report["warm"] = (warm, len(warm_sent), max((latency_ms(m) or 0 for m in warm_sent), default=float("nan")),
                          time.monotonic() - warm0)
        time.sleep(0.5)

        since = last_seq(control, sellers)
        model_seq = max((r["seq"] for r in model_requests(model and model["control"])), default=0)
        gc.collect()
        threads_idle = threading.active_count() - 1  # not the sampler (the load's pool is not up yet)
        sampler.reset()
        warnings.records.clear()
        rules.sent.clear()
        gc_pauses.clear()
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        kw_posted, ai_posted = run_load(control, sellers, args.rate, ai_rate, args.seconds)
        load_wall = time.monotonic() - wall0
        sent = wait_answered(control, sellers, since, kw_posted + ai_posted, args.latency_ms / 1000 + 15)
        cpu = (cpu_seconds() - cpu0) / (time.monotonic() - wall0) * 100
        report["gc"] = gc_pauses.summary()
        peak_slow, peak_total = sampler.peak_slow, sampler.peak_total

        kw = [latency_ms(m) for m in sent if m["to"].startswith(KEYWORD_BUYER) and m["text"] == REPLY]
        ai = [m for m in sent if m["to"].startswith(AI_BUYER)]
        ai_ok = [m for m in ai if m["text"] == MODEL_ANSWER]
        requests_log = [r for r in model_requests(model and model["control"]) if r["seq"] > model_seq]
        report.update(
            kw_posted=kw_posted, ai_posted=ai_posted, load_wall=load_wall, cpu=cpu,
            kw=[x for x in kw if x is not None],
            kw_other=sum(1 for m in sent if m["to"].startswith(KEYWORD_BUYER) and m["text"] != REPLY),
            ai=[x for m in ai_ok if (x := latency_ms(m)) is not None],
            ai_fallback=sum(1 for m in ai if m["text"] == FALLBACK),
            ai_other=sum(1 for m in ai if m["text"] not in (MODEL_ANSWER, FALLBACK)),
            model_requests=len(requests_log), model_ok=sum(1 for r in requests_log if r["status"] == 200),
            peak_slow=peak_slow, peak_total=peak_total, at_peak=dict(sampler.at_peak), threads_before=threads_before, threads_idle=threads_idle,
            rules=dict(rules.sent), failed=rules.failed, warnings=list(warnings.records),
            split=overhead_split(ai_ok, requests_log, args.latency_ms, args.accounts))
        stop0 = time.monotonic()
        service.stop()
        report["stop"] = time.monotonic() - stop0
    finally:
        sampler.stop()
        gc.callbacks.remove(gc_pauses._callback)
        logging.getLogger().removeHandler(warnings)
        sim.terminate()
        sim.wait(10)
    print_run(report, args, out)
    return report


def overhead_split(replies: list[dict], log: list[dict], model_ms: float, sellers: int) -> tuple[list, list]:
    """Per AI reply: (model request arrived − buyer message entered the sim) and (reply arrived at the sim −
    model request arrived − model latency), in ms; epoch-ms clocks of two processes on one machine."""
    arrived: dict[str, int] = {}
    for request in log:
        last = next((m for m in reversed(request.get("messages") or []) if m.get("role") == "user"), None)
        text = last.get("content") if last else None
        if isinstance(text, str) and text.startswith(AI_TEXT):
            arrived.setdefault(text, request["at_ms"])
    before, after = [], []
    for reply in replies:
        k = int(reply["to"][len(AI_BUYER):])
        at = arrived.get(f"{AI_TEXT}（{tag(k)}）")
        if at is None or reply.get("reply_after_us") is None:
            continue
        entered = reply["at_ms"] - reply["reply_after_us"] / 1000
        before.append(at - entered)
        after.append(reply["at_ms"] - at - model_ms)
    return before, after


# -- the report --------------------------------------------------------------------------------------------------

def describe(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (f"n={len(values)} p50={statistics.median(values):.1f} ms p99={pct(values, 0.99):.1f} ms "
            f"max={max(values):.1f} ms")


def print_run(r: dict, args: argparse.Namespace, out) -> None:
    p = lambda *a: print(*a, file=out, flush=True)  # noqa: E731
    p(f"run {r['run']}: {r['online']} online; keyword {args.rate:g} msg/s"
      + (f" + AI {r['ai_rate']:g} msg/s" if r["ai_rate"] else "") + f" for {args.seconds:g} s "
      f"(posted in {r['load_wall']:.1f} s), service CPU {r['cpu']:.0f} % of one core")
    warm, answered, worst, took = r["warm"]
    p(f"  warm-up: {answered}/{warm} answered, slowest {worst:.0f} ms (in {took:.1f} s); "
      + r.get("catalog", "item cache cold (--cold-items)"))
    p(f"  keyword push→reply: {describe(r['kw'])} ({r['kw_posted']} posted, {len(r['kw'])} answered"
      + (f", {r['kw_other']} with another text" if r["kw_other"] else "") + ")")
    if r["ai_rate"]:
        p(f"  AI push→reply:      {describe(r['ai'])} ({r['ai_posted']} posted, {len(r['ai'])} by the model, "
          f"{r['ai_fallback']} fell through to the next rule, {r['ai_other']} other)")
        before, after = r["split"]
        if before:
            p(f"  AI overhead: buyer message → model request p50 {statistics.median(before):.0f} / p99 "
              f"{pct(before, 0.99):.0f} ms; model answer → reply at the sim p50 {statistics.median(after):.0f} / "
              f"p99 {pct(after, 0.99):.0f} ms (1 ms clocks)")
        p(f"  model requests: {r['model_requests']} ({r['model_ok']} answered 200)")
    p(f"  threads: {r['threads_before']} before start, {r['threads_idle']} online idle, peak {r['peak_total']} "
      f"under load; peak slow-rule {r['peak_slow']} (ai_concurrency {args.concurrency})")
    p("  threads at the peak: " + ", ".join(f"{name} {n}" for name, n in
                                            sorted(r["at_peak"].items(), key=lambda x: (-x[1], x[0]))))
    p(f"  collector pauses under load: {r['gc']}")
    p(f"  replies sent by rule: {r['rules']}" + (f", {r['failed']} failed" if r["failed"] else "")
      + f"; stopped in {r['stop']:.1f} s")
    if r["warnings"]:
        shown = Counter(w.split(": chat ")[0].split(": ", 1)[0] + ": " + w.split(": ", 2)[-1][:90]
                        for w in r["warnings"])
        p(f"  {len(r['warnings'])} warnings logged during the load; most common:")
        for text, n in shown.most_common(3):
            p(f"    {n}× {text}")


def verdicts(a: dict, b: dict, args: argparse.Namespace) -> list[tuple[str, bool]]:
    ratio = pct(b["kw"], 0.99) / pct(a["kw"], 0.99)
    overhead = pct(b["ai"], 0.99) - args.latency_ms
    lost = b["ai_posted"] - len(b["ai"])
    slow_b = b["at_peak"].get("slow-rule", 0)
    # a kind of thread run A never had, other than the pool's (an AI client's own threads, one per call …)
    new_kinds = sorted(set(b["at_peak"]) - set(a["at_peak"]) - {"slow-rule"})

    def grown(family: str) -> str:
        return f"{a['at_peak'].get(family, 0)} → {b['at_peak'].get(family, 0)}"

    return [
        (f"keyword p99 B/A = {pct(b['kw'], 0.99):.1f} / {pct(a['kw'], 0.99):.1f} ms = {ratio:.2f} "
         f"(target ≤ {KEYWORD_P99_RATIO})", ratio <= KEYWORD_P99_RATIO),
        (f"AI p99 − model latency = {pct(b['ai'], 0.99):.1f} − {args.latency_ms:g} = {overhead:.1f} ms "
         f"(target ≤ {AI_OVERHEAD_MS:g} ms)", overhead <= AI_OVERHEAD_MS),
        (f"peak slow-rule threads {b['peak_slow']} ≤ ai_concurrency {args.concurrency}; at the peak of all "
         f"threads A {a['peak_total']}, B {b['peak_total']} (+{b['peak_total'] - a['peak_total']}: slow-rule "
         f"{slow_b}, handler {grown('handler')}, job pool {grown('ThreadPoolExecutor')}; kinds new in B: "
         f"{', '.join(new_kinds) or 'none'})",
         b["peak_slow"] <= args.concurrency and slow_b <= args.concurrency and not new_kinds),
        (f"every message answered by its rule: keyword {len(a['kw'])}/{a['kw_posted']} A, {len(b['kw'])}/"
         f"{b['kw_posted']} B; AI {len(b['ai'])}/{b['ai_posted']} by the model ({b['ai_fallback']} fell through)",
         lost == 0 and len(a["kw"]) == a["kw_posted"] and len(b["kw"]) == b["kw_posted"]),
    ]


def start_model(latency_ms: float) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-m", "sim.llm", "--latency-ms", str(latency_ms), "--log-level", "ERROR"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return proc, json.loads(proc.stdout.readline())


def run_bench(args: argparse.Namespace, out=sys.stdout) -> dict:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    capacity = args.concurrency / (args.latency_ms / 1000) if args.latency_ms else float("inf")
    ai_rate = args.rate * args.ai_share
    print(f"{args.accounts} accounts, keyword {args.rate:g} msg/s, AI {ai_rate:g} msg/s for {args.seconds:g} s; "
          f"fake model {args.latency_ms:g} ms, ai_concurrency {args.concurrency} (capacity {capacity:.1f} calls/s"
          + (", AI rate ABOVE it: the overload path" if ai_rate >= capacity else "") + ")", file=out, flush=True)
    a = one_run(args, ai_on=False, model=None, out=out)
    model_proc, model = start_model(args.latency_ms)
    try:
        b = one_run(args, ai_on=True, model=model, out=out)
    finally:
        model_proc.terminate()
        model_proc.wait(10)
    checks = verdicts(a, b, args)
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}", file=out, flush=True)
    return {"a": a, "b": b, "checks": checks, "ok": all(ok for _, ok in checks)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0, help="keyword messages per second")
    parser.add_argument("--ai-share", type=float, default=0.1, help="AI messages per keyword message (run B)")
    parser.add_argument("--seconds", type=float, default=20.0, help="the measured load (s)")
    parser.add_argument("--latency-ms", type=float, default=800.0, help="the fake model's latency")
    parser.add_argument("--concurrency", type=int, default=8, help="settings.ai_concurrency")
    parser.add_argument("--warmup", type=int, default=8, help="messages answered before the measured load")
    parser.add_argument("--spread", type=float, default=3.0, help="settings.start_spread_seconds")
    parser.add_argument("--cold-items", action="store_true",
                        help="leave the item cache cold: every AI message then fetches its item's detail first")
    parser.add_argument("--plain", action="store_true", help="ws:// and http:// instead of TLS")
    parser.add_argument("--db-dir", metavar="DIR", help="where the SQLite files go (default: a temporary directory)")
    return parser.parse_args(argv)


def main() -> None:
    report = run_bench(parse_args())
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
