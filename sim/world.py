"""The simulated platform's data and the operations every front end shares (accounts, pushes, faults).

A World is only touched inside `SimState.transaction()`, i.e. under the one state lock. Operations never do I/O:
they record which connections owe their client a push (`notify`) or must be cut (`drop`), and the transaction
carries that out after the lock is released.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.accounts import Account, PushTarget, SessionLink
from sim.clock import SimClock
from sim.credentials import Credentials
from sim.faults import EVERYONE, Arming, FaultBook
from sim.ids import Ids
from sim.market import Market
from sim.pushlog import DataItem, LogEntry, PushLog
from sim.qrcodes import QrCodes


@dataclass(frozen=True)
class Options:
    """Tunables (CLI flags of `python -m sim`, keyword options of `sim.server.start`)."""

    token_ttl: float = 86400.0       # IM accessToken lifetime, s
    h5tk_ttl: float = 7200.0         # _m_h5_tk lifetime, s
    seed: int | None = None          # ids and demo buyers become reproducible
    demo_pace: float = 1.0           # scales every demo-buyer delay
    ackdiff_wait: float = 3.0        # after /reg, deliver the backlog anyway if no ackDiff came by then, s
    retention_s: float = 86400.0     # push log retention by age ...
    retention_items: int = 10_000    # ... and by count, per account


class NotFound(LookupError):
    """Something the request names does not exist (HTTP 404 on the control API)."""


class BadRequest(ValueError):
    """The request is malformed or not allowed (HTTP 400 on the control API)."""


class World:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.clock = SimClock()
        self.ids = Ids(options.seed)
        self.credentials = Credentials(self.ids, int(options.h5tk_ttl * 1000), int(options.token_ttl * 1000))
        self.faults = FaultBook()
        self.market = Market(self.ids)
        self.qr = QrCodes()
        self.accounts: dict[str, Account] = {}
        self._dirty: set[str] = set()
        self._to_drop: list[PushTarget] = []
        self._created: list[str] = []

    # -- time ---------------------------------------------------------------------------------------------------
    def now_ms(self) -> int:
        return self.clock.now_ms()

    def now_us(self) -> int:
        return self.clock.now_us()

    # -- accounts -----------------------------------------------------------------------------------------------
    def account(self, unb: str) -> Account | None:
        return self.accounts.get(unb)

    def require_account(self, unb: str) -> Account:
        account = self.accounts.get(unb)
        if account is None:
            raise NotFound(f"unknown account {unb!r}")
        return account

    def create_account(self, unb: str, nick: str) -> str:
        """Create (or log in again) an account: a new session and long login; returns the full cookie string."""
        account = self.accounts.get(unb)
        if account is None:
            log = PushLog(int(self.options.retention_s * 1_000_000), self.options.retention_items)
            account = self.accounts[unb] = Account(unb, nick, log)
            self.faults.adopt(unb)
            self._created.append(unb)
        else:
            account.nick = nick
        now = self.now_ms()
        login = {**account.logins.new_session(self.ids, now), **account.logins.new_long_login(self.ids, now)}
        return self.credentials.login_cookie(unb, nick, now, login)

    # -- pushes -------------------------------------------------------------------------------------------------
    def push(self, unb: str, item: DataItem, live_route: str) -> LogEntry:
        """Append to the account's log; live connections get it when the transaction ends."""
        entry = self.require_account(unb).log.append(item, live_route, self.now_us())
        self.notify(unb)
        return entry

    def notify(self, unb: str) -> None:
        self._dirty.add(unb)

    def drop_links(self, account: Account) -> None:
        """Cut every connection of the account; it is offline as soon as the transaction ends."""
        self._to_drop.extend(link.target for link in account.links)
        account.links.clear()

    def take_effects(self) -> tuple[list[PushTarget], list[PushTarget], list[str]]:
        """(connections to flush, connections to cut, accounts created) since the last call."""
        flush = [link.target for unb in self._dirty for link in self.accounts[unb].links if link.live]
        effects = (flush, self._to_drop, self._created)
        self._dirty, self._to_drop, self._created = set(), [], []
        return effects

    def unregister(self, link: SessionLink) -> None:
        account = self.accounts.get(link.unb)
        if account is not None and link in account.links:
            account.links.remove(link)

    # -- faults -------------------------------------------------------------------------------------------------
    def arm_fault(self, target: str, kind: str, count: int, delay: float | None) -> None:
        if target != EVERYONE:
            self.require_account(target)
        arming = Arming(count) if delay is None else Arming(count, delay)
        for unb in self.faults.arm(target, kind, arming, list(self.accounts)):
            account = self.accounts.get(unb)
            if account is None or not account.online:
                continue
            if kind == "disconnect" and self.faults.take(unb, kind):
                self.drop_links(account)
            elif kind == "malformed_push":
                self.notify(unb)

    # -- the control API's view ---------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"accounts": {
            unb: {**account.report(), "faults": self.faults.report(unb)} for unb, account in self.accounts.items()
        }}
