"""``python xianyu.py login ACCOUNT``: a QR login in the terminal (docs/contracts.md §3.4).

Draws the code (and writes it as a PNG beside the database, for a phone held up to another screen), follows it
to CONFIRMED, stores the login as the account's jar and, for an id that is not in accounts.yml yet, adds a
minimal entry (id, alias = the seller's nick, enabled) to the file. A service running on the same database picks
the login up by itself: a new account through its config reload, a parked one (login required, verification)
within seconds. Exit 0 logged in; 1 cancelled, expired past the limit, a phone check not completed, another
account's scan, the passport unreachable; 2 a config error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from core.config import AccountConfig, Config, load_config
from core.config.append import add_account
from core.config.checks import name_problem
from core.credentials.login import (
    DEFAULT_POLICY,
    STATUS_TEXT,
    LoginPolicy,
    login_nick,
    passport_for,
    qr_login,
)
from core.credentials.owner import Credentials
from core.credentials.qrimage import terminal_lines, write_png
from core.errors import ConfigError, LoginFailed, PlatformError
from core.goofish.cookies import mask
from core.goofish.errors import GoofishError
from core.goofish.passport import QrCode
from core.platform import Platform, configured_platform
from storage import StorageError, Store, sqlite_file

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


class TerminalView:
    """The login as the terminal shows it: the code, then one line per change of its status."""

    def __init__(self, account_id: str, png: Path, out: TextIO, colour: bool) -> None:
        self._account_id, self._png, self._out, self._colour = account_id, png, out, colour

    def show_code(self, code: QrCode, number: int, of: int) -> None:
        write_png(code.content, self._png)
        lines = terminal_lines(code.content, self._colour)
        again = f" (code {number} of {of})" if number > 1 else ""
        self._say("\n".join(lines))
        self._say(f"{self._account_id}: scan with the Xianyu app{again} · also saved as {self._png}")

    def status(self, status: str, message: str) -> None:
        self._say(f"{self._account_id}: {STATUS_TEXT.get(status, status)}" + (f" ({message})" if message else ""))

    def phone_check(self, url: str) -> None:
        self._say(f"{self._account_id}: the platform wants a check on the phone first. Open this page on the "
                  f"phone logged in to the account and follow it; waiting here:\n  {url}")

    def face_code(self, content: str) -> None:
        write_png(content, self._png)
        self._say("\n".join(terminal_lines(content, self._colour)))
        self._say(f"{self._account_id}: the platform asks for a face check: scan this second code with the Xianyu "
                  f"app · also saved as {self._png}")

    def _say(self, text: str) -> None:
        print(text, file=self._out, flush=True)


def run_login(config_path: str, account_id: str, db_url: str | None, png: str | None,
              out: TextIO | None = None, policy: LoginPolicy = DEFAULT_POLICY,
              open_platform: Callable[[Config], Platform] = lambda config: configured_platform(config.server)) -> int:
    """``open_platform``: xianyu.py's also starts the demo marketplace (whose simulated phone scans the code)."""
    out = out or sys.stdout
    try:
        config = load_config(config_path)
        problem = name_problem(account_id, "ACCOUNT")
        if problem:
            print(f"xianyu.py login: {problem}", file=sys.stderr)
            return EXIT_CONFIG
        platform = open_platform(config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except PlatformError as exc:
        print(f"xianyu.py login: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return _log_in(config, platform, account_id, db_url, png, out, policy)
    finally:
        platform.close()


def _log_in(config: Config, platform: Platform, account_id: str, db_url: str | None, png: str | None,
            out: TextIO, policy: LoginPolicy) -> int:
    known = config.find(account_id)
    account = known or AccountConfig(id=account_id)
    url = db_url or config.database
    picture = Path(png) if png else _beside_database(url, config) / f"login-{account_id}.png"
    client = passport_for(platform.endpoints, account)
    colour = out.isatty() and "NO_COLOR" not in os.environ
    try:
        jar = qr_login(client, TerminalView(account_id, picture, out, colour), policy,
                       shown=lambda code: platform.phone(account_id, code.t))
        store = Store(url, config.path.parent)
    except (LoginFailed, GoofishError) as exc:
        print(f"xianyu.py login: {account_id}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except StorageError as exc:
        print(f"xianyu.py login: {account_id}: not saved: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        picture.unlink(missing_ok=True)
    try:
        Credentials(store, platform).store_login(account, jar)
    except (LoginFailed, GoofishError) as exc:
        print(f"xianyu.py login: {account_id}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    nick = login_nick(jar)
    if known is None:
        add_account(config.path, account_id, nick or account_id)
    print(f"{account_id}: logged in as {nick or '?'} (unb {mask(jar.unb)})"
          + ("" if known else f"; added to {config.path}"), file=out, flush=True)
    return EXIT_OK


def _beside_database(url: str, config: Config) -> Path:
    path = sqlite_file(url)
    return path.parent if path is not None else config.path.parent
