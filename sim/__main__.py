"""`python -m sim`: run the simulator until SIGINT/SIGTERM, announcing its URLs as one JSON line on stdout."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from types import FrameType

from sim.server import start

# The process is dedicated to the sim, which runs two threads per IM connection: smaller stacks keep the address
# space reserved by thousands of idle connections small (the handlers never recurse deeply).
THREAD_STACK = 512 * 1024


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sim", description="A local Goofish (闲鱼) server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ws-port", type=int, default=0, help="IM WebSocket port (0: any free port)")
    parser.add_argument("--http-port", type=int, default=0, help="mtop/passport/control port (0: any free port)")
    parser.add_argument("--tls", action="store_true", help="serve wss/https with a throw-away CA (path in \"ca\")")
    parser.add_argument("--demo-buyers", action="store_true", help="simulated buyers chat with every seller")
    parser.add_argument("--token-ttl", type=float, default=86400.0, help="IM accessToken lifetime, seconds")
    parser.add_argument("--h5tk-ttl", type=float, default=7200.0, help="_m_h5_tk lifetime, seconds")
    parser.add_argument("--seed", type=int, default=None, help="make ids and demo buyers reproducible")
    parser.add_argument("--demo-pace", type=float, default=1.0, help="multiply every demo-buyer delay")
    parser.add_argument("--ackdiff-wait", type=float, default=3.0,
                        help="seconds after /reg before the backlog is delivered without an ackDiff")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    threading.stack_size(THREAD_STACK)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sim = start(args.host, args.ws_port, args.http_port, args.tls, args.demo_buyers, token_ttl=args.token_ttl,
                h5tk_ttl=args.h5tk_ttl, seed=args.seed, demo_pace=args.demo_pace, ackdiff_wait=args.ackdiff_wait)
    try:
        print(json.dumps(sim.urls), flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
