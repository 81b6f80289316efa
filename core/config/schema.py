"""The typed, immutable shape of accounts.yml: what the rest of core uses once a config exists.

Everything is a frozen dataclass: no thread can change a setting under another, and a reload can compare
old and new values with ``==`` to restart only the accounts that changed. Reading and validating the file
is loader.py's job; the rules on values are in checks.py.
"""

import re
import unicodedata
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from core.config.ai_schema import AccountAi
from core.config.notify_schema import NotifyChannel, NotifyConfig
from core.goofish.cookies import CookieJar, mask
from core.goofish.endpoints import LIVE
from storage.engine import DEFAULT_DB_URL

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# --------------------------------------------------------------------------------------------- settings


def _setting(default: Any, meaning: str, *, minimum: float | None = None, maximum: float | None = None,
             per_account: bool = False) -> Any:
    return field(default=default, metadata={"meaning": meaning, "minimum": minimum, "maximum": maximum,
                                            "per_account": per_account})


@dataclass(frozen=True)
class Settings:
    """Service-wide defaults (``settings:``); the per-account ones may be overridden on an account.

    ``minimum`` and ``maximum`` in each numeric field's metadata are what the loader enforces
    (checks.setting_problem, and ``maximum`` as NodeReader.number's bound, which also refuses inf and nan);
    the reference table generated from these fields is ``SETTINGS_DOC`` in keys.py. The maxima are sane
    ceilings, not tuning advice: far above any useful value, low enough that no timer overflows, no
    backoff spins forever and no start is scheduled for never.
    """

    pool_size: int = _setting(
        0, "most session threads (one per running account); 0 = no limit", minimum=0, maximum=10_000)
    messages_in_flight: int = _setting(
        64, "messages being handled at once across all accounts", minimum=1, maximum=100_000)
    handler_threads: int = _setting(8, "shared threads that run the reply pipeline", minimum=1, maximum=256)
    start_spread_seconds: float = _setting(
        3.0, "account starts are spread over this many seconds, so a restart is no credential storm",
        minimum=0, maximum=3600,
    )
    heartbeat_interval: float = _setting(
        15.0, "seconds between WebSocket heartbeats", minimum=1, maximum=300, per_account=True)
    heartbeat_timeout: float = _setting(
        10.0, "no heartbeat reply within this many seconds → reconnect", minimum=1, maximum=300, per_account=True
    )
    # Refreshing tokens often is what gets accounts risk-controlled, hence the floor of a minute.
    token_refresh_interval: int = _setting(
        3600, "seconds between token checks; the IM token is renewed when it would expire before the next check",
        minimum=60, maximum=86_400, per_account=True,
    )
    token_refresh_jitter: int = _setting(
        300, "± seconds of random jitter on each token refresh", minimum=0, maximum=3600, per_account=True
    )
    keepalive_interval: int = _setting(
        1200, "seconds between hasLogin cookie keep-alives", minimum=60, maximum=86_400, per_account=True
    )
    login_renewal_hours: float = _setting(
        6.0, "hours between one account's login renewals (hasLogin, then silentHasLogin / setLoginSettings as "
        "needed), ±25 % jitter; the fleet renews one account at a time", minimum=1, maximum=24 * 7,
    )
    login_renew_days: float = _setting(
        10.0, "renew the long login (about 30 days) once fewer days than this are left", minimum=1, maximum=29,
    )
    login_warn_days: float = _setting(
        3.0, "show login_expiring this many days before the long login ends", minimum=0.5, maximum=29,
    )
    reconnect_backoff_base: float = _setting(
        1.0, "first reconnect delay in seconds; doubles per failure", minimum=0.1, maximum=600, per_account=True
    )
    reconnect_backoff_cap: float = _setting(
        60.0, "longest reconnect delay in seconds", minimum=1, maximum=3600, per_account=True
    )
    max_message_age: int = _setting(
        300, "seconds; older messages are recorded but not answered", minimum=1, maximum=7 * 86_400, per_account=True
    )
    debounce_seconds: float = _setting(
        3.0, "wait this long for a buyer's follow-up messages, then answer the last; 0 = off",
        minimum=0, maximum=600, per_account=True,
    )
    takeover_minutes: float = _setting(
        10, "pause a chat after the seller replies by hand (fractions allowed); 0 = off",
        minimum=0, maximum=7 * 24 * 60, per_account=True,
    )
    connect_timeout: float = _setting(
        10.0, "WebSocket connect timeout in seconds", minimum=1, maximum=300, per_account=True)
    http_timeout: float = _setting(
        10.0, "HTTP request timeout in seconds", minimum=1, maximum=300, per_account=True)
    retention_days: int = _setting(
        30, "stored rows older than this many days are cleaned up", minimum=1, maximum=3650)
    slider_slots: int = _setting(
        2, "slider-verification browsers (headless Chromium) running at once; more jobs wait in line, first come "
        "first served", minimum=1, maximum=32)
    slider_wait_timeout: float = _setting(
        120.0, "seconds a verification waits in line for a browser before it gives up", minimum=1, maximum=3600)
    slider_tries: int = _setting(
        3, "drags per verification (the page's retry or a reload between them) before the manual path",
        minimum=1, maximum=50)
    browser_path: str = _setting(
        "chromium", "Chromium used for verification: a name on PATH or a full path (started with the account's UA)")
    delivery_attempts: int = _setting(
        6, "tries per order delivery (API down, send error, no stock) before it is left failed",
        minimum=1, maximum=1000,
    )
    delivery_retry_seconds: float = _setting(
        5.0, "first delay between delivery tries in seconds; doubles per try, at most 10 minutes",
        minimum=0.1, maximum=600,
    )
    ai_concurrency: int = _setting(
        4, "model calls (AI replies) running at once across all accounts; more wait briefly, then the next rule "
        "answers", minimum=1, maximum=256)
    log_level: str = _setting("INFO", "one of " + ", ".join(LOG_LEVELS) + " (any case)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "log_level", self.log_level.upper())  # what the logging module expects

    def per_account(self) -> tuple[tuple[str, Any], ...]:
        """The values that shape one account's session; a change here restarts that account."""
        return tuple((name, getattr(self, name)) for name in sorted(PER_ACCOUNT_SETTINGS))


PER_ACCOUNT_SETTINGS = frozenset(f.name for f in fields(Settings) if f.metadata["per_account"])

# --------------------------------------------------------------------------------------------- values


@dataclass(frozen=True)
class ServerConfig:
    """Where the Goofish endpoints are. In demo mode they are None until the simulator starts and says."""

    mode: Literal["demo", "live", "custom"]
    ws: str | None = None
    api: str | None = None
    passport: str | None = None
    ca: Path | None = None


LIVE_SERVER = ServerConfig("live", LIVE.ws, LIVE.api, LIVE.passport)
DEMO_SERVER = ServerConfig("demo")

MatchKind = Literal["contains", "exact", "regex"]


def _fold(text: str) -> str:
    # NFKC maps the full-width letters and digits a Chinese IME produces onto ASCII ones ("ＯＫ" → "OK").
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class KeywordRule:
    """One ``keywords:`` entry. ``rule_id`` names it in logs: ``keyword[N]`` or ``item_keyword[N]``, N being
    its position in the account's ``keywords:`` list, so a seller can find the rule that fired."""

    rule_id: str
    kind: MatchKind
    pattern: str
    reply: str  # "" = stay silent
    item: str | None = None
    compiled: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Compiled once here (raising re.error for a bad regex) so matching a message is one call.
        if self.kind == "regex":
            compiled = re.compile(self.pattern)
        elif self.kind == "exact":
            compiled = re.compile(re.escape(self.pattern.strip()))
        else:
            compiled = re.compile(re.escape(_fold(self.pattern)))
        object.__setattr__(self, "compiled", compiled)

    def matches(self, text: str) -> bool:
        """contains: case-insensitive substring; exact: equal after strip; regex: ``re.search``."""
        if self.kind == "regex":
            return self.compiled.search(text) is not None
        if self.kind == "exact":
            return self.compiled.fullmatch(text.strip()) is not None
        return self.compiled.search(_fold(text)) is not None


@dataclass(frozen=True)
class ItemReply:
    item: str
    reply: str


@dataclass(frozen=True)
class DefaultReply:
    text: str
    once: bool = False  # True: only the first message of each chat gets it


DeliveryKind = Literal["text", "stock", "api", "image"]
ConfirmWhen = Literal["before", "after", "off"]
CONFIRM_WHEN: tuple[ConfirmWhen, ...] = ("before", "after", "off")
DELIVERY_KINDS: tuple[DeliveryKind, ...] = ("text", "stock", "api", "image")


# The numeric delivery options' bounds (key in the file → (minimum, maximum)); delivery_rules.py enforces
# the minimum, NodeReader.number the maximum (and finiteness).
DELIVERY_LIMITS: dict[str, tuple[float, float]] = {
    "delay": (0, 86_400),  # a day between payment and delivery is already a long wait
    "timeout": (0.1, 300),
    "retries": (0, 20),
    "low_stock": (0, 100_000),
}


@dataclass(frozen=True)
class DeliveryRule:
    """What to send when an order is paid. ``item`` None is the account's fallback (``default: true``).

    ``source`` is the text template, the stock list name, the API URL template or the image, per ``kind``;
    ``message`` wraps what stock or api yields (``{code}``) or captions an image.
    """

    kind: DeliveryKind
    source: str
    item: str | None = None
    message: str | None = None
    before: str | None = None  # text ahead of the first unit, in the same message
    after: str | None = None  # text after the last unit, in the same message
    delay: float = 0.0  # seconds between payment and delivery
    confirm: ConfirmWhen = "after"  # consign.dummy before or after sending the units, or not at all
    method: str = "GET"  # api only, like the three below
    timeout: float = 10.0
    retries: int = 3
    response_field: str | None = None  # `field:`, dotted path of the code in the API's JSON answer; None: the whole body
    low_stock: int = 5  # stock only: StockLow when the list falls to this many codes; 0 = never


@dataclass(frozen=True)
class AccountConfig:
    """One seller account.

    Equality compares what the file says for this account; ``effective`` is left out because it also
    reflects global-only settings (pool sizes, log level) that must not restart a session —
    ``diff_accounts`` compares its per-account part instead. ``keywords`` holds the item-bound rules first,
    then the general ones, each in file order: the order in which they are tried.
    """

    id: str
    alias: str | None = None
    cookie: str | None = field(default=None, repr=False)
    cookie_env: str | None = None  # the variable's name, shown instead of the cookie
    enabled: bool = True
    proxy: str | None = field(default=None, repr=False)  # may carry a password
    user_agent: str | None = None
    keywords: tuple[KeywordRule, ...] = ()
    item_replies: tuple[ItemReply, ...] = ()
    default_reply: DefaultReply | None = None
    delivery: tuple[DeliveryRule, ...] = ()
    ai: AccountAi = AccountAi()  # the AI rule, bargaining limits and reply filter (ai_schema.py)
    # The account's own notification channels: read by the notifier on each message, so an edit restarts nothing.
    notify: tuple[NotifyChannel, ...] = field(default=(), compare=False)
    effective: Settings = field(default_factory=Settings, compare=False)

    @property
    def unb(self) -> str | None:
        return CookieJar.parse(self.cookie).unb if self.cookie else None

    def masked(self) -> str:
        """The cookie described without its secrets, for logs and summaries."""
        if not self.cookie:
            return "none (the simulator issues one)"
        return f"unb={mask(self.unb)} ({len(CookieJar.parse(self.cookie).names())} cookies)"


@dataclass(frozen=True)
class Config:
    path: Path
    server: ServerConfig = LIVE_SERVER
    database: str = field(default=DEFAULT_DB_URL, repr=False)  # a PostgreSQL URL may carry a password
    settings: Settings = field(default_factory=Settings)
    accounts: tuple[AccountConfig, ...] = ()
    ai: AccountAi = AccountAi()  # settings.ai / bargain / reply_filter: what an account without its own uses
    notify: NotifyConfig = NotifyConfig()  # notify: and settings.notify

    def channels(self) -> tuple[NotifyChannel, ...]:
        """Every notification channel: the service-wide ones, then each account's own."""
        return self.notify.channels + tuple(c for account in self.accounts for c in account.notify)

    def account(self, account_id: str) -> AccountConfig:
        account = self.find(account_id)
        if account is None:
            raise KeyError(account_id)
        return account

    def find(self, account_id: str) -> AccountConfig | None:
        """The account with this id, or None (a login for an id the file does not hold yet)."""
        return next((account for account in self.accounts if account.id == account_id), None)
