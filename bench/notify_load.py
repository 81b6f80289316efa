"""Benchmark: keyword replies while the notifications go to a webhook that hangs, against `python -m sim --tls`.

    python bench/notify_load.py [--accounts 50] [--rate 50] [--seconds 20] [--orders-per-second 2] [--plain]
                                [--pairs 1] [--warmup 8] [--spread 3] [--db-dir DIR]

Two runs per pair, each on a fresh simulator, a fresh database and a fresh local webhook receiver
(tests/webhooks.py), the same accounts.yml and the same load, the service in this process:

  A. the notification channel (top-level `notify:`, apprise's `json://`) posts to a receiver that answers 200;
  B. the same channel posts to a receiver that never answers: every try hangs until apprise's own 4 s timeouts
     give up, and the message is retried (`settings.notify: {retry_seconds: 1, attempts: 100}`).

Every account has a keyword rule and a delivery rule for its one listed item from a stock list that is empty,
with `delivery_attempts: 1`. While keyword messages are posted (open loop, `--rate` msg/s round-robin over the
accounts, from a separate process, as bench/ai_replies.py does), a thread of this process places paid orders
through the simulator's control API at `--orders-per-second` on random accounts (the same sequence in every
run): each delivery fails at once, a `delivery_failed` incident opens, and every second (`group_seconds: 1`)
the notifier writes a message to the outbox, which the channel's sender thread sends (A) or hangs on and
retries (B). What is measured is whether a channel that hangs holds up anything but its own sender.

Before each measured window a few keyword messages are answered and one paid order is notified (B: its first
try reached the receiver), not counted: the first send's costs (apprise's client, the first connection) are
paid before the load.

Latency is measured by the simulator (`reply_after_us` in /_sim/sent: from the buyer message entering the sim to
the seller's send arriving). The machine is shared and noisy, so the figure is a ratio within one invocation:
keyword p50 and p99 of B over A. With `--pairs N` the runs alternate A B, B A, A B … (drift cancels), each
pair's ratio is printed, and the pooled one (all A replies against all B replies) is the last line.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ai_replies import (  # noqa: E402
    ITEM_BASE,
    KEYWORD,
    KEYWORD_BUYER,
    REPLY,
    Warnings,
    describe,
    last_seq,
    latency_ms,
    run_load,
    wait_answered,
)
from bench.service_scale import create_accounts, pct, start_sim_for  # noqa: E402
from tests.webhooks import Receiver  # noqa: E402

ORDER_BUYER = "44"  # buyer id prefix of the orders' buyers (never a keyword buyer, "77…")
WARM_ORDER_BUYER = "4500000000000"  # the warm-up order's buyer
STOCK = "empty-list"  # the delivery rules' stock list: never filled
ITEM_QUANTITY = 100_000  # the sim's listed quantity per item: no order runs it out
HOOK_PATH = "/robot/send/TOKENbench123456"
ORDER_SEED = 20240601  # every run places the same orders on the same accounts
RUNS = {"A": ("A (receiver answers)", "ok"), "B": ("B (receiver hangs)", "hang")}


# -- the world ---------------------------------------------------------------------------------------------------

def write_config(path: Path, urls: dict[str, str], accounts: list[tuple[str, str]], db: Path, hook_url: str,
                 spread: float) -> None:
    server = {key: urls[key] for key in ("ws", "api", "passport", "ca") if key in urls}
    document: dict[str, Any] = {
        "server": server, "database": f"sqlite:///{db}",
        "settings": {"debounce_seconds": 0, "start_spread_seconds": spread, "delivery_attempts": 1,
                     "log_level": "WARNING", "notify": {"group_seconds": 1, "retry_seconds": 1, "attempts": 100}},
        "notify": [hook_url],
        "accounts": [{"id": f"s{unb}", "cookie": cookie, "keywords": [{"match": KEYWORD, "reply": REPLY}],
                      "delivery": [{"item": str(ITEM_BASE + i), "stock": STOCK}]}
                     for i, (unb, cookie) in enumerate(accounts)],
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def list_items(control: str, sellers: list[str]) -> None:
    """One listed item per seller (ITEM_BASE + i), as the order cards and the keyword messages name it."""
    def one(i: int) -> None:
        requests.post(f"{control}/items", timeout=10, json={
            "seller": sellers[i], "item_id": str(ITEM_BASE + i), "title": f"会员兑换码 {i}", "price": "9.90",
            "quantity": ITEM_QUANTITY}).raise_for_status()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(len(sellers))))


def place_paid(session: requests.Session, control: str, seller: str, item_id: str, buyer: str) -> str:
    order = session.post(f"{control}/orders", timeout=10, json={
        "seller": seller, "buyer": buyer, "item_id": item_id, "status": "unpaid", "quantity": 1})
    order.raise_for_status()
    order_id = order.json()["order_id"]
    session.post(f"{control}/orders", timeout=10, json={"order_id": order_id, "status": "paid"}).raise_for_status()
    return order_id


class OrderPlacer:
    """A thread placing paid orders at *rate* per second (open loop: order k due at start + k/rate) on random
    sellers, the same sequence every run, until stopped."""

    def __init__(self, control: str, sellers: list[str], rate: float) -> None:
        self.control, self.sellers, self.rate = control, sellers, rate
        self.placed = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-orders", daemon=True)

    def start(self) -> OrderPlacer:
        if self.rate > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(15)

    def _run(self) -> None:
        rng = random.Random(ORDER_SEED)
        session = requests.Session()
        start = time.monotonic()
        k = 0
        while not self._stop.wait(max(0.0, start + k / self.rate - time.monotonic())):
            index = rng.randrange(len(self.sellers))
            try:
                place_paid(session, self.control, self.sellers[index], str(ITEM_BASE + index),
                           f"{ORDER_BUYER}{k:011d}")
                self.placed += 1
            except requests.RequestException as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}"[:160])
            k += 1


class Deliveries:
    """Deliveries that failed and what the channel's sender said (inline: counted on the emitting thread)."""

    inline = True

    def __init__(self) -> None:
        self.failed = 0
        self.notices: Counter[str] = Counter()

    def emit(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "DeliveryChanged" and event.state == "failed":
            self.failed += 1
        elif kind == "NotificationChanged":
            self.notices[event.state] += 1


def wait_online(service: Any, timeout: float = 120.0) -> tuple[int, int]:
    started = time.monotonic()
    while True:
        states = [s.state for s in service.manager.snapshots()]
        online = states.count("online")
        if online == len(states) or time.monotonic() - started > timeout:
            return online, len(states)
        time.sleep(0.2)


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


# -- one run -----------------------------------------------------------------------------------------------------

def warm_up(args: argparse.Namespace, control: str, sellers: list[str], hook: Receiver) -> dict[str, Any]:
    """A few keyword messages answered and one paid order's notification tried, not counted."""
    since = last_seq(control, sellers)
    warm = max(1, min(args.warmup, len(sellers)))
    began = time.monotonic()
    posted, _ = run_load(control, sellers, args.rate, 0.0, (warm + 0.5) / args.rate)
    answered = wait_answered(control, sellers, since, posted, 30)
    place_paid(requests.Session(), control, sellers[0], str(ITEM_BASE), WARM_ORDER_BUYER)
    notified = wait_for(lambda: hook.attempts > 0, 30)  # A: answered; B: hanging
    time.sleep(0.5)
    return {"posted": posted, "answered": len(answered), "notified": notified, "took": time.monotonic() - began}


def measure(args: argparse.Namespace, control: str, sellers: list[str], service: Any,
            hook: Receiver) -> dict[str, Any]:
    """The measured window: the keyword load from its own process, the orders from a thread of this one."""
    since = last_seq(control, sellers)
    got0, tries0 = len(hook.messages()), hook.attempts
    orders = OrderPlacer(control, sellers, args.orders_per_second)
    began = time.monotonic()
    try:
        orders.start()
        kw_posted, _ = run_load(control, sellers, args.rate, 0.0, args.seconds)
    finally:
        orders.stop()
    load_wall = time.monotonic() - began
    sent = wait_answered(control, sellers, since, kw_posted, 15)
    time.sleep(1.5)  # the last orders' incidents: grouped for a second, then written to the outbox
    kw = [x for m in sent if m["to"].startswith(KEYWORD_BUYER) and m["text"] == REPLY
          if (x := latency_ms(m)) is not None]
    outbox = Counter(m.state for m in service.store.notices.recent_messages(1000))
    return {"kw": kw, "kw_posted": kw_posted, "missing": kw_posted - len(kw), "load_wall": load_wall,
            "orders": orders.placed, "order_errors": orders.errors, "outbox": dict(outbox),
            "received": len(hook.messages()), "received_load": len(hook.messages()) - got0,
            "attempts": hook.attempts, "attempts_load": hook.attempts - tries0}


def one_run(args: argparse.Namespace, which: str, out: TextIO) -> dict[str, Any]:
    """A fresh simulator, database and receiver; the service in this process; warm-up, then the measured load.
    Whatever fails, the service is stopped, the simulator ended and the receiver closed (ExitStack: in reverse)."""
    from core.config import load_config
    from core.service import Service

    name, mode = RUNS[which]
    report: dict[str, Any] = {"run": name, "which": which}
    with contextlib.ExitStack() as stack:
        hook = Receiver()
        stack.callback(hook.close)
        hook.mode = mode
        sim, urls = start_sim_for(args)
        stack.callback(sim.wait, 10)
        stack.callback(sim.terminate)
        warnings = Warnings()
        logging.getLogger().addHandler(warnings)
        stack.callback(logging.getLogger().removeHandler, warnings)
        control = urls["control"]
        accounts = create_accounts(control, "220", args.accounts)
        sellers = [unb for unb, _ in accounts]
        list_items(control, sellers)
        tmp = Path(tempfile.mkdtemp(prefix="xianyu-notify-bench-", dir=args.db_dir))
        write_config(tmp / "accounts.yml", urls, accounts, tmp / "bench.db", hook.url("json", HOOK_PATH),
                     args.spread)
        service = Service(load_config(tmp / "accounts.yml"), watch_config=False)
        deliveries = Deliveries()
        service.bus.add(deliveries)
        started = time.monotonic()
        service.start()
        stack.callback(lambda: "stop" in report or service.stop())  # unless stopped (and timed) below
        online, total = wait_online(service)
        report["online"] = f"{online}/{total} online in {time.monotonic() - started:.1f} s"
        time.sleep(max(0.0, args.spread + 1 - (time.monotonic() - started)))
        report["warm"] = warm_up(args, control, sellers, hook)
        warnings.records.clear()
        report.update(measure(args, control, sellers, service, hook))
        report.update(delivery_failed=deliveries.failed, notices=dict(deliveries.notices),
                      warnings=len(warnings.records))
        stop0 = time.monotonic()
        service.stop()
        report["stop"] = time.monotonic() - stop0
    print_run(report, args, out)
    return report


# -- the report --------------------------------------------------------------------------------------------------

def print_run(r: dict[str, Any], args: argparse.Namespace, out: TextIO) -> None:
    p = lambda *a: print(*a, file=out, flush=True)  # noqa: E731
    warm = r["warm"]
    p(f"run {r['run']}: {r['online']}; keyword {args.rate:g} msg/s for {args.seconds:g} s (posted in "
      f"{r['load_wall']:.1f} s), {r['orders']} paid orders ({args.orders_per_second:g}/s)"
      + (f", {len(r['order_errors'])} failed to place: {r['order_errors'][0]}" if r["order_errors"] else ""))
    p(f"  warm-up: {warm['answered']}/{warm['posted']} keyword messages answered, first notification "
      f"{'tried' if warm['notified'] else 'NOT tried'} (in {warm['took']:.1f} s)")
    p(f"  keyword push→reply: {describe(r['kw'])}; {r['missing']} of {r['kw_posted']} missing")
    if r["which"] == "A":
        p(f"  receiver: {r['received']} notifications received ({r['received_load']} during the load)")
    else:
        p(f"  receiver: {r['attempts']} POST attempts seen ({r['attempts_load']} during the load), all hung")
    outbox = ", ".join(f"{state} {n}" for state, n in sorted(r["outbox"].items())) or "empty"
    p(f"  outbox: {outbox}; deliveries failed {r['delivery_failed']}; sender said "
      f"{dict(sorted(r['notices'].items()))}; {r['warnings']} warnings logged; stopped in {r['stop']:.1f} s")


def ratio(b: list[float], a: list[float], q: float) -> float:
    low = pct(a, q)
    return pct(b, q) / low if low > 0 else float("nan")


def ratios(a: list[float], b: list[float]) -> dict[str, float]:
    return {"p50": ratio(b, a, 0.5), "p99": ratio(b, a, 0.99)}


def print_ratio(label: str, a: list[float], b: list[float], out: TextIO) -> dict[str, float]:
    r = ratios(a, b)
    print(f"{label}: keyword p50 B/A = {statistics.median(b) if b else math.nan:.1f} / "
          f"{statistics.median(a) if a else math.nan:.1f} ms = {r['p50']:.2f}; p99 B/A = {pct(b, 0.99):.1f} / "
          f"{pct(a, 0.99):.1f} ms = {r['p99']:.2f}", file=out, flush=True)
    return r


def run_bench(args: argparse.Namespace, out: TextIO = sys.stdout) -> dict[str, Any]:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"{args.accounts} accounts, keyword {args.rate:g} msg/s for {args.seconds:g} s, paid orders "
          f"{args.orders_per_second:g}/s (every delivery fails: an empty stock list), {args.pairs} A/B pair(s), "
          f"{'plain' if args.plain else 'TLS'}", file=out, flush=True)
    pairs = []
    for index in range(args.pairs):
        order = "AB" if index % 2 == 0 else "BA"
        runs = {which: one_run(args, which, out) for which in order}
        pair = {"a": runs["A"], "b": runs["B"]}
        pair.update(print_ratio(f"pair {index + 1} ({' then '.join(order)})", runs["A"]["kw"], runs["B"]["kw"], out))
        pairs.append(pair)
    pooled_a = [x for pair in pairs for x in pair["a"]["kw"]]
    pooled_b = [x for pair in pairs for x in pair["b"]["kw"]]
    pooled = print_ratio(f"pooled over {len(pairs)} pair(s)", pooled_a, pooled_b, out)
    print(f"keyword p99 with a hanging receiver / with a working one: {pooled['p99']:.2f}×", file=out, flush=True)
    return {"pairs": pairs, **pooled}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50.0, help="keyword messages per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="the measured load (s)")
    parser.add_argument("--orders-per-second", type=float, default=2.0, help="paid orders placed during the load")
    parser.add_argument("--pairs", type=int, default=1, help="A/B pairs, alternating A B, B A, …")
    parser.add_argument("--warmup", type=int, default=8, help="keyword messages answered before the measured load")
    parser.add_argument("--spread", type=float, default=3.0, help="settings.start_spread_seconds")
    parser.add_argument("--plain", action="store_true", help="ws:// and http:// instead of TLS")
    parser.add_argument("--db-dir", metavar="DIR", help="where the SQLite files go (default: a temporary directory)")
    return parser.parse_args(argv)


def main() -> None:
    report = run_bench(parse_args())
    sys.exit(0 if all(math.isfinite(report[q]) for q in ("p50", "p99")) else 1)


if __name__ == "__main__":
    main()
