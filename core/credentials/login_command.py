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
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote

from core.config import AccountConfig, Config, load_config
from core.config.append import add_account
from core.credentials.account import CredentialSettings
from core.credentials.login import DEFAULT_POLICY, LoginPolicy, qr_login
from core.credentials.owner import Credentials
from core.credentials.qrimage import terminal_lines, write_png
from core.errors import ConfigError, LoginFailed, PlatformError
from core.goofish.cookies import CookieJar, mask
from core.goofish.endpoints import DEFAULT_UA
from core.goofish.errors import GoofishError
from core.goofish.passport import PassportQr, QrCode
from core.platform import configured_platform
from storage import StorageError, Store, sqlite_file

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
STATUS_TEXT = {"NEW": "waiting for the scan", "SCANED": "scanned: confirm the login in the Xianyu app",
               "CONFIRMED": "confirmed", "EXPIRED": "the code expired", "CANCELED": "cancelled in the app"}


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

    def _say(self, text: str) -> None:
        print(text, file=self._out, flush=True)


def run_login(config_path: str, account_id: str, db_url: str | None, png: str | None,
              out: TextIO | None = None, policy: LoginPolicy = DEFAULT_POLICY) -> int:
    out = out or sys.stdout
    try:
        config = load_config(config_path)
        platform = configured_platform(config.server)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except PlatformError:
        print("xianyu.py login: server: demo runs its marketplace inside the service; there is no account to log "
              "in to", file=sys.stderr)
        return EXIT_CONFIG
    known = next((a for a in config.accounts if a.id == account_id), None)
    account = known or AccountConfig(id=account_id)
    url = db_url or config.database
    picture = Path(png) if png else _beside_database(url, config) / f"login-{account_id}.png"
    client = PassportQr(platform.endpoints, user_agent=account.user_agent or DEFAULT_UA,
                        timeout=account.effective.http_timeout, proxy=account.proxy)
    colour = out.isatty() and "NO_COLOR" not in os.environ
    try:
        jar = qr_login(client, TerminalView(account_id, picture, out, colour), policy)
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
        credentials = Credentials(store, platform)
        credentials.adopt_login(account, jar)
        if not jar.get("_m_h5_tk"):  # the mtop token comes with the first signed call's answer
            settings = CredentialSettings(account.user_agent or DEFAULT_UA, account.effective.http_timeout,
                                          account.proxy)
            credentials.open(account, settings).refresh()
    except (LoginFailed, GoofishError) as exc:
        print(f"xianyu.py login: {account_id}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    nick = _nick(jar)
    if known is None:
        add_account(config.path, account_id, nick or account_id)
    print(f"{account_id}: logged in as {nick or '?'} (unb {mask(jar.unb)})"
          + ("" if known else f"; added to {config.path}"), file=out, flush=True)
    return EXIT_OK


def _nick(jar: CookieJar) -> str:
    return unquote(jar.get("tracknick") or "").strip()


def _beside_database(url: str, config: Config) -> Path:
    path = sqlite_file(url)
    return path.parent if path is not None else config.path.parent
