"""How much an idle IM connection costs the simulator: N clients that register and heartbeat, nothing else.

    python bench/sim_idle.py [--connections 2000] [--interval 15] [--duration 60] [--mode plain|tls|both]

For each mode it starts `python -m sim` (plain, then --tls) as a subprocess, creates N accounts through the
control API, fetches N IM tokens over signed mtop calls (a small thread pool), then opens N concurrent WebSocket
connections (asyncio `websockets` client — the load generator is not the product) that each send /reg and
ackDiff, ACK the sync pushes, and send a heartbeat every --interval seconds (first one at a random offset, like
independent clients). It prints connections established, failures, heartbeat reply latency (p50/p99/max), the
sim's CPU (user+sys over the heartbeat window, from /proc/<pid>/stat), its RSS (VmRSS before, at the end, and
peak VmHWM, from /proc/<pid>/status), RSS per connection and the sim's thread count.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import ssl
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
SIGN_APP_KEY = "34839810"
IM_APP_KEY = "444e9908a51d1cb236a27862abc769c9"
TOKEN_API = "mtop.taobao.idlemessage.pc.login.token"
CONNECT_AT_ONCE = 200     # handshakes in flight at once


# -- the sim process ----------------------------------------------------------------------------------------------
def proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    return int(proc_status(pid)[key].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime


def start_sim(tls: bool) -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [sys.executable, "-m", "sim", "--log-level", "ERROR"] + (["--tls"] if tls else [])
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


# -- accounts and tokens over HTTP -------------------------------------------------------------------------------
def login(urls: dict[str, str], verify: str | bool, unb: str) -> tuple[str, str, str]:
    """Create the account, then fetch an IM token the way the bots do. Returns (unb, device id, token)."""
    http = requests.Session()
    answer = http.post(f"{urls['control']}/accounts", json={"unb": unb, "nick": f"压测{unb[-4:]}"}, verify=verify,
                       timeout=30).json()
    cookies = dict(part.split("=", 1) for part in answer["cookie"].split("; "))
    device = f"BENCH-{unb}"
    data = json.dumps({"appKey": IM_APP_KEY, "deviceId": device}, separators=(",", ":"))
    t = str(int(time.time() * 1000))
    token = cookies["_m_h5_tk"].split("_")[0]
    sign = hashlib.md5(f"{token}&{t}&{SIGN_APP_KEY}&{data}".encode()).hexdigest()
    reply = http.post(f"{urls['api']}/h5/{TOKEN_API}/1.0/", params={"t": t, "sign": sign, "appKey": SIGN_APP_KEY},
                      data={"data": data}, headers={"Cookie": answer["cookie"]}, verify=verify, timeout=30).json()
    return unb, device, reply["data"]["accessToken"]


# -- idle IM clients ---------------------------------------------------------------------------------------------
@dataclass
class Window:
    """Connect everyone first; then all heartbeat together until `end` (so CPU is measured in steady state)."""

    go: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)    # close only after the sim was measured
    end: float = 0.0
    established: int = 0
    failures: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    missed_heartbeats: int = 0


async def reply_to(ws: ClientConnection, mid: str, timeout: float) -> dict:
    """Wait for the reply to `mid`, ACKing any push that arrives meanwhile (as a real client does)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if "lwp" in frame:
                await ws.send(json.dumps({"code": 200, "headers": {"mid": frame["headers"]["mid"],
                                                                   "sid": frame["headers"].get("sid", "")}}))
            elif frame.get("headers", {}).get("mid") == mid:
                return frame


async def open_client(urls: dict[str, str], tls: ssl.SSLContext | None,
                      account: tuple[str, str, str]) -> ClientConnection:
    """Connect, /reg, ackDiff: XianyuAutoAgent's sequence."""
    unb, device, token = account
    ws = await connect(urls["ws"], ssl=tls, compression=None, ping_interval=None, proxy=None, open_timeout=60,
                       close_timeout=2)
    await ws.send(json.dumps({"lwp": "/reg", "headers": {
        "cache-header": "app-key token ua wv", "app-key": IM_APP_KEY, "token": token, "ua": "bench", "dt": "j",
        "wv": "im:3,au:3,sy:6", "sync": "0,0;0;0;", "did": device, "mid": f"reg{unb} 0"}}))
    if (await reply_to(ws, f"reg{unb} 0", 60)).get("code") != 200:
        raise RuntimeError("/reg refused")
    now = int(time.time() * 1000)
    await ws.send(json.dumps({"lwp": "/r/SyncStatus/ackDiff", "headers": {"mid": f"diff{unb} 0"}, "body": [
        {"pipeline": "sync", "topic": "sync", "highPts": 0, "pts": now * 1000, "seq": 0, "timestamp": now}]}))
    await reply_to(ws, f"diff{unb} 0", 60)
    return ws


