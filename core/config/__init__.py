"""accounts.yml → typed, validated, immutable settings; the schema and its documentation; hot reload.

The package owns everything about the config file: the frozen value types the rest of core uses
(schema.py), the rules on values (checks.py) and templates (templates.py), the documented keys
(keys.py) and the README reference rendered from them (reference.py), reading the file into a Config
with FILE:LINE issues (loader.py over nodes.py, reply_rules.py, delivery_rules.py), reloading it
(reload.py) and the `xianyu.py check` summary (summary.py).

It may import core.goofish (cookies, endpoints), core.bargain (the bargaining policy value), core.errors, and from storage only the constants and
helpers DEFAULT_DB_URL (storage.engine) and mask_url (storage.errors); nothing else of core, and never
textual or sim. Import from core.config itself; the modules are its layout, not its interface.
"""

from core.config.checks import (
    ACCOUNT_ID,
    cookie_problem,
    database_problem,
    item_problem,
    name_problem,
    pattern_problem,
    proxy_problem,
    setting_problem,
    settings_conflicts,
    suggest,
    url_problem,
)
from core.config.keys import FILE_KEYS_DOC, SETTINGS_DOC, KeyDoc, SettingDoc, allowed_keys
from core.config.loader import load_config
from core.config.reload import AccountDiff, ConfigWatcher, diff_accounts
from core.config.schema import (
    CONFIRM_WHEN,
    DELIVERY_KINDS,
    DEMO_SERVER,
    LIVE_SERVER,
    LOG_LEVELS,
    PER_ACCOUNT_SETTINGS,
    AccountConfig,
    Config,
    ConfirmWhen,
    DefaultReply,
    DeliveryKind,
    DeliveryRule,
    ItemReply,
    KeywordRule,
    MatchKind,
    ServerConfig,
    Settings,
)
from core.config.summary import summary
from core.config.templates import DELIVERY_PLACEHOLDERS, REPLY_PLACEHOLDERS, render_template, template_problem
from core.errors import ConfigError, ConfigIssue

__all__ = [
    "ACCOUNT_ID", "CONFIRM_WHEN", "DELIVERY_KINDS", "DELIVERY_PLACEHOLDERS", "DEMO_SERVER", "FILE_KEYS_DOC",
    "LIVE_SERVER", "LOG_LEVELS", "PER_ACCOUNT_SETTINGS", "REPLY_PLACEHOLDERS", "SETTINGS_DOC", "AccountConfig",
    "AccountDiff", "Config", "ConfigError", "ConfigIssue", "ConfigWatcher", "ConfirmWhen", "DefaultReply",
    "DeliveryKind", "DeliveryRule", "ItemReply", "KeyDoc", "KeywordRule", "MatchKind", "ServerConfig",
    "SettingDoc", "Settings", "allowed_keys", "cookie_problem", "database_problem", "diff_accounts",
    "item_problem", "load_config", "name_problem", "pattern_problem", "proxy_problem", "reference_markdown",
    "render_template", "setting_problem", "settings_conflicts", "suggest", "summary", "template_problem",
    "url_problem",
]


def __getattr__(name: str) -> object:
    # reference.py is imported only when asked for: were it imported here, `python -m core.config.reference`
    # would find it loaded already and runpy would warn before running it a second time, as __main__.
    if name == "reference_markdown":
        from core.config.reference import reference_markdown

        return reference_markdown
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
