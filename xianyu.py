"""xianyu — a self-hosted multi-account auto-reply service for Xianyu (Goofish) sellers.

The command line (design.md §3.1):

    python xianyu.py [--config PATH] [--db URL] [--no-tui] [--log-level LEVEL]   run the service
    python xianyu.py check [--config PATH]                                      validate accounts.yml
    python xianyu.py decode [--me UNB] [FILE|-]                                 decode LWP frames / payloads

Exit codes: 0 on a clean stop, 2 on a configuration error (message on stderr, nothing started).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_CONFIG = 2


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="accounts.yml", metavar="PATH",
                        help="accounts file (default: accounts.yml in the current directory)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xianyu.py",
        description="Keep every Xianyu (Goofish) account online and answer its buyers.",
    )
    _add_config_option(parser)
    parser.add_argument("--db", metavar="URL", help="database URL (default: the config's, "
                        "else sqlite:///data/xianyu.db)")
    parser.add_argument("--no-tui", action="store_true", help="run headless: one log line per event")
    parser.add_argument("--log-level", default=None, metavar="LEVEL",
                        help="DEBUG, INFO (default), WARNING or ERROR")
    parser.set_defaults(func=cmd_run)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    check = sub.add_parser("check", help="validate accounts.yml and print a summary (exit 2 on errors)")
    _add_config_option(check)
    check.set_defaults(func=cmd_check)

    decode = sub.add_parser("decode", help="decode LWP frames or base64 payloads into JSON events")
    decode.add_argument("--me", metavar="UNB", help="the account's own user id (decides own echoes)")
    decode.add_argument("file", nargs="?", default="-", metavar="FILE|-",
                        help="input: one frame or payload per line (default: standard input)")
    decode.set_defaults(func=cmd_decode)
    return parser


def cmd_decode(args: argparse.Namespace) -> int:
    from core.goofish.decode import decode_lines

    try:
        handle = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        print(f"xianyu.py decode: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    with handle:
        for event in decode_lines(handle, me=args.me):
            print(json.dumps(event, ensure_ascii=False), flush=True)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from core.config import load_config, summary
    from core.errors import ConfigError

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    print(summary(config))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from core.app import run

    if args.no_tui:
        return run(config_path=args.config, db_url=args.db, headless=True, log_level=args.log_level)
    from tui.app import run_dashboard
    from tui.feed import LogLines

    lines = LogLines()
    return run(config_path=args.config, db_url=args.db, headless=False, log_level=args.log_level,
               frontend=lambda service: run_dashboard(service, lines), log_handler=lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
