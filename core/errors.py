"""Exceptions the core package raises on purpose, in one place so callers can see the whole tree.

    Exception
     └── CoreError          base class: catch this to handle any deliberate core failure
          ├── ConfigError   accounts.yml is unreadable or invalid; ``.errors`` lists every ConfigIssue
          ├── SendFailed    a frame did not reach the server (offline, rejected, no answer in time)
          ├── CookieRejected  a pasted cookie is unusable (no unb/_m_h5_tk, another account's)
          ├── LoginFailed     a QR login ended without a login (cancelled, expired, phone check undone)
          ├── DeliveryFailed  one try of an order's delivery failed (API down, no stock, send error …)
          ├── OrderActionError  a dashboard action on an order cannot be done (unknown order, wrong state)
          ├── StockError      a stock command cannot run (bad list name, unreadable file)
          └── SliderFailed    a risk-control slider was not solved (no slider, every try rejected, no x5sec)
               └── VerificationCancelled  the account or the service is stopping
    GoofishError (core.goofish.errors)
     └── RegisterRejected   /reg answered with a non-200 code (bad or expired token)

The protocol's own failures (token expiry, risk control, ...) live in core/goofish next to the code that
detects them; add service-level exceptions here, under CoreError.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from core.goofish.errors import GoofishError


class CoreError(Exception):
    """Base class of the exceptions core raises deliberately."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, located the way editors and compilers do (1-based line)."""

    file: str
    line: int
    key_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key_path}: {self.message}"


class PlatformError(CoreError):
    """No platform to talk to: `server: demo` handed to core without the demo marketplace around it."""


class ConfigError(CoreError):
    """The config cannot be used. Carries every issue found in one pass, in file order.

    ``str(err)`` is one ``FILE:LINE: key.path: message`` line per issue, which is what
    ``python xianyu.py check`` prints. Messages never contain cookie, proxy or database secrets.
    """

    def __init__(self, errors: Iterable[ConfigIssue]) -> None:
        self.errors: list[ConfigIssue] = sorted(errors, key=lambda issue: issue.line)
        super().__init__("\n".join(str(issue) for issue in self.errors))


class SendFailed(CoreError):
    """A message could not be delivered to the server (offline, rejected, no answer in time).

    ``maybe_delivered`` is True when the frame was written but its answer never came (connection lost,
    timeout): the server may have it, so a retry must first ask (``Session.was_delivered``)."""

    def __init__(self, message: str, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


class RegisterRejected(GoofishError):
    """/reg was answered with a non-200 code (bad or expired token)."""


class CookieRejected(CoreError):
    """A cookie pasted for an account cannot be used. The message says why and never quotes a value."""


class LoginFailed(CoreError):
    """A QR login ended without a usable login: cancelled, expired too often, a phone check left undone, another
    account's scan. The message says which and never quotes a cookie."""


class DeliveryFailed(CoreError):
    """One try of an order's delivery failed; ``reason`` is shown to the seller (it never holds a code)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OrderActionError(CoreError):
    """retry/resend asked for an order that does not exist or is in no state for it; the message says which."""


class StockError(CoreError):
    """A stock command cannot run: a bad list name, an unreadable file."""


class SliderFailed(CoreError):
    """The slider behind a punish URL could not be solved: no slider on the page, every try rejected, or the
    page passed without setting an x5sec cookie."""


class VerificationCancelled(SliderFailed):
    """The account or the service is stopping; the verification job stopped at its next step."""