async def idle_client(urls: dict[str, str], tls: ssl.SSLContext | None, account: tuple[str, str, str],
                      gate: asyncio.Semaphore, interval: float, window: Window) -> None:
    try:
        async with gate:
            ws = await open_client(urls, tls, account)
        window.established += 1
    except Exception as exc:    # counted, not fatal: the point is to see how many fail
        window.failures.append(f"{account[0]}: {exc!r}")
        return
    async with ws:
        await window.go.wait()
        await asyncio.sleep(random.uniform(0, interval))
        beat = 0
        while time.monotonic() < window.end:
            beat += 1
            mid = f"{beat}{account[0]} 0"
            sent = time.perf_counter()
            await ws.send(json.dumps({"lwp": "/!", "headers": {"mid": mid}}))
            try:
                await reply_to(ws, mid, 10)
                window.latencies_ms.append((time.perf_counter() - sent) * 1000)
            except TimeoutError:
                window.missed_heartbeats += 1
            await asyncio.sleep(max(0.0, min(interval, window.end - time.monotonic())))
        await window.release.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def measure(urls: dict[str, str], accounts: list[tuple[str, str, str]], interval: float, duration: float,
                  pid: int) -> dict[str, object]:
    tls = ssl.create_default_context(cafile=urls["ca"]) if "ca" in urls else None
    window = Window()
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    rss_before = rss_mib(pid)
    started = time.monotonic()
    clients = [asyncio.create_task(idle_client(urls, tls, a, gate, interval, window)) for a in accounts]
    while window.established + len(window.failures) < len(accounts):
        await asyncio.sleep(0.1)
    connect_seconds = time.monotonic() - started
    cpu_start, wall_start = cpu_seconds(pid), time.monotonic()
    window.end = wall_start + duration
    window.go.set()
    rss_peak_sampled = rss_mib(pid)
    while time.monotonic() < window.end:
        await asyncio.sleep(1)
        rss_peak_sampled = max(rss_peak_sampled, rss_mib(pid))
    cpu = (cpu_seconds(pid) - cpu_start) / (time.monotonic() - wall_start) * 100
    rss_end, threads = rss_mib(pid), int(proc_status(pid)["Threads"])
    window.release.set()
    await asyncio.gather(*clients)
    return {
        "established": window.established, "failures": len(window.failures),
        "first_failures": window.failures[:3], "connect_seconds": round(connect_seconds, 1),
        "heartbeats": len(window.latencies_ms), "missed_heartbeats": window.missed_heartbeats,
        "latency_ms": {q: round(percentile(window.latencies_ms, p), 2)
                       for q, p in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))},
        "cpu_percent": round(cpu, 1),
        "rss_mib": {"before": round(rss_before, 1), "end": round(rss_end, 1),
                    "peak": round(max(rss_peak_sampled, rss_mib(pid, "VmHWM")), 1)},
        "rss_kib_per_connection": round((rss_end - rss_before) * 1024 / max(window.established, 1), 1),
        "sim_threads": threads,
    }


def run(mode: str, connections: int, interval: float, duration: float) -> dict[str, object]:
    process, urls = start_sim(tls=mode == "tls")
    try:
        verify = urls.get("ca", True)
        unbs = [str(2_300_000_000_000 + n) for n in range(connections)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            accounts = list(pool.map(lambda unb: login(urls, verify, unb), unbs))
        result = asyncio.run(measure(urls, accounts, interval, duration, process.pid))
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"mode": mode, "connections": connections, "interval_s": interval, "duration_s": duration, **result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=15.0, help="heartbeat interval, seconds")
    parser.add_argument("--duration", type=float, default=60.0, help="measured heartbeat window, seconds")
    parser.add_argument("--mode", choices=("plain", "tls", "both"), default="both")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))    # the sim subprocess inherits it
    for mode in ("plain", "tls") if args.mode == "both" else (args.mode,):
        result = run(mode, args.connections, args.interval, args.duration)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
