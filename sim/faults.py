"""Armed faults: per account and kind, how many more times a fault fires, and how often it already fired.

A count is a budget: each firing spends one (count -1 = never runs out, count 0 disarms). Arming "*" arms every
existing account, the anonymous bucket (WebSocket handshakes that carry no `unb` cookie) and every account created
later. Arming again replaces the remaining budget; fire counters only grow. The semantics of each kind are in
sim/README.md ("Faults").

Not thread-safe: only used inside a state transaction (under the state lock).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

FAULT_KINDS = (
    "disconnect", "stall_heartbeat", "refuse_connect", "token_expired", "risk_control", "slider_reject",
    "session_expired", "malformed_push", "send_error", "slow_http", "renewal_fail",
)
EVERYONE = "*"
ANONYMOUS = ""          # the account of a WebSocket handshake without a unb cookie
DEFAULT_DELAY = 3.0     # slow_http


@dataclass(frozen=True)
class Arming:
    remaining: int      # -1 = unlimited
    delay: float = DEFAULT_DELAY

    @property
    def active(self) -> bool:
        return self.remaining != 0

    def spent(self) -> Arming:
        return self if self.remaining < 0 else Arming(self.remaining - 1, self.delay)


class FaultBook:
    def __init__(self) -> None:
        self._armed: dict[tuple[str, str], Arming] = {}
        self._for_new_accounts: dict[str, Arming] = {}
        self._fired: Counter[tuple[str, str]] = Counter()

    def arm(self, target: str, kind: str, arming: Arming, accounts: Iterable[str]) -> list[str]:
        """Arm `kind` for `target` (a unb or "*"); returns the accounts it now applies to."""
        if target == EVERYONE:
            self._for_new_accounts[kind] = arming
            targets = [*accounts, ANONYMOUS]
        else:
            targets = [target]
        for unb in targets:
            self._armed[(unb, kind)] = arming
        return targets

    def adopt(self, unb: str) -> None:
        """A new account inherits what "*" armed."""
        for kind, arming in self._for_new_accounts.items():
            self._armed[(unb, kind)] = arming

    def armed(self, unb: str, kind: str) -> Arming | None:
        arming = self._armed.get((unb, kind))
        return arming if arming is not None and arming.active else None

    def take(self, unb: str, kind: str) -> Arming | None:
        """Fire once if armed: spend one from the budget and count the firing."""
        arming = self.armed(unb, kind)
        if arming is None:
            return None
        self._armed[(unb, kind)] = arming.spent()
        self._fired[(unb, kind)] += 1
        return arming

    def note_fired(self, unb: str, kind: str) -> None:
        """Count a firing that does not spend budget (risk_control answers until slides pay it off)."""
        self._fired[(unb, kind)] += 1

    def spend(self, unb: str, kind: str) -> None:
        """Spend budget without a firing (a solved slider pays off one risk_control unit)."""
        arming = self.armed(unb, kind)
        if arming is not None:
            self._armed[(unb, kind)] = arming.spent()

    def fired(self, unb: str, kind: str) -> int:
        return self._fired[(unb, kind)]

    def report(self, unb: str) -> dict[str, dict[str, int]]:
        return {
            kind: {"remaining": self._armed.get((unb, kind), Arming(0)).remaining, "fired": self.fired(unb, kind)}
            for kind in FAULT_KINDS
        }
