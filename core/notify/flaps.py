"""When an account's disconnects become an ``offline`` incident: down past the grace period, K failed connects in
a row, or K disconnects within the grace period (flapping); and when it is over: online for the grace period.

In memory (a restart starts counting afresh), fed with the account's state changes on the notifier's thread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from core import events as ev
from core.config.notify_schema import NotifySettings

# States in which an account is not offline but parked or stopped on purpose: other incidents (or the seller)
# speak for those.
_NOT_OFFLINE = frozenset({ev.AccountState.NEEDS_VERIFICATION, ev.AccountState.LOGIN_REQUIRED,
                          ev.AccountState.STOPPED, ev.AccountState.DISABLED})


@dataclass
class _Track:
    down_since_ms: int | None = None
    up_since_ms: int | None = None
    failures: int = 0  # failed connects since it was last online
    drops: deque[int] = field(default_factory=lambda: deque(maxlen=1000))  # online → down, epoch ms
    last_error: str = ""


class Flaps:
    def __init__(self, policy: Callable[[], NotifySettings]) -> None:
        self._policy = policy  # read at each check: a reload applies at once
        self._tracks: dict[str, _Track] = {}

    @property
    def grace_ms(self) -> int:
        return int(self._policy().grace_seconds * 1000)

    def observe(self, event: ev.StateChanged) -> None:
        track = self._tracks.setdefault(event.account_id, _Track())
        at = event.at_ms
        if event.state == ev.AccountState.ONLINE:
            track.down_since_ms, track.up_since_ms, track.failures = None, at, 0
        elif event.state in _NOT_OFFLINE:
            track.down_since_ms, track.up_since_ms, track.failures = None, None, 0
        elif event.state == ev.AccountState.BACKOFF:
            if event.previous == ev.AccountState.ONLINE:
                track.drops.append(at)
            else:
                track.failures += 1
            track.down_since_ms = track.down_since_ms or at
            track.up_since_ms = None
            track.last_error = event.reason

    def offline(self, now_ms: int) -> dict[str, str]:
        """account → why it counts as offline now."""
        found = {}
        grace_ms, fail_count = self.grace_ms, self._policy().fail_count
        for account_id, track in self._tracks.items():
            recent = sum(1 for at in track.drops if now_ms - at <= grace_ms)
            error = f" (last error: {track.last_error})" if track.last_error else ""
            if recent >= fail_count:
                found[account_id] = f"disconnected {recent} times in {grace_ms // 1000} s{error}"
            elif track.failures >= fail_count:
                found[account_id] = f"{track.failures} failed connects in a row{error}"
            elif track.down_since_ms is not None and now_ms - track.down_since_ms >= grace_ms:
                found[account_id] = f"offline for {(now_ms - track.down_since_ms) // 1000} s{error}"
        return found

    def stable(self, account_id: str, now_ms: int) -> bool:
        """Online for the whole grace period with no disconnect in it: an offline incident may close."""
        track, grace_ms = self._tracks.get(account_id), self.grace_ms
        return (track is not None and track.up_since_ms is not None and now_ms - track.up_since_ms >= grace_ms
                and not any(now_ms - at <= grace_ms for at in track.drops))
