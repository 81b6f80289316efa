"""Every key accounts.yml accepts, documented: the file's keys and the settings.

The reference is data (``SETTINGS_DOC``, ``FILE_KEYS_DOC``), so the README table is generated from the
same source the loader checks keys against (``allowed_keys``): a key cannot be accepted without being
documented. reference.py renders these tables as Markdown.
"""

import re
from dataclasses import dataclass, fields
from typing import Any

from core.config.schema import Settings
from storage.engine import DEFAULT_DB_URL, DEMO_DB_URL


@dataclass(frozen=True)
class SettingDoc:
    name: str
    default: Any
    per_account: bool
    meaning: str
    minimum: float | None = None
    maximum: float | None = None

    @property
    def range(self) -> str:
        """"10 – 3600", "≥ 0", "≤ 5" or "" (not a number)."""
        low, high = (_number(self.minimum), _number(self.maximum))
        if low and high:
            return f"{low} – {high}"
        return f"≥ {low}" if low else (f"≤ {high}" if high else "")


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


SETTINGS_DOC: tuple[SettingDoc, ...] = tuple(
    SettingDoc(f.name, f.default, f.metadata["per_account"], f.metadata["meaning"], f.metadata["minimum"],
               f.metadata["maximum"]) for f in fields(Settings)
)


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
    KeyDoc("database", DEFAULT_DB_URL, "sqlite:///PATH or postgresql://USER:PASS@HOST/DB; with server: demo "
           f"{DEMO_DB_URL}, wiped at each start"),
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


# The AI keys, documented once and placed at every level that accepts them (ai_schema.py says how they merge).
_AI_KEYS: tuple[tuple[str, str, str], ...] = (
    ("enabled", "false", "true: the AI rule answers (after keyword rules, before the defaults)"),
    ("base_url", "api.openai.com", "any OpenAI-compatible /v1 endpoint (DeepSeek, DashScope, Ollama, vLLM …)"),
    ("model", "(required when enabled)", "the model name the endpoint serves"),
    ("api_key_env", "none", "environment variable holding the API key (optional for local models)"),
    ("api_key", "none", "the key itself, if you must write it here (masked everywhere); prefer api_key_env"),
    ("mode", "reply", "reply: send after the checks · suggest: a draft the seller sends, edits or discards"),
    ("timeout", "20", "seconds per model call; on timeout or error the next rule answers"),
    ("prompt", "\"\"", "the shop's instructions to the model (tone, shipping, what you sell)"),
    ("item_prompts", "{}", "item id: extra instructions for chats about that item"),
    ("history", "10", "earlier chat lines (buyer and seller) given to the model"),
    ("max_tokens", "300", "longest answer, in tokens"),
    ("temperature", "the endpoint's", "sampling temperature, 0 – 2"),
    ("hours", "always", "when the AI answers: \"09:00-23:00\" or a list of such windows (local time)"),
    ("handoff", "人工, 真人, 客服, 转人工, …", "words of a buyer who wants a person: the chat is flagged "
     "needs you and the AI stays out of it"),
    ("structured", "true", "ask for JSON {intent, price, reply}; false for endpoints without response_format"),
    ("daily_tokens", "0", "tokens per account and day; past it the AI rule passes to the next rule; 0 = no cap"),
    ("cost", "none", "prices per million tokens, for the usage shown per account and day"),
    ("cost.input", "0", "price per million prompt tokens"),
    ("cost.output", "0", "price per million completion tokens"),
)
_BARGAIN_KEYS: tuple[tuple[str, str, str], ...] = (
    ("floor", "no discount", "lowest price: yuan (\"80\") or a share of the listed price (\"85%\"); "
     "bargain: false = no discount"),
    ("max_rounds", "3", "counter-offers before the price is final"),
    ("schedule", "even steps", "share of the way from the listed price to the floor conceded by each round, "
     "e.g. [\"30%\", \"60%\", \"100%\"]; never goes back up"),
    ("agreed_hours", "72", "how long an agreed price is remembered for the buyer and item"),
    ("counter", "built-in", "the fixed counter-offer text ({price}) used when a draft quotes a wrong price"),
)
_FILTER_KEYS: tuple[tuple[str, str, str], ...] = (
    ("builtin", "true", "the built-in patterns: WeChat/QQ/phone numbers/links/off-platform steering"),
    ("patterns", "[]", "more regular expressions no reply may match"),
)


