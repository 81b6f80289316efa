"""xianyu — a self-hosted multi-account auto-reply service for Xianyu (Goofish) sellers.

The command line (docs/contracts.md §3.1):

    python xianyu.py [--config PATH] [--db URL] [--no-tui] [--log-level LEVEL]   run the service
    python xianyu.py check [--config PATH]                                      validate accounts.yml
    python xianyu.py decode [--me UNB] [FILE|-]                                 decode LWP frames / payloads
    python xianyu.py verify ACCOUNT [--config PATH] [--db URL] [--paste] [--wait S]  lift risk control by hand
    python xianyu.py login ACCOUNT [--config PATH] [--db URL] [--png PATH]        log in by scanning a QR code
    python xianyu.py stock import NAME FILE | stock count [NAME] | stock list   stock lists of codes
    python xianyu.py rekey [--config PATH] [--db URL]                           rotate the key sealing cookies
    python xianyu.py ai test [ACCOUNT] [--text TEXT]                            try the AI endpoint
    python xianyu.py notify test [NAME|URL]                                     send a test notification

Exit codes: 0 on a clean stop, 2 on a configuration error (message on stderr, nothing started), also when
another xianyu.py runs on the database or the database stayed unwritable for 60 s (XIANYU_DATABASE_WAIT_SECONDS).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Config
    from core.credentials.account import AccountCredentials

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

# How long `run` waits at start-up for a database that cannot be reached or written (PostgreSQL down, a read-only
# file, a full disk) before giving up with EXIT_CONFIG: core.app.DATABASE_WAIT_SECONDS, unless this environment
# variable says otherwise (tests shorten it).
DATABASE_WAIT_ENV = "XIANYU_DATABASE_WAIT_SECONDS"


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

    verify = sub.add_parser("verify", help="solve an account's risk-control slider by hand, or paste a cookie")
    verify.add_argument("account", metavar="ACCOUNT", help="the account's id in accounts.yml")
    _add_config_option(verify)
    verify.add_argument("--db", metavar="URL", help="database URL (default: the config's)")
    verify.add_argument("--paste", action="store_true",
                        help="read a Cookie header from standard input instead of opening a browser")
    verify.add_argument("--wait", type=float, default=300.0, metavar="SECONDS",
                        help="how long the browser window waits for the slider to be solved (default 300)")
    verify.set_defaults(func=cmd_verify)

    login = sub.add_parser("login", help="log an account in by scanning a QR code with the Xianyu app")
    login.add_argument("account", metavar="ACCOUNT",
                       help="the account's id (a new id is added to accounts.yml once logged in)")
    _add_config_option(login)
    login.add_argument("--db", metavar="URL", help="database URL (default: the config's)")
    login.add_argument("--png", metavar="PATH",
                       help="where to write the code as a PNG too (default: login-ACCOUNT.png beside the database)")
    login.add_argument("--check-wait", type=float, default=300.0, metavar="SECONDS",
                       help="how long to wait for a phone check the platform asks for (default 300)")
    login.set_defaults(func=cmd_login)
    _add_stock_parser(sub)

    ai = sub.add_parser("ai", help="AI replies: test the configured model endpoint")
    ai_actions = ai.add_subparsers(title="ai commands", metavar="ACTION", required=True)
    ai_test = ai_actions.add_parser("test", help="send one prompt to ACCOUNT's endpoint (or the first with AI) "
                                                 "and print the answer or the endpoint's error")
    ai_test.add_argument("account", nargs="?", metavar="ACCOUNT")
    ai_test.add_argument("--text", default=None, metavar="TEXT", help="the buyer message to send")
    _add_config_option(ai_test)
    ai_test.set_defaults(func=cmd_ai_test)

    notify = sub.add_parser("notify", help="notifications: send a test message to the configured channels")
    notify_actions = notify.add_subparsers(title="notify commands", metavar="ACTION", required=True)
    notify_test = notify_actions.add_parser("test", help="send a test message to every channel, the one NAME, or "
                                                         "an apprise URL, and print apprise's result")
    notify_test.add_argument("target", nargs="?", metavar="NAME|URL")
    _add_config_option(notify_test)
    notify_test.set_defaults(func=cmd_notify_test)

    rekey = sub.add_parser("rekey", help="seal the stored cookies and tokens with a new key (the service stopped)")
    _add_config_option(rekey)
    rekey.add_argument("--db", metavar="URL", help="database URL (default: the config's)")
    rekey.set_defaults(func=cmd_rekey)
    return parser


def _add_stock_parser(sub: argparse._SubParsersAction) -> None:
    stock = sub.add_parser("stock", help="stock lists of codes for delivery: import, count, list")
    actions = stock.add_subparsers(title="stock commands", metavar="ACTION", required=True)
    imports = actions.add_parser("import", help="add one code per line of FILE to list NAME")
    imports.add_argument("name", metavar="NAME")
    imports.add_argument("file", metavar="FILE")
    count = actions.add_parser("count", help="codes left in list NAME (or in every list)")
    count.add_argument("name", nargs="?", metavar="NAME")
    listing = actions.add_parser("list", help="every list with its counts, or list NAME's codes (masked)")
    listing.add_argument("name", nargs="?", metavar="NAME")
    for action, func in ((imports, cmd_stock_import), (count, cmd_stock_count), (listing, cmd_stock_list)):
        _add_config_option(action)
        action.add_argument("--db", metavar="URL", help="database URL (default: the config's)")
        action.set_defaults(func=func)


def _database_of(args: argparse.Namespace):
    """(database URL, accounts.yml's folder, config or None) of a command with ``--config`` and ``--db``: a config
    error only matters when the config is needed for the database URL (raises ConfigError then)."""
    from pathlib import Path

    from core.config import load_config
    from core.errors import ConfigError

    config = None
    try:
        config = load_config(args.config)
    except ConfigError:
        if not args.db:
            raise
    return args.db or config.database, Path(args.config).parent, config


def _stock_store(args: argparse.Namespace):
    """(store, config or None)."""
    from storage import Store

    url, config_dir, config = _database_of(args)
    return Store(url, config_dir), config


def _run_stock(args: argparse.Namespace, body) -> int:
    from core.errors import ConfigError, StockError
    from storage import StorageError

    try:
        store, config = _stock_store(args)
    except (ConfigError, StorageError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    try:
        body(store, config)
    except (StockError, StorageError) as exc:
        print(f"xianyu.py stock: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        store.close()
    return EXIT_OK


def cmd_stock_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.orders.stock import import_codes, low_threshold

    def body(store, config) -> None:
        result = import_codes(store, args.name, Path(args.file), low_threshold(config, args.name))
        print(f"{args.name}: added {result.added}, duplicates {result.duplicates}, {result.available} left")

    return _run_stock(args, body)


def cmd_stock_list(args: argparse.Namespace) -> int:
    from core.orders.stock import code_lines, count_lines

    def body(store, _config) -> None:
        for line in code_lines(store, args.name) if args.name else count_lines(store, None):
            print(line)

    return _run_stock(args, body)


def cmd_stock_count(args: argparse.Namespace) -> int:
    from core.orders.stock import count_lines

    def body(store, _config) -> None:
        for line in count_lines(store, args.name):
            print(line)

    return _run_stock(args, body)


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


def _loaded(args: argparse.Namespace) -> Config | None:
    """``--config``'s file, loaded; None (its errors printed, FILE:LINE each) when it does not load."""
    from core.config import load_config
    from core.errors import ConfigError

    try:
        return load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return None


def cmd_check(args: argparse.Namespace) -> int:
    from core.config import summary

    config = _loaded(args)
    if config is None:
        return EXIT_CONFIG
    print(summary(config))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """Risk control by hand: a headed browser on the punish page where a display exists, else the URL and how
    to paste a cookie. What it earns is saved in the database; a running service restarts the account on it."""
    from core.config import load_config
    from core.credentials.account import AccountCredentials, CredentialSettings
    from core.errors import ConfigError, PlatformError
    from core.goofish.endpoints import DEFAULT_UA
    from core.goofish.errors import GoofishError
    from core.platform import configured_platform
    from storage import Store

    try:
        config = load_config(args.config)
        account = config.account(args.account)
    except ConfigError as exc:
        return _verify_failed(str(exc), EXIT_CONFIG)
    except KeyError:
        return _verify_failed(f"no account {args.account!r} in {args.config}", EXIT_CONFIG)
    try:
        endpoints = configured_platform(config.server).endpoints
    except PlatformError:
        endpoints = None
    if endpoints is None or not account.cookie:
        return _verify_failed("the demo marketplace runs inside the service; there is nothing to verify by hand",
                              EXIT_CONFIG)
    user_agent = account.user_agent or DEFAULT_UA
    store = Store(args.db or config.database, config.path.parent)
    try:
        credentials = AccountCredentials(account.id, account.cookie, store, endpoints,
                                         CredentialSettings(user_agent, account.effective.http_timeout,
                                                            account.proxy))
        return _verify_account(args, credentials, user_agent, config.settings.browser_path)
    except GoofishError as exc:
        return _verify_failed(f"{account.id}: {exc}; paste a fresh cookie: python xianyu.py verify {account.id} "
                              "--paste")
    finally:
        store.close()


def _verify_account(args: argparse.Namespace, credentials: AccountCredentials, user_agent: str,
                    browser_path: str) -> int:
    from core.credentials.owner import pasted_cookies
    from core.errors import CookieRejected
    from core.goofish.errors import RiskControl
    from core.verification.browser import BrowserSpec, display_available
    from core.verification.solve import solve_by_hand

    name = credentials.account_id
    if args.paste:
        if sys.stdin.isatty():
            print("Paste the whole Cookie header of a logged-in goofish.com tab, then press Enter:")
        try:
            credentials.merge_cookies(pasted_cookies(sys.stdin.readline(), credentials.unb))
        except CookieRejected as exc:
            return _verify_failed(str(exc), EXIT_CONFIG)
    for attempt in (1, 2):  # the token call, and once more after a solve in the browser window
        try:
            credentials.refresh()
        except RiskControl as risk:
            url = risk.url or ""
        else:
            print(f"{name}: verified: the token API answers again (a running service restarts the account "
                  "within a few seconds)")
            return EXIT_OK
        if attempt == 2:
            break
        if args.paste or not display_available():
            why = "the pasted cookie did not lift it" if args.paste else (
                "there is no display here (DISPLAY / WAYLAND_DISPLAY unset), so no browser window can open")
            print(f"{name} is held by risk control and {why}. To solve it by hand:\n"
                  f"  1. open this URL in a browser whose User-Agent is\n     {user_agent}\n     {url}\n"
                  "  2. drag the slider; after 验证通过 copy the whole Cookie header of that tab\n"
                  f"  3. paste it: python xianyu.py verify {name} --paste   (or in the TUI's Verification screen)")
            return EXIT_FAILED
        print(f"{name}: solve the slider in the browser window (waiting up to {args.wait:.0f} s) …", flush=True)
        try:
            earned = solve_by_hand(BrowserSpec(browser_path, user_agent, headless=False), url,
                                   dict(credentials.jar.items()), args.wait)
        except Exception as exc:  # no browser, or it cannot show a window here
            return _verify_failed(f"{name}: could not open a browser window ({type(exc).__name__}: {exc}); open "
                                  f"{url} yourself and paste the cookie with --paste")
        if not earned:
            break
        credentials.merge_cookies(earned)
    return _verify_failed(f"{name}: the slider was not solved; run this again, or paste a cookie with --paste")


def _verify_failed(message: str, code: int = EXIT_FAILED) -> int:
    print(f"xianyu.py verify: {message}", file=sys.stderr)
    return code


def cmd_rekey(args: argparse.Namespace) -> int:
    """Rotate the key sealing the stored cookies and tokens (README, "Secrets at rest"). It takes the instance
    lock: a running service seals with the old key, and must not start while the rows change keys."""
    from core.clock import now_ms
    from core.errors import ConfigError
    from storage import NEW_KEY_ENV, DatabaseInUse, StorageError, claim, rekey

    try:
        url, config_dir, _config = _database_of(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    try:
        lock = claim(url, now_ms())
        try:
            done = rekey(url, config_dir)
        finally:
            lock.release()
    except StorageError as exc:
        hint = ": stop it first" if isinstance(exc, DatabaseInUse) else ""
        print(f"xianyu.py rekey: {exc}{hint}", file=sys.stderr)
        return EXIT_CONFIG
    if done.backup is None:
        print(f"re-sealed {done.accounts} account(s) with the key in {NEW_KEY_ENV}: set XIANYU_SECRET_KEY to it "
              "before the next start (the old key opens none of them now)")
    else:
        print(f"re-sealed {done.accounts} account(s) with a new key in {done.source.path}; the previous key is in "
              f"{done.backup}: database backups taken before now need it (keep it with them, else delete it)")
    return EXIT_OK


def cmd_ai_test(args: argparse.Namespace) -> int:
    from core.ai.probe import PROBE_TEXT, probe

    config = _loaded(args)
    return EXIT_CONFIG if config is None else probe(config, args.account, args.text or PROBE_TEXT)


def cmd_notify_test(args: argparse.Namespace) -> int:
    from core.notify.command import notify_test

    config = _loaded(args)
    return EXIT_CONFIG if config is None else notify_test(config, args.target)


def cmd_login(args: argparse.Namespace) -> int:
    from core.credentials.login import LoginPolicy
    from core.credentials.login_command import run_login
    from demo import open_platform

    return run_login(args.config, args.account, args.db, args.png, policy=LoginPolicy(check_wait=args.check_wait),
                     open_platform=open_platform)


def cmd_run(args: argparse.Namespace) -> int:
    from core.app import run
    from demo import open_platform

    patience = float(os.environ[DATABASE_WAIT_ENV]) if os.environ.get(DATABASE_WAIT_ENV) else None
    if args.no_tui:
        return run(config_path=args.config, db_url=args.db, headless=True, log_level=args.log_level,
                   open_platform=open_platform, database_patience=patience)
    from tui.app import run_dashboard
    from tui.feed import LogLines

    lines = LogLines()
    return run(config_path=args.config, db_url=args.db, headless=False, log_level=args.log_level,
               frontend=lambda service: run_dashboard(service, lines), log_handler=lines,
               open_platform=open_platform, database_patience=patience)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
