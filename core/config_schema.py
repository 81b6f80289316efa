"""The typed, immutable shape of accounts.yml and the reference of every key it accepts.

Everything is a frozen dataclass: no thread can change a setting under another, and a reload can compare
old and new values with ``==`` to restart only the accounts that changed. Reading and validating the file
lives in core/config.py; this module is what the rest of core uses once a config exists.

The key reference is data (``SETTINGS_DOC``, ``FILE_KEYS_DOC``), so the README table is generated from the
same source the parser checks keys against: a key cannot be accepted without being documented.
"""

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from core.goofish.cookies import CookieJar, mask
from core.goofish.endpoints import LIVE
from storage.engine import DEFAULT_DB_URL
from storage.errors import mask_url

# Account ids become job ids ("kind:account"), log fields and file names, so they stay plain.
ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# --------------------------------------------------------------------------------------------- templates

REPLY_PLACEHOLDERS = ("buyer_nick", "item_title", "item_price", "text")
DELIVERY_PLACEHOLDERS = ("buyer_nick", "item_title", "item_price", "order_id", "code", "quantity", "unit")
# `{{` and `}}` are tried first so a doubled brace is never read as the start of a placeholder.
_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_KNOWN_TOKEN = re.compile(
    r"\{\{|\}\}|\{(" + "|".join(sorted(set(REPLY_PLACEHOLDERS + DELIVERY_PLACEHOLDERS))) + r")\}"
)


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{name}`` placeholders of a configured reply; ``{{``/``}}`` become literal braces.

    Only the known placeholder names are substituted, in one regex pass, so braces inside the values (a
    buyer's text, an item title) come through untouched. This is deliberately not ``str.format``, which would
    evaluate attribute and index lookups written by whoever controls the text. A known name missing from
    *values* renders as an empty string rather than leaking ``{item_price}`` to a buyer.
    """

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group(0)[0] if name is None else values.get(name, "")

    return _KNOWN_TOKEN.sub(swap, template)


def template_problem(template: str, allowed: Iterable[str]) -> str | None:
    """Why *template* is unusable (a ``{placeholder}`` not in *allowed*), or None."""
    allowed = tuple(allowed)
    problems = []
    for match in _TEMPLATE_TOKEN.finditer(template):
        name = match.group(1)
        if name is None or name in allowed:
            continue
        guess = suggest(name, allowed)
        hint = (
            f"did you mean '{{{guess}}}'?"
            if guess
            else "known: " + ", ".join(f"{{{n}}}" for n in allowed) + "; write {{ or }} for a literal brace"
        )
        problems.append(f"unknown placeholder '{{{name}}}' ({hint})")
    return "; ".join(problems) or None


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of *choices* to a misspelt *word*, for "did you mean" hints."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return close[0] if close else None


# --------------------------------------------------------------------------------------------- settings


def _setting(default: Any, meaning: str, *, minimum: float | None = None, per_account: bool = False) -> Any:
    return field(default=default, metadata={"meaning": meaning, "minimum": minimum, "per_account": per_account})


@dataclass(frozen=True)
class Settings:
    """Service-wide defaults (``settings:``); the per-account ones may be overridden on an account.

    ``minimum`` in each field's metadata is what the loader enforces; the reference table generated from
    these fields is appended to this module's docstring and returned as ``SETTINGS_DOC``.
    """

    pool_size: int = _setting(0, "most session threads (one per running account); 0 = no limit", minimum=0)
    messages_in_flight: int = _setting(64, "messages being handled at once across all accounts", minimum=1)
    handler_threads: int = _setting(8, "shared threads that run the reply pipeline", minimum=1)
    start_spread_seconds: float = _setting(
        3.0, "account starts are spread over this many seconds, so a restart is no credential storm", minimum=0
    )
    heartbeat_interval: float = _setting(15.0, "seconds between WebSocket heartbeats", minimum=1, per_account=True)
    heartbeat_timeout: float = _setting(
        10.0, "no heartbeat reply within this many seconds → reconnect", minimum=1, per_account=True
    )
    # Refreshing tokens often is what gets accounts risk-controlled, hence the floor of a minute.
    token_refresh_interval: int = _setting(
        3600, "seconds between token checks; the IM token is renewed when it would expire before the next check", minimum=60, per_account=True
    )
    token_refresh_jitter: int = _setting(
        300, "± seconds of random jitter on each token refresh", minimum=0, per_account=True
    )
    keepalive_interval: int = _setting(
        1200, "seconds between hasLogin cookie keep-alives", minimum=60, per_account=True
    )
    reconnect_backoff_base: float = _setting(
        1.0, "first reconnect delay in seconds; doubles per failure", minimum=0.1, per_account=True
    )
    reconnect_backoff_cap: float = _setting(
        60.0, "longest reconnect delay in seconds", minimum=1, per_account=True
    )
    max_message_age: int = _setting(
        300, "seconds; older messages are recorded but not answered", minimum=1, per_account=True
    )
    debounce_seconds: float = _setting(
        3.0, "wait this long for a buyer's follow-up messages, then answer the last; 0 = off",
        minimum=0, per_account=True,
    )
    takeover_minutes: float = _setting(
        10, "pause a chat after the seller replies by hand (fractions allowed); 0 = off", minimum=0,
        per_account=True
    )
    connect_timeout: float = _setting(10.0, "WebSocket connect timeout in seconds", minimum=1, per_account=True)
    http_timeout: float = _setting(10.0, "HTTP request timeout in seconds", minimum=1, per_account=True)
    retention_days: int = _setting(30, "stored rows older than this many days are cleaned up", minimum=1)
    slider_slots: int = _setting(
        2, "slider-verification browsers (headless Chromium) running at once; more jobs wait in line, first come "
        "first served", minimum=1)
    slider_wait_timeout: float = _setting(
        120.0, "seconds a verification waits in line for a browser before it gives up", minimum=1)
    slider_tries: int = _setting(
        3, "drags per verification (the page's retry or a reload between them) before the manual path", minimum=1)
    browser_path: str = _setting(
        "chromium", "Chromium used for verification: a name on PATH or a full path (started with the account's UA)")
    delivery_attempts: int = _setting(
        6, "tries per order delivery (API down, send error, no stock) before it is left failed", minimum=1
    )
    delivery_retry_seconds: float = _setting(
        5.0, "first delay between delivery tries in seconds; doubles per try, at most 10 minutes", minimum=0.1
    )
    log_level: str = _setting("INFO", "one of " + ", ".join(LOG_LEVELS) + " (any case)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "log_level", self.log_level.upper())  # what the logging module expects

    def per_account(self) -> tuple[tuple[str, Any], ...]:
        """The values that shape one account's session; a change here restarts that account."""
        return tuple((name, getattr(self, name)) for name in sorted(PER_ACCOUNT_SETTINGS))


@dataclass(frozen=True)
class SettingDoc:
    name: str
    default: Any
    per_account: bool
    meaning: str


SETTINGS_DOC: tuple[SettingDoc, ...] = tuple(
    SettingDoc(f.name, f.default, f.metadata["per_account"], f.metadata["meaning"]) for f in fields(Settings)
)
PER_ACCOUNT_SETTINGS = frozenset(doc.name for doc in SETTINGS_DOC if doc.per_account)

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

    def account(self, account_id: str) -> AccountConfig:
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise KeyError(account_id)


# --------------------------------------------------------------------------------------------- value rules
# Each rule says why a value is unacceptable, or returns None. None of them quotes a secret.

_ITEM_ID = re.compile(r"\d{1,20}")


def setting_problem(name: str, value: Any) -> str | None:
    if isinstance(value, str):
        if not value:
            return "must not be empty"
        if name == "log_level" and value.upper() not in LOG_LEVELS:
            return f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}"
        return None
    minimum = Settings.__dataclass_fields__[name].metadata["minimum"]
    if value >= minimum:
        return None
    return f"must not be negative, got {value:g}" if minimum == 0 else f"must be at least {minimum:g}, got {value:g}"


