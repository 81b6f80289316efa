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


def allowed_keys(parent: str) -> frozenset[str]:
    """The documented child keys of *parent* ("" = top level, "accounts[]" = an account, ...)."""
    prefix = f"{parent}." if parent else ""
    children = (doc.key[len(prefix):] for doc in FILE_KEYS_DOC if doc.key.startswith(prefix))
    return frozenset(child for child in children if child and not re.search(r"[.\[]", child))
