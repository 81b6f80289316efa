"""Chaos soak (issue 12 §2): many accounts on `sim --tls`, steady buyers, paid orders, a random fault every second
and `kill -9` at random moments; at the end, exactly-once and all-online are checked from the simulator's records.

    python bench/chaos.py [--accounts 50] [--minutes 5] [--seed N] [--kills-every 180] [--fault-every 1]
                          [--no-faults] [--no-kills] [--rate 2] [--orders-every 3] [--db URL] [--workdir DIR]

    python bench/chaos.py --minutes 30                 # the full soak
    python bench/chaos.py --minutes 60 --no-faults     # the memory soak (no faults implies no kills)

The simulator runs in this process (TLS, IM tokens living 60 s so every reconnect calls the token API); the service
runs as `python xianyu.py --no-tui` in a subprocess (bench/harness.py). Each account has one keyword rule
(`包邮` → `包邮的哦～ {text}`, so each reply names its message) and a stock delivery rule. Buyers write at `--rate`
messages/s, each message from a new buyer, one in ten starting a chat of 3 messages; a fifth of the messages match
no rule. Orders (every 5th of 2 units) are placed and paid every `--orders-every` s on random accounts.

Every `--fault-every` s one fault kind from the simulator's list is armed on one account not already recovering
(with a `disconnect` where the kind only bites on a reconnect), then a probe message is posted to that account.
Recovery per kind: fault → account online again (a new connection for the disconnecting kinds) → the probe's reply.
The service is SIGKILLed every `--kills-every` s (×0.5-1.5, random) and started again ("kill" in the table: kill →
every account online → a probe's reply; accounts recovering from a fault of their own then are left out of the
kill's figure, as their recovery is counted under that fault's kind).

Checks, from `/_sim/sent`, `/_sim/state` only (never the service's database):
- every eligible message answered exactly once, in its own chat. Eligible: it matches the keyword rule and its
  account was online (per this script's 4 Hz watch of `/_sim/state`) within `max_message_age` − 10 s of it being
  posted (otherwise the service may rightly record it unanswered). Every message, eligible or not, is answered
  at most once; a message that matches no rule is never answered;
- every paid unit's code sent exactly once (one message per unit, no code in two units), every order shipped;
- every account online at the end.
Prints the seed first, a table, then one JSON line; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import ServiceProcess, SimClient, proc_sample  # noqa: E402
from sim.server import start as start_sim  # noqa: E402

STOCK = "chaos-cards"
DELIVERY = "订单{order_id} 第{unit}件 卡密：{code}"
_CODE = re.compile(r"订单(\d+) 第(\d+)件 卡密：(\S+)")
_TAG = re.compile(r"#m(\d+)\b")
REPLY = "包邮的哦～ {text}"
MATCHING = ["包邮吗", "能包邮吗？", "包邮到上海吗", "这个包邮不"]
OTHER = ["在吗", "成色怎么样", "什么时候发货"]
MAX_MESSAGE_AGE = 300
SETTINGS = {"start_spread_seconds": 1, "heartbeat_interval": 2, "heartbeat_timeout": 2,
            "reconnect_backoff_base": 0.2, "reconnect_backoff_cap": 2, "debounce_seconds": 0,
            "connect_timeout": 3, "http_timeout": 5, "delivery_retry_seconds": 0.5, "delivery_attempts": 50,
            "max_message_age": MAX_MESSAGE_AGE, "slider_slots": 2}
# kind → the faults armed for it (a disconnect where the kind only fires on a reconnect's token/handshake).
FAULTS: dict[str, list[tuple[str, int, float | None]]] = {
    "disconnect": [("disconnect", 1, None)],
    "stall_heartbeat": [("stall_heartbeat", 1, None)],
    "refuse_connect": [("refuse_connect", 2, None), ("disconnect", 1, None)],
    "token_expired": [("token_expired", 1, None), ("disconnect", 1, None)],
    "session_expired": [("session_expired", 1, None), ("disconnect", 1, None)],
    "malformed_push": [("malformed_push", 4, None)],
    "send_error": [("send_error", 1, None)],
    "slow_http": [("slow_http", 1, 2.0), ("disconnect", 1, None)],
    "risk_control": [("risk_control", 1, None), ("disconnect", 1, None)],
}
RECONNECTING = {"disconnect", "stall_heartbeat", "refuse_connect", "token_expired", "session_expired", "slow_http",
                "risk_control"}


@dataclass
class Msg:
    n: int
    seller: str
    cid: str
    matched: bool
    posted_ms: int


@dataclass
class Fault:
    kind: str
    seller: str
    at_ms: int
    connections: int
    probe: int | None = None
    online_ms: int | None = None


@dataclass
class World:
    sellers: list[str]
    msgs: dict[int, Msg] = field(default_factory=dict)
    orders: dict[str, tuple[str, int]] = field(default_factory=dict)  # order id → (seller, quantity)
    faults: list[Fault] = field(default_factory=list)
    kills: list[Fault] = field(default_factory=list)
    online: dict[str, list[tuple[int, bool, int]]] = field(default_factory=dict)  # transitions (ms, online, conns)
    recovering: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    counter: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def next_n(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter


def now_ms() -> int:
    return int(time.time() * 1000)


def post_message(sim: SimClient, world: World, seller: str, buyer: str, item: str, matched: bool,
                 rng: random.Random) -> int:
    n = world.next_n()
    text = f"{rng.choice(MATCHING if matched else OTHER)} #m{n}"
    posted = now_ms()
    cid = sim.post("/messages", {"seller": seller, "buyer": buyer, "item_id": item, "text": text})["cid"]
    with world.lock:
        world.msgs[n] = Msg(n, seller, cid, matched, posted)
    return n


def item_of(seller: str) -> str:
    return "9" + seller[1:]


def buyers(urls: dict[str, str], world: World, rate: float, rng: random.Random) -> None:
    sim, follow_ups, buyer_no = SimClient(urls), [], 0
    gap, due = 1.0 / rate, time.monotonic()
    while not world.stop.is_set():
        due += gap * rng.uniform(0.5, 1.5)
        while follow_ups and follow_ups[0][0] <= time.monotonic():
            _, seller, buyer, left = heapq.heappop(follow_ups)
            _safe(world, post_message, sim, world, seller, buyer, item_of(seller), rng.random() < 0.8, rng)
            if left > 1:
                heapq.heappush(follow_ups, (time.monotonic() + rng.uniform(1, 3), seller, buyer, left - 1))
        buyer_no += 1
        seller, buyer = rng.choice(world.sellers), str(3400000000000 + buyer_no)
        _safe(world, post_message, sim, world, seller, buyer, item_of(seller), rng.random() < 0.8, rng)
        if rng.random() < 0.1:
            heapq.heappush(follow_ups, (time.monotonic() + rng.uniform(1, 3), seller, buyer, 2))
        world.stop.wait(max(0.0, due - time.monotonic()))


def orders(urls: dict[str, str], world: World, every: float, rng: random.Random) -> None:
    sim, n = SimClient(urls), 0
    while not world.stop.wait(every * rng.uniform(0.5, 1.5)):
        n += 1
        seller, quantity = rng.choice(world.sellers), 2 if n % 5 == 0 else 1
        try:
            order = sim.post("/orders", {"seller": seller, "buyer": str(3500000000000 + n), "item_id": item_of(seller),
                                         "status": "unpaid", "quantity": quantity})
            time.sleep(0.05)
            sim.post("/orders", {"order_id": order["order_id"], "status": "paid"})
            with world.lock:
                world.orders[order["order_id"]] = (seller, quantity)
        except Exception as error:  # noqa: BLE001 - counted, the soak goes on
            world.errors[f"order: {type(error).__name__}"] += 1


def watch(urls: dict[str, str], world: World) -> None:
    sim = SimClient(urls)
    while not getattr(world, "watch_done", False):
        try:
            state, t = sim.state(), now_ms()
        except Exception:  # noqa: BLE001
            time.sleep(0.25)
            continue
        with world.lock:
            for unb in world.sellers:
                a = state[unb]
                row = (t, bool(a["online"]), int(a["connections"]))
                history = world.online.setdefault(unb, [])
                if not history or history[-1][1:] != row[1:]:
                    history.append(row)
        time.sleep(0.25)


def _current(world: World, seller: str) -> tuple[bool, int]:
    with world.lock:
        history = world.online.get(seller) or [(0, False, 0)]
        return history[-1][1], history[-1][2]


def faults(urls: dict[str, str], world: World, every: float, rng: random.Random, kinds: list[str]) -> None:
    sim = SimClient(urls)
    while not world.stop.wait(every):
        with world.lock:
            free = [s for s in world.sellers if s not in world.recovering]
        if not free:
            continue
        kind, seller = rng.choice(kinds), rng.choice(free)
        _, connections = _current(world, seller)
        fault = Fault(kind, seller, now_ms(), connections)
        try:
            for name, count, delay in FAULTS[kind]:
                sim.fault(seller, name, count, delay)
            fault.probe = post_message(sim, world, seller, str(3600000000000 + len(world.faults)), item_of(seller),
                                       True, rng)
        except Exception as error:  # noqa: BLE001
            world.errors[f"fault: {type(error).__name__}"] += 1
        with world.lock:
            world.faults.append(fault)
            world.recovering.add(seller)


def _safe(world: World, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as error:  # noqa: BLE001 - the simulator's control API under load: counted, not fatal
        world.errors[f"{fn.__name__}: {type(error).__name__}"] += 1
        return None


class SentLog:
    """`/_sim/sent` of every seller, fetched incrementally."""

    def __init__(self, urls: dict[str, str], sellers: list[str]) -> None:
        self._sim = SimClient(urls)
        self.messages: dict[str, list[dict[str, Any]]] = {s: [] for s in sellers}

    def refresh(self) -> None:
        for seller, got in self.messages.items():
            since = got[-1]["seq"] if got else 0
            got.extend(self._sim.get("/sent", seller=seller, since=since)["messages"])


def replies_by_tag(sent: SentLog) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for seller, messages in sent.messages.items():
        for m in messages:
            match = _TAG.search(m["text"]) if m["text"].startswith("包邮的哦") else None
            if match:
                out[int(match.group(1))].append({**m, "seller": seller})
    return out


def eligible(world: World, msg: Msg) -> bool:
    if not msg.matched:
        return False
    limit = msg.posted_ms + (MAX_MESSAGE_AGE - 10) * 1000
    history = world.online.get(msg.seller, [])
    online_at_post = [h for h in history if h[0] <= msg.posted_ms]
    if online_at_post and online_at_post[-1][1]:
        return True
    return any(h[1] and msg.posted_ms <= h[0] <= limit for h in history)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 2)


def check(world: World, sent: SentLog, state: dict[str, Any]) -> dict[str, Any]:
    by_tag = replies_by_tag(sent)
    lost, doubled, wrong_chat, unmatched_answered, ineligible = [], [], [], [], 0
    for n, msg in world.msgs.items():
        got = by_tag.get(n, [])
        if any(r["cid"] != msg.cid for r in got):
            wrong_chat.append(n)
        if len(got) > 1:
            doubled.append(n)
        if not msg.matched:
            if got:
                unmatched_answered.append(n)
        elif not eligible(world, msg):
            ineligible += 1
        elif not got:
            lost.append(n)
    units: Counter[tuple[str, str]] = Counter()
    code_owner: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for messages in sent.messages.values():
        for m in messages:
            match = _CODE.search(m["text"])
            if match:
                order_id, unit, code = match.groups()
                units[(order_id, unit)] += 1
                code_owner[code].add((order_id, unit))
    missing_units = [f"{o}#{u}" for o, (_, q) in world.orders.items() for u in range(1, q + 1)
                     if units[(o, str(u))] == 0]
    repeated_units = [f"{o}#{u}" for (o, u), k in units.items() if k > 1]
    shipped = {o for a in state.values() for o in a.get("shipments", [])}
    offline = [s for s in world.sellers if not state[s]["online"]]
    return {
        "messages": len(world.msgs), "matching": sum(m.matched for m in world.msgs.values()),
        "not_eligible": ineligible, "lost": lost, "doubled": doubled, "wrong_chat": wrong_chat,
        "unmatched_answered": unmatched_answered,
        "orders": len(world.orders), "units": sum(q for _, q in world.orders.values()),
        "missing_units": missing_units, "repeated_units": repeated_units,
        "codes_in_two_units": sum(len(v) > 1 for v in code_owner.values()),
        "not_shipped": sorted(set(world.orders) - shipped), "offline": offline,
    }


def recovery(world: World, sent: SentLog) -> dict[str, dict[str, Any]]:
    by_tag = replies_by_tag(sent)
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"online": [], "reply": [], "never": []})
    for f in world.faults + world.kills:
        row = table[f.kind]
        if f.kind == "kill":
            online = f.online_ms
        else:
            online = _online_after(world.online.get(f.seller, []), f.at_ms,
                                   f.connections + 1 if f.kind in RECONNECTING else 0)
        replies = by_tag.get(f.probe or -1, [])
        if online is None or not replies:
            row["never"].append(1)
            continue
        row["online"].append((online - f.at_ms) / 1000)
        row["reply"].append((replies[0]["at_ms"] - f.at_ms) / 1000)
    return {kind: {"n": len(r["online"]) + len(r["never"]), "unrecovered": len(r["never"]),
                   **{f"{what}_s_{q}": pct(r[what], p) for what in ("online", "reply")
                      for q, p in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))}}
            for kind, r in sorted(table.items())}


def _online_after(history: list[tuple[int, bool, int]], at_ms: int, need: int) -> int | None:
    """When the account was first seen online on a connection numbered >= need, at or after at_ms."""
    before = [h for h in history if h[0] <= at_ms]
    if before and before[-1][1] and before[-1][2] >= need:
        return at_ms
    return next((h[0] for h in history if h[0] > at_ms and h[1] and h[2] >= need), None)


def write_config(workdir: Path, urls: dict[str, str], cookies: dict[str, str], db_url: str) -> Path:
    document = {
        "server": {"ws": urls["ws"], "api": urls["api"], "passport": urls["passport"], "ca": urls["ca"]},
        "database": db_url,
        "settings": SETTINGS,
        "accounts": [{"id": f"chaos-{n:03d}", "cookie": cookie,
                      "keywords": [{"match": "包邮", "reply": REPLY}],
                      "delivery": [{"item": item_of(unb), "stock": STOCK, "message": DELIVERY, "low_stock": 0}]}
                     for n, (unb, cookie) in enumerate(cookies.items())],
    }
    path = workdir / "accounts.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def wait_all_online(world: World, after: dict[str, int] | None, deadline: float,
                    own_faults: bool = True) -> int | None:
    """Until every account is online (on a connection beyond `after[seller]` when given): the ms, or None.
    ``own_faults=False`` leaves out the accounts recovering from a fault of their own (armed before the wait or
    during it): their recovery is measured under that fault's kind, and a kill's figure would otherwise be the
    slowest fault that happened to overlap it (a slider after the restart)."""
    while time.monotonic() < deadline:
        with world.lock:
            ok = all((h := world.online.get(s)) and h[-1][1] and (after is None or h[-1][2] > after[s])
                     for s in world.sellers if own_faults or s not in world.recovering)
        if ok:
            return now_ms()
        time.sleep(0.1)
    return None


def run_chaos(workdir: Path, accounts: int = 50, minutes: float = 5, seed: int | None = None,
              kills_every: float | None = 180, fault_every: float | None = 1.0, rate: float = 2.0,
              orders_every: float = 3.0, db_url: str | None = None, settle_timeout: float = 120,
              skip: tuple[str, ...] = (), log: Any = print) -> dict[str, Any]:
    seed = seed if seed is not None else random.SystemRandom().randrange(1 << 31)
    log(f"chaos seed {seed}")
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{workdir / 'chaos.db'}"
    seconds = minutes * 60
    with start_sim(tls=True, ackdiff_wait=0.5, seed=seed, token_ttl=60) as simulator:
        urls = simulator.urls
        sim = SimClient(urls)
        cookies = {}
        for n in range(accounts):
            unb = str(2200000100000 + n)
            cookies[unb] = sim.post("/accounts", {"unb": unb, "nick": f"chaos-{n:03d}"})["cookie"]
            sim.post("/items", {"seller": unb, "item_id": item_of(unb), "title": "会员兑换码", "price": "9.90",
                                "desc": "", "quantity": 1000000})
        world = World(sellers=list(cookies))
        config = write_config(workdir, urls, cookies, db_url)
        codes = workdir / "codes.txt"
        n_codes = int(seconds / orders_every * 1.2 * 1.5) + 50
        codes.write_text("".join(f"C{n:06d}-{rng.getrandbits(40):010x}\n" for n in range(n_codes)), encoding="utf-8")
        subprocess.run([sys.executable, str(ROOT / "xianyu.py"), "stock", "import", STOCK, str(codes),
                        "--config", str(config)], cwd=ROOT, check=True, capture_output=True)
        service = ServiceProcess(config, workdir / "service.log", log_level="INFO")
        watcher = threading.Thread(target=watch, args=(urls, world), daemon=True)
        watcher.start()
        service.start()
        if wait_all_online(world, None, time.monotonic() + 60) is None:
            raise RuntimeError("the service did not get every account online within 60 s")
        time.sleep(2)
        samples = [{"t_s": 0.0, "start": 1, **(proc_sample(service.pid) or {})}]
        began = time.monotonic()
        threads = [threading.Thread(target=buyers, args=(urls, world, rate, random.Random(rng.random())), daemon=True),
                   threading.Thread(target=orders, args=(urls, world, orders_every, random.Random(rng.random())),
                                    daemon=True)]
        if fault_every:
            threads.append(threading.Thread(target=faults, args=(urls, world, fault_every, random.Random(rng.random()),
                                                                 [k for k in sorted(FAULTS) if k not in skip]),
                                        daemon=True))
        for thread in threads:
            thread.start()
        sent = SentLog(urls, world.sellers)
        kill_rng = random.Random(rng.random())
        next_kill = began + kills_every * kill_rng.uniform(0.5, 1.5) if kills_every else float("inf")
        next_sample = began + 60
        while time.monotonic() - began < seconds:
            time.sleep(0.2)
            if time.monotonic() >= next_sample:
                samples.append({"t_s": round(time.monotonic() - began, 1), "start": service.starts,
                                **(proc_sample(service.pid) or {})})
                next_sample += 60
            if time.monotonic() >= next_kill and time.monotonic() - began < seconds - 5:
                with world.lock:
                    before = {s: world.online.get(s, [(0, False, 0)])[-1][2] for s in world.sellers}
                service.kill()
                kill = Fault("kill", "*", now_ms(), 0)
                time.sleep(kill_rng.uniform(0.0, 1.0))
                service.start()
                kill.online_ms = wait_all_online(world, before, time.monotonic() + 60, own_faults=False)
                with world.lock:
                    calm = [s for s in world.sellers if s not in world.recovering] or world.sellers
                kill.probe = _safe(world, post_message, sim, world, calm[0], str(3700000000000 + len(
                    world.kills)), item_of(calm[0]), True, kill_rng)
                world.kills.append(kill)
                next_kill = time.monotonic() + kills_every * kill_rng.uniform(0.5, 1.5)
            _clear_recovered(world, sent)
        world.stop.set()
        for thread in threads:
            thread.join(timeout=15)
        for kind in ("disconnect", "stall_heartbeat", "refuse_connect", "token_expired", "session_expired",
                     "malformed_push", "send_error", "slow_http", "risk_control"):
            sim.fault("*", kind, 0)
        # Settle: everything answered and delivered, every account online (or the deadline), then a quiet spell
        # so late duplicates show.
        settle_began = time.monotonic()
        world.stop.clear()
        while time.monotonic() - settle_began < settle_timeout:
            sent.refresh()
            verdict = check(world, sent, sim.state())
            if not (verdict["lost"] or verdict["missing_units"] or verdict["offline"] or verdict["not_shipped"]):
                break
            time.sleep(1)
        settled_s = time.monotonic() - settle_began
        time.sleep(3)
        samples.append({"t_s": round(time.monotonic() - began, 1), "start": service.starts,
                        **(proc_sample(service.pid) or {})})
        sent.refresh()
        state = sim.state()
        verdict = check(world, sent, state)
        world.watch_done = True  # type: ignore[attr-defined]
        world.stop.set()
        service.stop()
    recovered = recovery(world, sent)
    ok = not (verdict["lost"] or verdict["doubled"] or verdict["wrong_chat"] or verdict["unmatched_answered"]
              or verdict["missing_units"] or verdict["repeated_units"] or verdict["codes_in_two_units"]
              or verdict["not_shipped"] or verdict["offline"])
    return {"seed": seed, "ok": ok, "skipped_kinds": list(skip), "accounts": accounts, "minutes": minutes, "rate": rate,
            "fault_every": fault_every, "kills_every": kills_every, "kills": len(world.kills),
            "starts": service.starts, "faults": len(world.faults), "settle_s": round(settled_s, 1),
            "checks": {k: (v if isinstance(v, int) else len(v)) for k, v in verdict.items()},
            "failures": {k: v[:20] for k, v in verdict.items() if isinstance(v, list) and v},
            "recovery": recovered, "process": samples, "memory": memory(samples),
            "control_api_errors": dict(world.errors), "workdir": str(workdir)}


def _clear_recovered(world: World, sent: SentLog) -> None:
    """Free accounts whose probe has been answered, so the next fault can pick them (about once a second)."""
    t = time.monotonic()
    if t - getattr(world, "_cleared", 0) < 1:
        return
    world._cleared = t  # type: ignore[attr-defined]
    with world.lock:
        pending = {f.probe: f.seller for f in world.faults[-200:] if f.seller in world.recovering and f.probe}
    if not pending:
        return
    try:
        sent.refresh()
    except Exception:  # noqa: BLE001
        return
    by_tag = replies_by_tag(sent)
    with world.lock:
        for probe, seller in pending.items():
            if by_tag.get(probe):
                world.recovering.discard(seller)
        for f in world.faults:  # a probe lost for good must not block its account forever
            if f.seller in world.recovering and now_ms() - f.at_ms > 60_000:
                world.recovering.discard(f.seller)


def memory(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """RSS growth after the first 5 minutes (of the same process), threads and fds at start and end."""
    last = samples[-1]
    # Only one process's life is a memory soak: after a kill -9 the figures start over.
    same = [s for s in samples if "rss_kib" in s] if last.get("start") == 1 else []
    base = next((s for s in same if s["t_s"] >= 300), None)
    out: dict[str, Any] = {key: [samples[0].get(key), last.get(key)] for key in ("rss_kib", "threads", "fds")}
    if base and base is not last and "rss_kib" in last:
        out["rss_growth_after_5min_pct"] = round(100 * (last["rss_kib"] - base["rss_kib"]) / base["rss_kib"], 2)
        out["threads_growth_after_5min"] = last["threads"] - base["threads"]
        out["fds_growth_after_5min"] = last["fds"] - base["fds"]
    else:
        out["rss_growth_after_5min_pct"] = None  # a restart since, or shorter than 5 minutes
    return out


def table(report: dict[str, Any]) -> str:
    lines = [f"seed {report['seed']}  accounts {report['accounts']}  minutes {report['minutes']}  "
             f"kills {report['kills']}  faults {report['faults']}  settle {report['settle_s']} s  "
             f"{'OK' if report['ok'] else 'FAILED'}", ""]
    c = report["checks"]
    lines += [f"messages {c['messages']} (matching {c['matching']}, not eligible {c['not_eligible']}): "
              f"lost {c['lost']}, doubled {c['doubled']}, wrong chat {c['wrong_chat']}, "
              f"non-matching answered {c['unmatched_answered']}",
              f"orders {c['orders']} / units {c['units']}: missing {c['missing_units']}, repeated "
              f"{c['repeated_units']}, code in two units {c['codes_in_two_units']}, not shipped {c['not_shipped']}",
              f"accounts offline at the end: {c['offline']}", ""]
    lines.append(f"{'kind':<16} {'n':>4} {'never':>5}  {'online p50/p99/max s':>22}  {'reply p50/p99/max s':>22}")
    def trio(r: dict[str, Any], what: str) -> str:
        return "/".join("-" if r[f"{what}_s_{q}"] is None else f"{r[f'{what}_s_{q}']:.2f}"
                        for q in ("p50", "p99", "max"))

    for kind, r in report["recovery"].items():
        lines.append(f"{kind:<16} {r['n']:>4} {r['unrecovered']:>5}  {trio(r, 'online'):>22}  {trio(r, 'reply'):>22}")
    m = report["memory"]
    lines += ["", f"service RSS KiB start/end {m['rss_kib']}, threads {m['threads']}, fds {m['fds']}, "
                  f"RSS growth after 5 min {m['rss_growth_after_5min_pct']} %"]
    if report["failures"]:
        lines.append(f"failures: {json.dumps(report['failures'], ensure_ascii=False)}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--kills-every", type=float, default=None, help="mean seconds between kill -9 (180)")
    parser.add_argument("--fault-every", type=float, default=1.0)
    parser.add_argument("--no-faults", action="store_true", help="no faults; implies --no-kills unless --kills-every")
    parser.add_argument("--no-kills", action="store_true")
    parser.add_argument("--skip", default="", help="fault kinds left out, comma-separated (to isolate a finding)")
    parser.add_argument("--rate", type=float, default=2.0, help="buyer messages per second")
    parser.add_argument("--orders-every", type=float, default=3.0, help="mean seconds between paid orders")
    parser.add_argument("--db", help="database URL (default: a SQLite file in the work directory)")
    parser.add_argument("--settle-timeout", type=float, default=120)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    kills_every = args.kills_every
    if args.no_kills or (args.no_faults and kills_every is None):
        kills_every = None
    elif kills_every is None:
        kills_every = 180.0
    workdir = Path(args.workdir or f"/tmp/chaos-{os.getpid()}")
    report = run_chaos(workdir, args.accounts, args.minutes, args.seed, kills_every,
                       None if args.no_faults else args.fault_every, args.rate, args.orders_every, args.db,
                       args.settle_timeout, tuple(k for k in args.skip.split(",") if k), log=lambda s: print(s, flush=True))
    print(table(report))
    print(json.dumps(report, ensure_ascii=False))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