def settings_conflicts(settings: Settings) -> list[tuple[str, str]]:
    """Rules between two settings, as (setting name, message) pairs."""
    conflicts = []
    if settings.token_refresh_jitter >= settings.token_refresh_interval:
        conflicts.append(("token_refresh_jitter", "must be smaller than token_refresh_interval"))
    if settings.reconnect_backoff_cap < settings.reconnect_backoff_base:
        conflicts.append(("reconnect_backoff_cap", "must not be smaller than reconnect_backoff_base"))
    return conflicts


def name_problem(value: str, what: str) -> str | None:
    """Account ids and stock names end up in job ids, log fields and CLI arguments, so they stay plain."""
    return None if ACCOUNT_ID.fullmatch(value) else f"{what} is 1-64 of A-Z a-z 0-9 _ . -, got {value!r}"


def pattern_problem(kind: MatchKind, pattern: str) -> str | None:
    if not pattern.strip():
        return "empty pattern (it would match every message)"
    if kind == "regex":
        try:
            re.compile(pattern)  # re caches it, so KeywordRule compiling it again costs nothing
        except re.error as err:
            return f"bad regex: {err}"
    return None


def item_problem(value: str) -> str | None:
    return None if _ITEM_ID.fullmatch(value) else f"an item id is digits (as in goofish.com/item?id=…), got {value!r}"


