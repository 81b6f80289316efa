"""The typed shape of ``notify:`` (the channels, service-wide and per account) and ``settings.notify:`` (the
policy: when an incident is worth a message, how messages are grouped, retried and held in quiet hours).

The policy is an immutable value with pure functions of time (``retry_delay``, ``reminder_after``,
``quiet_until``), unit-tested without a clock; core/notify carries it out.
"""

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "warning", "error"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")

# Every kind of notification. The stateful ones are incidents that stay open until the account recovers (then
# ``account_recovered`` closes them); the others are said once per cause and hold period.
KINDS = ("needs_verification", "login_required", "login_expiring", "offline", "delivery_failed", "low_stock",
         "needs_you", "order_paid", "account_recovered", "daily_summary")
# design.md §3.6's default, plus ``offline`` (an account down past the grace period, or flapping).
DEFAULT_EVENTS = frozenset({"needs_verification", "login_required", "login_expiring", "offline", "delivery_failed",
                            "low_stock", "needs_you", "account_recovered"})

# The bounds of the numeric keys (key → (minimum, maximum)); notify_rules.py enforces them.
NOTIFY_LIMITS: dict[str, tuple[float, float]] = {
    "rate_per_minute": (1, 600),
    "grace_seconds": (0, 86_400),
    "fail_count": (1, 1000),
    "group_seconds": (0, 600),
    "attempts": (1, 100),
    "retry_seconds": (1, 3600),
    "reminders": (1, 7 * 24 * 60),
}


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)  # type: ignore[arg-type]


@dataclass(frozen=True)
class NotifyChannel:
    """One ``notify:`` entry: an apprise URL (never shown: ``shown`` is its masked form) and what it receives.
    ``account`` is set for an account's own channel, which hears only about that account."""

    name: str
    url: str = field(repr=False)
    url_env: str | None = None
    events: frozenset[str] = DEFAULT_EVENTS
    min_severity: Severity = "info"
    rate_per_minute: int = 20  # DingTalk and WeCom robots take about 20 a minute
    account: str | None = None

    def wants(self, kind: str, severity: str, account_id: str) -> bool:
        return (kind in self.events and rank(severity) >= rank(self.min_severity)
                and (self.account is None or self.account == account_id))


@dataclass(frozen=True)
class NotifySettings:
    """``settings.notify``: the incident and outbox policy."""

    grace_seconds: float = 120.0  # an account down this long (or flapping within it) is an ``offline`` incident
    fail_count: int = 5  # … or this many failed connects / disconnects within the grace period
    group_seconds: float = 10.0  # incidents of one kind across accounts within this window: one message
    reminders: tuple[float, ...] = (30.0, 120.0, 480.0)  # minutes after the first message, while still open
    attempts: int = 8  # tries per message and channel before it is dead
    retry_seconds: float = 5.0  # the first retry delay; doubles per try, at most 10 minutes
    quiet_hours: tuple[tuple[int, int], ...] = ()  # (from, to) minutes of the local day
    quiet_severity: Severity = "error"  # what still gets through in quiet hours
    summary_at: int = 21 * 60  # local minute of the day of the daily summary

    def retry_delay(self, attempts: int) -> float:
        """Seconds before the try after *attempts* failed ones: retry_seconds, doubling, at most 600."""
        return min(600.0, self.retry_seconds * 2 ** max(0, attempts - 1))

    def reminder_after(self, sent: int) -> float | None:
        """Minutes after the first message at which reminder number *sent* + 1 is due; None: no more."""
        return self.reminders[sent] if sent < len(self.reminders) else None

    def quiet_until(self, minute_of_day: int, severity: str) -> int | None:
        """Minutes from now until the quiet window around *minute_of_day* ends, for a message of *severity*;
        None when it may go now."""
        if rank(severity) >= rank(self.quiet_severity):
            return None
        for start, end in self.quiet_hours:
            inside = start <= minute_of_day < end if start < end else minute_of_day >= start or minute_of_day < end
            if inside:
                return (end - minute_of_day) % (24 * 60)
        return None


@dataclass(frozen=True)
class NotifyConfig:
    """The service-wide channels and policy (an account's own channels are on its AccountConfig)."""

    channels: tuple[NotifyChannel, ...] = ()
    settings: NotifySettings = NotifySettings()
