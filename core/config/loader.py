"""accounts.yml → a validated, immutable Config: load_config, and parse for the watcher's own reads.

Validation walks the file's YAML nodes once (nodes.py) and collects every issue; load_config raises one
ConfigError listing them all as FILE:LINE: key.path: message lines. The account's reply and delivery
rules are read by reply_rules.py and delivery_rules.py.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, get_type_hints

from yaml.nodes import MappingNode, Node, ScalarNode

from core.config.ai_rules import account_ai, service_ai
from core.config.ai_schema import AccountAi
from core.config.checks import (
    HTTP,
    cookie_problem,
    database_problem,
    name_problem,
    proxy_problem,
    setting_problem,
    settings_conflicts,
    suggest,
    url_problem,
)
from core.config.delivery_rules import read_deliveries
from core.config.keys import SETTINGS_DOC, allowed_keys
from core.config.nodes import NodeReader, describe, given, join, optional
from core.config.notify_rules import read_channels, read_notify_settings
from core.config.notify_schema import NotifyConfig, NotifySettings
from core.config.reply_rules import read_default_reply, read_item_replies, read_keywords
from core.config.schema import (
    DELIVERY_LIMITS,
    DEMO_SERVER,
    LIVE_SERVER,
    PER_ACCOUNT_SETTINGS,
    AccountConfig,
    Config,
    ServerConfig,
    Settings,
)
from core.errors import ConfigError, ConfigIssue
from storage.engine import DEFAULT_DB_URL, DEMO_DB_URL

_SETTING_TYPES: dict[str, type] = get_type_hints(Settings)
_ACCOUNT_KEYS = allowed_keys("accounts[]") | PER_ACCOUNT_SETTINGS
_SETTINGS_KEYS = frozenset(_SETTING_TYPES) | allowed_keys("settings")  # ai, bargain, reply_filter: mappings
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Keys a seller may put at the wrong level: a pointer to the right place beats "unknown key".
_GLOBAL_ONLY_HINTS = {
    doc.name: "is a service-wide setting; set it under settings:" for doc in SETTINGS_DOC if not doc.per_account
}
_UNDER_SETTINGS_HINTS = {doc.name: "belongs under settings:" for doc in SETTINGS_DOC}
# The largest value of each numeric key, by where it may stand: a setting (under settings: or overridden
# on an account) or a delivery rule's option. NodeReader.number refuses more (and inf or nan).
_SETTING_MAXIMA = {name: f.metadata["maximum"] for name, f in Settings.__dataclass_fields__.items()
                   if f.metadata.get("maximum") is not None}
_SETTING_PATH = re.compile(r"(?:settings|accounts\[\d+\])\.(\w+)")
_DELIVERY_PATH = re.compile(r"accounts\[\d+\]\.delivery\[\d+\]\.(\w+)")


def maximum_for(key_path: str) -> float | None:
    """The bound on the number at *key_path* (e.g. ``accounts[0].heartbeat_interval``), None if unbounded."""
    if match := _SETTING_PATH.fullmatch(key_path):
        return _SETTING_MAXIMA.get(match[1])
    if match := _DELIVERY_PATH.fullmatch(key_path):
        limits = DELIVERY_LIMITS.get(match[1])
        return limits[1] if limits else None
    return None


def load_config(path: str | Path, *, env: Mapping[str, str] = os.environ) -> Config:
    """Read and validate *path*. Raises ConfigError listing every issue (see core.errors)."""
    path = Path(path)
    return parse(read_file(path), path, env)


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConfigError([ConfigIssue(str(path), 1, "(file)", f"cannot read: {err.strerror}")]) from None


def parse(data: bytes, path: Path, env: Mapping[str, str]) -> Config:
    """The Config in *data*, the contents of *path*. Raises ConfigError listing every issue."""
    reader = NodeReader(str(path), env, maximum_for)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError([ConfigIssue(str(path), line, "(file)", "not UTF-8 text; save the file as UTF-8")]) from None
    root = reader.compose(text)
    config = _config(reader, root, path) if not reader.issues else None
    if reader.issues or config is None:
        raise ConfigError(reader.issues)
    return config


def _config(r: NodeReader, root: Node | None, path: Path) -> Config | None:
    if root is None:  # an empty file, or only comments
        top: dict[str, Node] = {}
    elif isinstance(root, MappingNode):
        top = r.mapping(root, "", allowed_keys(""), _UNDER_SETTINGS_HINTS) or {}
    else:
        r.report(root, "(file)", f"expected a mapping of server, database, settings, accounts; got {describe(root)}")
        return None
    server_node = given(top, "server")
    server = _server(r, server_node, path.parent) if server_node else LIVE_SERVER
    # The demo's marketplace is new each run, so by default it gets its own database, which each run starts afresh.
    default_db = DEMO_DB_URL if server is not None and server.mode == "demo" else DEFAULT_DB_URL
    database = optional(top, "database", "", lambda node, key: r.text(node, key, database_problem, secret=True),
                        default_db)
    settings_node = given(top, "settings")
    settings_values = r.mapping(settings_node, "settings", _SETTINGS_KEYS) if settings_node else {}
    settings = (_global_settings(r, settings_values, settings_node) if settings_values is not None and settings_node
                else Settings())
    ai = service_ai(r, settings_values or {})
    channel_names: dict[str, int] = {}
    policy_node = given(settings_values or {}, "notify")
    notify = NotifyConfig(
        optional(top, "notify", "", lambda n, p: read_channels(r, n, p, "notify", None, channel_names), ()),
        read_notify_settings(r, policy_node, "settings.notify") if policy_node else NotifySettings())
    if "accounts" not in top:
        r.report(root, "accounts", "missing (list the seller accounts, or write accounts: [])")
        return None
    id_lines: dict[str, int] = {}
    accounts = [_account(r, node, f"accounts[{index}]", settings, id_lines, ai, channel_names)
                for index, node in enumerate(r.sequence(top["accounts"], "accounts"))]
    return Config(path=path, server=server or LIVE_SERVER, database=database, settings=settings,
                  accounts=tuple(account for account in accounts if account), ai=ai, notify=notify)


def _server(r: NodeReader, node: Node, base_dir: Path) -> ServerConfig | None:
    if isinstance(node, ScalarNode):
        named = {"demo": DEMO_SERVER, "live": LIVE_SERVER}
        if node.value in named:
            return named[node.value]
        guess = suggest(str(node.value), named)
        r.report(node, "server", f"expected demo, live or a mapping {{ws, api, passport, ca}}, got {node.value!r}"
                 + (f" (did you mean '{guess}'?)" if guess else ""))
        return None
    values = r.mapping(node, "server", allowed_keys("server"))
    if values is None:
        return None
    urls = {
        key: r.required(values, key, node, "server", lambda n, p, s=schemes: r.text(n, p, lambda v: url_problem(v, s)))
        for key, schemes in (("ws", ("ws", "wss")), ("api", HTTP), ("passport", HTTP))
    }
    ca = optional(values, "ca", "server", lambda n, p: _existing_file(r, n, p, base_dir), None)
    return ServerConfig("custom", urls["ws"], urls["api"], urls["passport"], ca)


def _existing_file(r: NodeReader, node: Node, path: str, base_dir: Path) -> Path | None:
    text = r.text(node, path)
    if text is None:
        return None
    file = (base_dir / text).resolve()  # relative to the config file, not to wherever the service started
    if not file.is_file():
        r.report(node, path, f"file not found: {file}")
        return None
    return file


def _setting_values(r: NodeReader, values: Mapping[str, Node], path: str) -> dict[str, Any]:
    """The settings among *values* (an account holds other keys too), converted and range-checked."""
    result: dict[str, Any] = {}
    for name in values:
        node = given(values, name)
        if name not in _SETTING_TYPES or node is None:
            continue
        key_path = join(path, name)
        kind = _SETTING_TYPES[name]
        value = r.text(node, key_path) if kind is str else r.number(node, key_path, kind)
        problem = None if value is None else setting_problem(name, value)
        if problem:
            r.report(node, key_path, problem)
        elif value is not None:
            result[name] = value
    return result


def _report_conflicts(r: NodeReader, settings: Settings, values: Mapping[str, Node], parent: Node, path: str,
                      inherited: Settings | None = None) -> None:
    """Report settings that contradict each other, once: on an account only the conflicts it introduces."""
    already = settings_conflicts(inherited) if inherited else []
    for name, message in settings_conflicts(settings):
        if (name, message) not in already:
            r.report(values.get(name, parent), f"{path}.{name}", message)


def _global_settings(r: NodeReader, values: Mapping[str, Node], node: Node) -> Settings:
    settings = Settings(**_setting_values(r, values, "settings"))
    _report_conflicts(r, settings, values, node, "settings")
    return settings


def _account(r: NodeReader, node: Node, path: str, settings: Settings, id_lines: dict[str, int],
             ai_defaults: AccountAi, channel_names: dict[str, int]) -> AccountConfig | None:
    values = r.mapping(node, path, _ACCOUNT_KEYS, _GLOBAL_ONLY_HINTS)
    if values is None:
        return None
    account_id = r.required(values, "id", node, path, lambda n, p: _account_id(r, n, p, id_lines),
                            "a unique name like shop-a")
    cookie, cookie_env = _cookie(r, values, path)
    effective = replace(settings, **_setting_values(r, values, path))
    _report_conflicts(r, effective, values, node, path, inherited=settings)
    account = AccountConfig(
        id=account_id or "",
        alias=optional(values, "alias", path, r.text, None),
        cookie=cookie,
        cookie_env=cookie_env,
        enabled=optional(values, "enabled", path, r.flag, True),
        proxy=optional(values, "proxy", path, lambda n, p: r.text(n, p, proxy_problem, secret=True), None),
        user_agent=optional(values, "user_agent", path, r.text, None),
        keywords=optional(values, "keywords", path, lambda n, p: read_keywords(r, n, p), ()),
        item_replies=optional(values, "item_replies", path, lambda n, p: read_item_replies(r, n, p), ()),
        default_reply=optional(values, "default_reply", path, lambda n, p: read_default_reply(r, n, p), None),
        delivery=optional(values, "delivery", path, lambda n, p: read_deliveries(r, n, p), ()),
        ai=_checked_ai(r, account_ai(r, values, path, ai_defaults), values, node, path),
        notify=optional(values, "notify", path,
                        lambda n, p: read_channels(r, n, p, "accounts[].notify", account_id, channel_names), ()),
        effective=effective,
    )
    return account if account_id else None


def _checked_ai(r: NodeReader, ai: AccountAi, values: Mapping[str, Node], node: Node, path: str) -> AccountAi:
    """What only the merged levels can tell: bargaining terms that fit together, an enabled AI rule's model and the
    variable of its key."""
    for terms, where_path in [(ai.bargain, f"{path}.bargain")] + [
            (t.bargain, f"{path}.items[{i}].bargain") for i, t in enumerate(ai.items)]:
        try:
            terms.policy()
        except ValueError as exc:
            r.report(given(values, "bargain") or node, where_path, str(exc))
    if not ai.ai.enabled:
        return ai
    where = given(values, "ai") or node
    if not ai.ai.model:
        r.report(where, f"{path}.ai.model", "missing (the model the endpoint serves, e.g. qwen2.5:7b), here or "
                                            "under settings.ai")
    name = ai.ai.api_key_env
    if name and not r.env.get(name, "").strip():
        r.report(where, f"{path}.ai.api_key_env",
                 f"environment variable {name} is {'empty' if name in r.env else 'not set'}")
    return ai


def _account_id(r: NodeReader, node: Node, path: str, id_lines: dict[str, int]) -> str | None:
    account_id = r.text(node, path, lambda value: name_problem(value, "an account id"))
    if account_id is None or not r.first_use(id_lines, account_id, node, path, f"duplicate id '{account_id}'"):
        return None
    return account_id


def _cookie(r: NodeReader, values: Mapping[str, Node], path: str) -> tuple[str | None, str | None]:
    """(cookie, name of the environment variable it came from). Never puts the cookie into a message. Neither
    given is fine: the account's login then comes from ``xianyu.py login`` (stored in the database), or, with
    ``server: demo``, from the demo marketplace."""
    cookie_node, env_node = given(values, "cookie"), given(values, "cookie_env")
    if cookie_node and env_node:
        r.report(env_node, f"{path}.cookie_env", "give cookie or cookie_env, not both")
        return None, None
    if cookie_node:
        cookie = r.text(cookie_node, f"{path}.cookie", lambda v: cookie_problem(v.strip()), secret=True)
        return (cookie.strip() if cookie else None), None
    if env_node is None:
        return None, None
    return _cookie_from_env(r, env_node, f"{path}.cookie_env")


def _cookie_from_env(r: NodeReader, node: Node, key_path: str) -> tuple[str | None, str | None]:
    name = r.text(node, key_path, lambda v: None if _ENV_NAME.fullmatch(v) else f"not a variable name: {v!r}")
    if name is None:
        return None, None
    cookie = r.env.get(name, "").strip()  # `export X=$(cat file)` keeps a trailing newline
    problem = f"environment variable {name} is {'empty' if name in r.env else 'not set'}" if not cookie else None
    problem = problem or cookie_problem(cookie)
    if problem:
        r.report(node, key_path, problem)
        return None, None
    return cookie, name