def _placed(prefix: str, keys: tuple[tuple[str, str, str], ...], meaning: str) -> tuple[KeyDoc, ...]:
    return (KeyDoc(prefix, "none", meaning),) + tuple(KeyDoc(f"{prefix}.{k}", d, m) for k, d, m in keys)


_ITEM_AI = tuple(k for k in _AI_KEYS if k[0] in ("enabled", "prompt"))
FILE_KEYS_DOC += (
    _placed("settings.ai", _AI_KEYS, "AI replies for every account (an account's ai: overrides key by key)")
    + _placed("settings.bargain", _BARGAIN_KEYS, "bargaining limits for every account, decided in code")
    + _placed("settings.reply_filter", _FILTER_KEYS, "what no reply may contain, whatever rule wrote it")
    + _placed("accounts[].ai", _AI_KEYS, "this account's AI rule, over settings.ai")
    + _placed("accounts[].bargain", _BARGAIN_KEYS, "this account's bargaining limits, over settings.bargain")
    + _placed("accounts[].reply_filter", _FILTER_KEYS, "this account's reply filter, instead of settings'")
    + (KeyDoc("accounts[].items", "[]", "per-item AI and bargaining overrides"),
       KeyDoc("accounts[].items[].id", "(required)", "item id"))
    + _placed("accounts[].items[].ai", _ITEM_AI, "this item's AI: enabled: false, or its own prompt")
    + _placed("accounts[].items[].bargain", _BARGAIN_KEYS, "this item's bargaining limits, over the account's")
)


# The notification keys (notify_schema.py): channels service-wide and per account, and the policy.
_CHANNEL_KEYS: tuple[tuple[str, str, str], ...] = (
    ("url", "(url or url_env)", "an apprise URL: dingtalk://, feishu://, wecombot://, tgram://, bark://, ntfy://, "
     "mailto://, discord://, json:// … (masked everywhere: it carries tokens)"),
    ("url_env", "(url or url_env)", "name of an environment variable holding the URL"),
    ("name", "scheme#N", "what `notify test NAME` and the dashboard call the channel"),
    ("events", "every kind but order_paid, daily_summary", "the kinds this channel receives: needs_verification, "
     "login_required, login_expiring, offline, delivery_failed, low_stock, needs_you, order_paid, "
     "account_recovered, daily_summary"),
    ("min_severity", "info", "info | warning | error: the least severe message this channel receives"),
    ("rate_per_minute", "20", "messages per minute at most (DingTalk and WeCom robots take about 20)"),
)
_NOTIFY_POLICY_KEYS: tuple[tuple[str, str, str], ...] = (
    ("grace_seconds", "120", "an account offline this long is an offline incident (a disconnect alone is not)"),
    ("fail_count", "5", "… or this many failed connects or disconnects within the grace period (flapping)"),
    ("group_seconds", "10", "incidents of one kind across accounts within this window go out as one message"),
    ("reminders", "[30, 120, 480]", "minutes after the first message at which an open incident is said again"),
    ("attempts", "8", "tries per message and channel before it is dead (logged, shown red)"),
    ("retry_seconds", "5", "first retry delay; doubles per try, at most 10 minutes"),
    ("quiet_hours", "none", "\"23:00-07:00\" (or a list): less severe messages wait until the window ends"),
    ("quiet_severity", "error", "what still gets through in quiet hours"),
    ("summary_at", "21:00", "local time of the daily_summary (sent to channels that list it)"),
)
FILE_KEYS_DOC += (
    (KeyDoc("notify", "[]", "notification channels for every account: a list of apprise URLs or mappings"),)
    + tuple(KeyDoc(f"notify[].{k}", d, m) for k, d, m in _CHANNEL_KEYS)
    + (KeyDoc("accounts[].notify", "[]", "this account's own channels, in addition to notify:"),)
    + tuple(KeyDoc(f"accounts[].notify[].{k}", d, m) for k, d, m in _CHANNEL_KEYS)
    + _placed("settings.notify", _NOTIFY_POLICY_KEYS, "when an incident is worth a message, grouping, retries, "
              "quiet hours")
)


def allowed_keys(parent: str) -> frozenset[str]:
    """The documented child keys of *parent* ("" = top level, "accounts[]" = an account, ...)."""
    prefix = f"{parent}." if parent else ""
    children = (doc.key[len(prefix):] for doc in FILE_KEYS_DOC if doc.key.startswith(prefix))
    return frozenset(child for child in children if child and not re.search(r"[.\[]", child))
