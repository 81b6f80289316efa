"""Benchmark (issue 12 §4 A): the platform restarts and forgets every socket at once; how the accounts come back.

    python bench/herd.py [--accounts 200] [--refuse 2] [--flaps 0] [--base 1.0] [--cap 60] [--plain]
                         [--timeout 180] [--workdir DIR]

`python -m sim --tls` in a subprocess, the service as `python xianyu.py --no-tui` in another (bench/harness.py),
N accounts (the service's default reconnect backoff unless `--base`/`--cap`). Once every account is online (and
the start's token calls are over), the "restart": `refuse_connect` on "*" (each account's next `--refuse`
handshakes answer 503: the platform still down), then `disconnect` on "*" (every socket cut at once, no close
frame); with `--flaps F` the next F connections of each account are cut again right after their `/reg` is
accepted (a platform that accepts and drops while it warms up). `/_sim/state` is sampled every 100 ms until every
account is online on a new connection, and 3 s more for late token calls. Printed:

* time until each account is online again, from the cut: p50/p99/max;
* the first reconnect attempts (each account's first refused handshake, or its first new `/reg` with
  `--refuse 0`): first/p50/last, and the most in one 100 ms sample (the herd a missing jitter would make);
* token calls: total during the recovery against the number of accounts, max in any 1 s window and the mean per
  second over the recovery;
* `/reg` connections accepted, and handshakes (accepted + refused), max in any 1 s window;
then one JSON line with the same figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import ServiceProcess, SimClient  # noqa: E402
from bench.service_scale import pct, start_sim  # noqa: E402

SAMPLE = 0.1  # seconds between /_sim/state samples
TAIL = 3.0  # seconds sampled after the last account is back (late token calls)


def write_config(workdir: Path, urls: dict[str, str], cookies: dict[str, str], args: argparse.Namespace) -> Path:
    server = {"ws": urls["ws"], "api": urls["api"], "passport": urls["passport"]}
    if "ca" in urls:
        server["ca"] = urls["ca"]
    settings: dict[str, Any] = {"debounce_seconds": 0, "log_level": "WARNING"}
    if args.base is not None:
        settings["reconnect_backoff_base"] = args.base
    if args.cap is not None:
        settings["reconnect_backoff_cap"] = args.cap
    document = {"server": server, "database": f"sqlite:///{workdir / 'herd.db'}", "settings": settings,
                "accounts": [{"id": f"herd-{n:04d}", "cookie": cookie, "default_reply": "收到：{text}"}
                             for n, cookie in enumerate(cookies.values())]}
    path = workdir / "accounts.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def totals(state: dict[str, dict[str, Any]], unbs: list[str]) -> dict[str, int]:
    return {"tokens": sum(state[u]["tokens_issued"] for u in unbs),
            "connections": sum(state[u]["connections"] for u in unbs),
            "refused": sum(state[u]["faults"]["refuse_connect"]["fired"] for u in unbs),
            "online": sum(1 for u in unbs if state[u]["online"])}


def max_per_window(samples: list[tuple[float, dict[str, int]]], key: str, window: float = 1.0) -> int:
    """The most `key` grew in any `window` seconds (between two samples at least `window` apart, the nearest)."""
    best, j = 0, 0
    for i, (t, values) in enumerate(samples):
        j = max(j, i)
        while j < len(samples) - 1 and samples[j][0] - t < window:
            j += 1
        best = max(best, samples[j][1][key] - values[key])  # the last stretch may be shorter than the window
    return best


def wait_online(sim: SimClient, unbs: list[str], timeout: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if totals(sim.state(), unbs)["online"] == len(unbs):
            return time.monotonic() - began
        time.sleep(0.5)
    raise SystemExit(f"not every account online within {timeout:.0f} s")


def settle_tokens(sim: SimClient, unbs: list[str], quiet: float = 3.0, timeout: float = 60.0) -> None:
    """Until no token call for `quiet` seconds (the start's own token calls are not the recovery's)."""
    last, since, began = -1, time.monotonic(), time.monotonic()
    while time.monotonic() - began < timeout:
        tokens = totals(sim.state(), unbs)["tokens"]
        if tokens != last:
            last, since = tokens, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.5)


def describe(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):.2f} s, p99 {pct(values, 0.99):.2f} s, max {max(values):.2f} s"
            if values else "no samples")


def run(args: argparse.Namespace) -> dict[str, Any]:
    scratch = not args.workdir
    workdir = Path(tempfile.mkdtemp(prefix="xianyu-herd-")) if scratch else Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    proc, urls = start_sim(["--ackdiff-wait", "0.5"] if args.plain else ["--tls", "--ackdiff-wait", "0.5"])
    service: ServiceProcess | None = None
    try:
        sim = SimClient(urls)
        cookies = {(unb := f"77{n:08d}"): sim.post("/accounts", {"unb": unb, "nick": f"店{n}"})["cookie"]
                   for n in range(args.accounts)}
        unbs = list(cookies)
        config = write_config(workdir, urls, cookies, args)
        service = ServiceProcess(config, workdir / "service.log")
        service.start()
        started = wait_online(sim, unbs, args.timeout)
        settle_tokens(sim, unbs)
        print(f"{args.accounts} accounts online {started:.1f} s after the service started "
              f"({'plain' if args.plain else 'TLS'})", flush=True)

        before = sim.state()
        base = totals(before, unbs)
        sim.fault("*", "refuse_connect", args.refuse)
        cut = time.monotonic()
        sim.fault("*", "disconnect", 1 + args.flaps)
        samples: list[tuple[float, dict[str, int]]] = [(0.0, base)]
        first_try: dict[str, float] = {}
        back: dict[str, float] = {}
        all_back: float | None = None
        while True:
            state = sim.state()
            at = time.monotonic() - cut
            samples.append((at, totals(state, unbs)))
            for unb in unbs:
                now, was = state[unb], before[unb]
                if unb not in first_try and (now["faults"]["refuse_connect"]["fired"]
                                             > was["faults"]["refuse_connect"]["fired"]
                                             or now["connections"] > was["connections"]):
                    first_try[unb] = at
                if unb not in back and now["online"] and now["connections"] > was["connections"] + args.flaps:
                    back[unb] = at
            if all_back is None and len(back) == len(unbs):
                all_back = at
            if (all_back is not None and at - all_back >= TAIL) or at > args.timeout:
                break
            time.sleep(max(0.0, SAMPLE - (time.monotonic() - cut - at)))

        end = samples[-1][1]
        recovery = all_back if all_back is not None else samples[-1][0]
        tokens = end["tokens"] - base["tokens"]
        last = sim.state()
        token_accounts = sum(1 for u in unbs if last[u]["tokens_issued"] > before[u]["tokens_issued"])
        tries = sorted(first_try.values())
        bunch = max((sum(1 for t in tries if s <= t < s + SAMPLE) for s in tries), default=0)
        result = {
            "accounts": args.accounts, "refused_per_account": args.refuse, "flaps_per_account": args.flaps,
            "back": len(back),
            "all_back_s": round(recovery, 2),
            "back_p50_s": round(statistics.median(back.values()), 2) if back else None,
            "back_p99_s": round(pct(list(back.values()), 0.99), 2) if back else None,
            "back_max_s": round(max(back.values()), 2) if back else None,
            "first_try_first_s": round(tries[0], 2) if tries else None,
            "first_try_p50_s": round(statistics.median(tries), 2) if tries else None,
            "first_try_last_s": round(tries[-1], 2) if tries else None,
            "first_try_max_in_100ms": bunch,
            "token_calls": tokens, "token_accounts": token_accounts,
            "token_calls_max_per_s": max_per_window(samples, "tokens"),
            "token_calls_mean_per_s": round(tokens / recovery, 2) if recovery else 0.0,
            "reg_max_per_s": max_per_window(samples, "connections"),
            "reg_total": end["connections"] - base["connections"],
            "handshakes_max_per_s": max_per_window(
                [(t, {"h": v["connections"] + v["refused"]}) for t, v in samples], "h"),
            "refused_total": end["refused"] - base["refused"],
        }
        print(f"back online (from the cut, per account): {describe(list(back.values()))}; "
              f"{len(back)}/{args.accounts} back, all after {recovery:.2f} s")
        print(f"first reconnect attempts: first {result['first_try_first_s']} s, p50 {result['first_try_p50_s']} s, "
              f"last {result['first_try_last_s']} s; at most {bunch} within one 100 ms sample")
        print(f"token calls during the recovery: {tokens} for {args.accounts} accounts ({token_accounts} accounts "
              f"asked); max {result['token_calls_max_per_s']}/s in any 1 s window, mean "
              f"{result['token_calls_mean_per_s']}/s")
        print(f"/reg accepted: {result['reg_total']}, max {result['reg_max_per_s']}/s in any 1 s window; handshakes "
              f"(accepted + {result['refused_total']} refused) max {result['handshakes_max_per_s']}/s")
        print(json.dumps(result), flush=True)
        return result
    finally:
        if service is not None:
            service.stop()
        proc.terminate()
        proc.wait(10)
        if scratch:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--refuse", type=int, default=2, help="handshakes refused (503) per account after the cut")
    parser.add_argument("--flaps", type=int, default=0, help="then connections per account cut right after /reg")
    parser.add_argument("--base", type=float, default=None, help="reconnect_backoff_base (default: the service's)")
    parser.add_argument("--cap", type=float, default=None, help="reconnect_backoff_cap (default: the service's)")
    parser.add_argument("--plain", action="store_true", help="ws:// and http:// instead of TLS")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for online, each time")
    parser.add_argument("--workdir", metavar="DIR", help="keep accounts.yml, the database and the service log "
                        "here (default: a temporary directory, removed at the end)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
