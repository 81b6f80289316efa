"""Crash test of exactly-once delivery: kill -9 the service at random moments while buyers pay, restart it,
and check the books afterwards.

    python bench/orders_crash.py [--orders 100] [--kills 6] [--quantity-every 7] [--order-gap 0.2] [--seed N]
                                 [--db URL | --postgres]

The simulator runs in this process; the service runs as `python xianyu.py --no-tui` in a subprocess with a
stock rule. Buyers place and pay orders at a random pace (every 7th buys 2 units), while this script kills
the service with SIGKILL at a random moment 0.05-1.5 s after each (re)start got online — while it replays
its backlog and delivers — and starts it again. After the last order it lets the service
finish and then checks, from the buyer's side (`/_sim/sent`) and from the database:

- every order got exactly its quantity of distinct codes, and every code reached exactly one order;
- stock accounting is exact: imported = available + reserved + sent, nothing reserved, sent = units ordered,
  and the codes the database says were sent are exactly the codes the buyers received;
- every order was confirmed shipped on the platform.

A repeated message with the same code (possible only if the service died after the server took a message but
before the chat history showed it) is counted and reported, not hidden. Prints one JSON line of figures.
tests/orders/test_crash.py runs a short version in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import ServiceProcess  # noqa: E402
from sim.server import start as start_sim  # noqa: E402
from storage import Store  # noqa: E402

SELLER = "2200000000777"
ACCOUNT = "crash-shop"
ITEM = "900000000777"
STOCK = "crash-cards"
MESSAGE = "订单{order_id} 第{unit}件 卡密：{code}"
_SENT = re.compile(r"订单(\d+) 第(\d+)件 卡密：(\S+)")
SETTINGS = {"start_spread_seconds": 0, "heartbeat_interval": 1, "heartbeat_timeout": 2,
            "reconnect_backoff_base": 0.1, "reconnect_backoff_cap": 1, "debounce_seconds": 0,
            "connect_timeout": 3, "http_timeout": 3, "delivery_retry_seconds": 0.2, "delivery_attempts": 50}


@dataclass
class CrashReport:
    orders: int
    units: int
    kills: int
    starts: int
    seconds_to_settle: float
    pay_to_code_ms_p50: int
    pay_to_code_ms_p95: int
    pay_to_code_ms_max: int
    units_reserved_before_a_kill_sent_after: int
    messages: int
    repeated_messages: int
    orders_missing_codes: int
    orders_with_extra_codes: int
    codes_in_two_orders: int
    imported: int
    available: int
    reserved: int
    sent: int
    db_matches_buyers: bool
    shipped: int

    @property
    def ok(self) -> bool:
        return (self.orders_missing_codes == 0 and self.orders_with_extra_codes == 0
                and self.codes_in_two_orders == 0 and self.reserved == 0 and self.sent == self.units
                and self.available + self.reserved + self.sent == self.imported and self.db_matches_buyers
                and self.shipped == self.orders)


def run_crash(workdir: Path, orders: int = 100, kills: int = 6, quantity_every: int = 7, seed: int | None = None,
              db_url: str | None = None, settle_timeout: float = 120.0, order_gap: float = 0.2) -> CrashReport:
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{workdir / 'crash.db'}"
    quantities = [2 if quantity_every and (n + 1) % quantity_every == 0 else 1 for n in range(orders)]
    units = sum(quantities)
    imported = units + 20
    with start_sim(ackdiff_wait=0.5, seed=seed) as sim:
        control = sim.urls["control"]
        cookie = _post(control, "/accounts", {"unb": SELLER, "nick": "crash-shop"})["cookie"]
        _post(control, "/items", {"seller": SELLER, "item_id": ITEM, "title": "会员兑换码", "price": "9.90",
                                  "desc": "", "quantity": 100000})
        config = _write_config(workdir, sim.urls, cookie, db_url)
        codes = [f"K{n:05d}-{rng.getrandbits(40):010x}" for n in range(imported)]
        codes_file = workdir / "codes.txt"
        codes_file.write_text("\n".join(codes) + "\n", encoding="utf-8")
        subprocess.run([sys.executable, str(ROOT / "xianyu.py"), "stock", "import", STOCK, str(codes_file),
                        "--config", str(config)], cwd=ROOT, check=True, capture_output=True)
        service = ServiceProcess(config, workdir / "service.log")
        service.start()
        _wait_online(control, 0, time.monotonic() + 30)
        placed: list[str] = []
        paid_ms: dict[str, int] = {}
        buyers = threading.Thread(target=_buy, args=(control, quantities, placed, paid_ms, order_gap, rng.random),
                                  daemon=True)
        buyers.start()
        kill_ms: list[int] = []
        # Killed while it works (online, replaying its backlog, delivering), not while it boots.
        while len(kill_ms) < kills and buyers.is_alive():
            time.sleep(rng.uniform(0.05, 1.5))
            service.kill()
            kill_ms.append(int(time.time() * 1000))
            time.sleep(rng.uniform(0.0, 0.5))
            before = _connections(control)
            service.start()
            _wait_online(control, before, time.monotonic() + 30)
        buyers.join()
        began = time.monotonic()
        try:
            settled = _wait_settled(db_url, placed, quantities, began + settle_timeout)
        finally:
            service.stop()
        sent = _get(control, "/sent", seller=SELLER, since=0)["messages"]
        shipments = _get(control, "/state")["accounts"][SELLER]["shipments"]
    return _report(db_url, placed, quantities, sent, shipments, kill_ms, service.starts, settled, imported, paid_ms)


def _buy(control: str, quantities: list[int], placed: list[str], paid_ms: dict[str, int], gap: float,
         random_unit: Any) -> None:
    for n, quantity in enumerate(quantities):
        buyer = str(3300000000000 + n)
        order = _post(control, "/orders", {"seller": SELLER, "buyer": buyer, "item_id": ITEM, "status": "unpaid",
                                           "quantity": quantity})
        time.sleep(0.01 + 0.05 * random_unit())
        paid_ms[order["order_id"]] = int(time.time() * 1000)
        _post(control, "/orders", {"order_id": order["order_id"], "status": "paid"})
        placed.append(order["order_id"])
        time.sleep(2 * gap * random_unit())


def _connections(control: str) -> int:
    return int(_get(control, "/state")["accounts"][SELLER]["connections"])


def _wait_online(control: str, after: int, deadline: float) -> None:
    """Until the service registered a connection beyond the first `after` (the current run is online)."""
    while _connections(control) <= after and time.monotonic() < deadline:
        time.sleep(0.05)


def _wait_settled(db_url: str, placed: list[str], quantities: list[int], deadline: float) -> float:
    """Seconds until every order's delivery is sent (or the deadline)."""
    began = time.monotonic()
    while time.monotonic() < deadline:
        with Store(db_url) as store:
            states = {o.order_id: o.delivery_state for o in store.orders.recent(limit=len(placed) + 10)}
        if all(states.get(order_id) == "sent" for order_id in placed):
            return time.monotonic() - began
        time.sleep(0.5)
    return float("inf")