def url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    if re.match(rf"({'|'.join(schemes)})://[^/\s]", url):
        return None
    return f"expected a {' or '.join(f'{scheme}://' for scheme in schemes)} URL, got {url!r}"


def proxy_problem(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        port_ok = parts.port is not None or parts.scheme in ("http", "https")
    except ValueError:  # a port that is not a number
        port_ok = False
    if parts.scheme in ("http", "https", "socks5", "socks5h") and parts.hostname and port_ok:
        return None
    return "expected a proxy URL like http://USER:PASS@HOST:PORT (http, https, socks5, socks5h)"


def database_problem(url: str) -> str | None:
    if re.match(r"(sqlite:///|postgresql(\+\w+)?://)", url):
        return None
    return "expected sqlite:///PATH or postgresql://USER:PASS@HOST/DB"


def cookie_problem(cookie: str) -> str | None:
    # Parsed by the same jar the client uses, so what passes here is what the session will send.
    if CookieJar.parse(cookie).unb:
        return None
    return "no unb= in the cookie; copy the whole Cookie header of a logged-in goofish.com tab"


# --------------------------------------------------------------------------------------------- reload, check


@dataclass(frozen=True)
class AccountDiff:
    """Account ids by what a reload means for them: start, stop, restart, leave alone."""

    added: frozenset[str]
    removed: frozenset[str]
    changed: frozenset[str]
    unchanged: frozenset[str]


def diff_accounts(old: Config, new: Config) -> AccountDiff:
    """Compare two configs account by account, so a hot reload restarts only what it must.

    An account is changed when anything it was configured with differs (including enabled, the cookie and
    its per-account effective settings), or when the server changed, since every session must reconnect.
    Global-only settings (pool sizes, retention, log level) restart nothing.
    """
    before = {account.id: account for account in old.accounts}
    after = {account.id: account for account in new.accounts}
    common = before.keys() & after.keys()
    changed = frozenset(
        account_id for account_id in common
        if old.server != new.server
        or before[account_id] != after[account_id]
        or before[account_id].effective.per_account() != after[account_id].effective.per_account()
    )
    return AccountDiff(
        added=frozenset(after.keys() - before.keys()),
        removed=frozenset(before.keys() - after.keys()),
        changed=changed,
        unchanged=frozenset(common) - changed,
    )


def summary(config: Config) -> str:
    """What `python xianyu.py check` prints: enough to confirm the file says what the seller meant, with
    the cookie, proxy and database passwords masked."""
    server = config.server
    endpoints = "" if server.mode == "demo" else f"  ws {server.ws}  api {server.api}  passport {server.passport}"
    enabled = sum(account.enabled for account in config.accounts)
    lines = [
        f"config: {config.path}",
        f"server: {server.mode}{endpoints}" + (f"  ca {server.ca}" if server.ca else ""),
        f"database: {mask_url(config.database)}",
        f"accounts: {len(config.accounts)} ({enabled} enabled, {len(config.accounts) - enabled} disabled)",
    ]
    for account in config.accounts:
        lines += _account_summary(account, config.settings)
    return "\n".join(lines)


def _account_summary(account: AccountConfig, settings: Settings) -> list[str]:
    alias = f" ({account.alias})" if account.alias else ""
    source = f" from ${account.cookie_env}" if account.cookie_env else ""
    item_bound = sum(rule.item is not None for rule in account.keywords)
    default = "none"
    if account.default_reply:
        default = "once per chat" if account.default_reply.once else "every time"
    lines = [
        f"  - {account.id}{alias}: {'enabled' if account.enabled else 'disabled'}",
        f"    cookie: {account.masked()}{source}",
        f"    replies: keywords {len(account.keywords)} ({item_bound} item-bound), "
        f"item replies {len(account.item_replies)}, default reply {default}",
        f"    delivery rules: {len(account.delivery)}",
    ]
    if account.proxy:
        lines.append(f"    proxy: {mask_url(account.proxy)}")
    if account.user_agent:
        lines.append(f"    user agent: {account.user_agent}")
    overrides = [f"{name}={value}" for name, value in account.effective.per_account()
                 if getattr(settings, name) != value]
    if overrides:
        lines.append(f"    overrides: {', '.join(overrides)}")
    return lines


# --------------------------------------------------------------------------------------------- key reference


@dataclass(frozen=True)
class KeyDoc:
    key: str  # dotted path; "[]" marks a list entry
    default: str
    meaning: str


FILE_KEYS_DOC: tuple[KeyDoc, ...] = (
    KeyDoc("server", "live", "demo (built-in simulator), live (real Goofish) or a mapping of endpoints"),
    KeyDoc("server.ws", "(required)", "IM WebSocket URL, ws:// or wss://"),
    KeyDoc("server.api", "(required)", "mtop HTTP base URL, http:// or https://"),
    KeyDoc("server.passport", "(required)", "passport HTTP base URL, http:// or https://"),
    KeyDoc("server.ca", "none", "PEM file to trust for TLS (relative to the config file)"),
    KeyDoc("database", DEFAULT_DB_URL, "sqlite:///PATH or postgresql://USER:PASS@HOST/DB"),
    KeyDoc("settings", "see the settings table", "service-wide defaults"),
    KeyDoc("accounts", "(required)", "the seller accounts; [] is allowed. An account may also override any "
           "per-account setting by name"),
    KeyDoc("accounts[].id", "(required)", "unique name, 1-64 of A-Z a-z 0-9 _ . -"),
    KeyDoc("accounts[].alias", "the id", "display name"),
    KeyDoc("accounts[].cookie", "(required unless cookie_env or server: demo)",
           "the Cookie header of a logged-in goofish.com tab; must contain unb="),
    KeyDoc("accounts[].cookie_env", "none", "name of an environment variable holding the cookie"),
    KeyDoc("accounts[].enabled", "true", "false keeps the account configured but not started"),
    KeyDoc("accounts[].proxy", "none", "http://, https://, socks5:// or socks5h:// proxy URL for this account"),
    KeyDoc("accounts[].user_agent", "built-in Chrome UA", "one UA for HTTP, WebSocket and the slider browser"),
    KeyDoc("accounts[].keywords", "[]", "keyword rules, tried in order; item-bound ones first; first hit wins"),
    KeyDoc("accounts[].keywords[].match", "(required)", "text to look for (contains), or one of the forms below"),
    KeyDoc("accounts[].keywords[].match.contains", "—", "case-insensitive substring (full-width folded)"),
    KeyDoc("accounts[].keywords[].match.exact", "—", "the whole message, ignoring surrounding spaces"),
    KeyDoc("accounts[].keywords[].match.regex", "—", "Python regular expression, searched anywhere"),
    KeyDoc("accounts[].keywords[].reply", "(required)", "reply template; \"\" = stay silent"),
    KeyDoc("accounts[].keywords[].item", "none", "only in chats about this item id"),
    KeyDoc("accounts[].item_replies", "[]", "per-item reply when no keyword hits"),
    KeyDoc("accounts[].item_replies[].item", "(required)", "item id"),
    KeyDoc("accounts[].item_replies[].reply", "(required)", "reply template"),
    KeyDoc("accounts[].default_reply", "none", "reply when nothing else matches: a string, or the mapping below"),
    KeyDoc("accounts[].default_reply.text", "(required)", "reply template"),
    KeyDoc("accounts[].default_reply.once", "false", "true: only once per chat (a plain string means false)"),
    KeyDoc("accounts[].delivery", "[]", "what to send when an order is paid"),
    KeyDoc("accounts[].delivery[].item", "(item or default)", "item id this rule delivers"),
    KeyDoc("accounts[].delivery[].default", "false", "true: the rule for items without their own"),
    KeyDoc("accounts[].delivery[].text", "(one of text/stock/api/image)", "text template to send"),
    KeyDoc("accounts[].delivery[].stock", "(one of text/stock/api/image)", "stock list to take one code from"),
    KeyDoc("accounts[].delivery[].api", "(one of text/stock/api/image)", "http(s) URL template that returns a code"),
    KeyDoc("accounts[].delivery[].image", "(one of text/stock/api/image)", "http(s) URL of an uploaded image to send"),
    KeyDoc("accounts[].delivery[].message", "{code} for stock/api",
           "template around the {code} that stock or api yields; for image, a caption"),
    KeyDoc("accounts[].delivery[].before", "none", "template sent ahead of the first unit, in the same message"),
    KeyDoc("accounts[].delivery[].after", "none", "template sent after the last unit, in the same message"),
    KeyDoc("accounts[].delivery[].delay", "0", "seconds to wait after payment before delivering"),
    KeyDoc("accounts[].delivery[].confirm", "after",
           "confirm shipment on the platform (consign.dummy) before or after sending the units, or off"),
    KeyDoc("accounts[].delivery[].method", "GET", "api: GET (placeholders in the URL) or POST (also as a JSON body)"),
    KeyDoc("accounts[].delivery[].timeout", "10", "api: seconds per request"),
    KeyDoc("accounts[].delivery[].retries", "3", "api: further tries with backoff within one delivery try"),
    KeyDoc("accounts[].delivery[].field", "the whole body",
           "api: dotted path of the code in the JSON answer, e.g. data.code"),
    KeyDoc("accounts[].delivery[].low_stock", "5",
           "stock: raise a low-stock event when the list falls to this many codes (once per crossing); 0 = off"),
)


def allowed_keys(parent: str) -> frozenset[str]:
    """The documented child keys of *parent* ("" = top level, "accounts[]" = an account, ...)."""
    prefix = f"{parent}." if parent else ""
    children = (doc.key[len(prefix):] for doc in FILE_KEYS_DOC if doc.key.startswith(prefix))
    return frozenset(child for child in children if child and not re.search(r"[.\[]", child))


def reference_markdown() -> str:
    """The README's reference tables: every file key, then every setting."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    lines += [f"| `{d.key}` | {d.default} | {d.meaning} |" for d in FILE_KEYS_DOC]
    lines += ["", "| setting | default | per account | meaning |", "|---|---|---|---|"]
    lines += [f"| `{d.name}` | {d.default} | {'yes' if d.per_account else 'no'} | {d.meaning} |" for d in SETTINGS_DOC]
    placeholders = ", ".join(f"`{{{name}}}`" for name in REPLY_PLACEHOLDERS)
    delivery = ", ".join(f"`{{{name}}}`" for name in DELIVERY_PLACEHOLDERS)
    lines += ["", f"Reply templates may use {placeholders}; delivery templates {delivery}. "
              "Write `{{` and `}}` for literal braces."]
    return "\n".join(lines)


__doc__ = f"{__doc__}\n{reference_markdown()}\n"