def _report(db_url: str, placed: list[str], quantities: list[int], sent: list[dict[str, Any]], shipments: list[str],
            kill_ms: list[int], starts: int, settled: float, imported: int, paid_ms: dict[str, int]) -> CrashReport:
    wanted = dict(zip(placed, quantities, strict=True))
    per_order: dict[str, set[str]] = defaultdict(set)
    orders_of_code: dict[str, set[str]] = defaultdict(set)
    messages: Counter[tuple[str, str]] = Counter()
    first_code_ms: dict[str, int] = {}
    for message in sent:
        match = _SENT.search(message["text"])
        if match:
            order_id, _unit, code = match.groups()
            first_code_ms.setdefault(order_id, message["at_ms"])
            per_order[order_id].add(code)
            orders_of_code[code].add(order_id)
            messages[(order_id, code)] += 1
    with Store(db_url) as store:
        counts = store.stock.counts(STOCK).get(STOCK, {"available": 0, "reserved": 0, "sent": 0})
        db_sent = {(c.order_id, c.code) for c in store.stock.codes(STOCK) if c.state == "sent"}
        units = store.orders.units(ACCOUNT, placed)
    # The recovery path at work: a unit whose code was reserved by one process and sent by the next.
    straddling = sum(any(u.reserved_at_ms < k < (u.sent_at_ms or 0) for k in kill_ms) for u in units)
    buyers_got = {(order_id, code) for order_id, got in per_order.items() for code in got}
    waits = sorted(first_code_ms[o] - paid_ms[o] for o in placed if o in first_code_ms)
    waits = waits or [0]
    return CrashReport(
        orders=len(placed), units=sum(quantities), kills=len(kill_ms), starts=starts,
        seconds_to_settle=round(settled, 2), pay_to_code_ms_p50=waits[len(waits) // 2],
        pay_to_code_ms_p95=waits[int(len(waits) * 0.95)], pay_to_code_ms_max=waits[-1],
        units_reserved_before_a_kill_sent_after=straddling,
        messages=sum(messages.values()),
        repeated_messages=sum(n - 1 for n in messages.values()),
        orders_missing_codes=sum(len(per_order.get(o, ())) < q for o, q in wanted.items()),
        orders_with_extra_codes=sum(len(per_order.get(o, ())) > q for o, q in wanted.items()),
        codes_in_two_orders=sum(len(owners) > 1 for owners in orders_of_code.values()),
        imported=imported, available=counts["available"], reserved=counts["reserved"], sent=counts["sent"],
        db_matches_buyers=db_sent == buyers_got, shipped=len(set(shipments) & set(placed)))


def _write_config(workdir: Path, urls: dict[str, str], cookie: str, db_url: str) -> Path:
    document = {
        "server": {"ws": urls["ws"], "api": urls["api"], "passport": urls["passport"]},
        "database": db_url,
        "settings": SETTINGS,
        "accounts": [{"id": ACCOUNT, "cookie": cookie,
                      "delivery": [{"item": ITEM, "stock": STOCK, "message": MESSAGE, "low_stock": 0}]}],
    }
    path = workdir / "accounts.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _post(control: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{control}{path}", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def _get(control: str, path: str, **query: Any) -> dict[str, Any]:
    answer = requests.get(f"{control}{path}", params=query, timeout=10)
    answer.raise_for_status()
    return answer.json()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--quantity-every", type=int, default=7, help="every Nth order buys 2 units (0: never)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--order-gap", type=float, default=0.2, help="mean seconds between paid orders")
    parser.add_argument("--db", help="database URL (default: a SQLite file in the work directory)")
    parser.add_argument("--postgres", action="store_true",
                        help="run on a throw-away PostgreSQL server (tests/pg_server.py) instead")
    parser.add_argument("--workdir", default=None, help="where the config, database and service log go")
    args = parser.parse_args()
    workdir = Path(args.workdir or f"/tmp/orders-crash-{os.getpid()}")
    with contextlib.ExitStack() as stack:
        db_url = args.db
        if args.postgres:
            from tests.pg_server import running_postgres

            db_url = stack.enter_context(running_postgres("orders_crash"))
        report = run_crash(workdir, args.orders, args.kills, args.quantity_every, args.seed, db_url,
                           order_gap=args.order_gap)
    print(json.dumps({**asdict(report), "ok": report.ok, "workdir": str(workdir)}, ensure_ascii=False))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
