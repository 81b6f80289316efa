"""accounts.yml → a validated, immutable Config, and the watcher that reloads it when the file changes.

The file is composed with PyYAML into nodes (not loaded into plain dicts) so every value still knows its
line. Validation walks those nodes once and collects every issue, so a seller fixing the file sees all
of its mistakes at once instead of one per run. The value types, the rules on values, the key reference,
diff_accounts and summary live in core/config_schema.py and are re-exported here: import from core.config.
"""

import hashlib
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, cast, get_type_hints

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.config_schema import (
    CONFIRM_WHEN,
    DELIVERY_KINDS,
    DELIVERY_PLACEHOLDERS,
    DEMO_SERVER,
    LIVE_SERVER,
    PER_ACCOUNT_SETTINGS,
    REPLY_PLACEHOLDERS,
    SETTINGS_DOC,
    AccountConfig,
    AccountDiff,
    Config,
    DefaultReply,
    DeliveryRule,
    ItemReply,
    KeywordRule,
    MatchKind,
    ServerConfig,
    Settings,
    allowed_keys,
    cookie_problem,
    database_problem,
    diff_accounts,
    item_problem,
    name_problem,
    pattern_problem,
    proxy_problem,
    render_template,
    setting_problem,
    settings_conflicts,
    suggest,
    summary,
    template_problem,
    url_problem,
)
from core.errors import ConfigError, ConfigIssue
from storage.engine import DEFAULT_DB_URL

__all__ = [
    "SETTINGS_DOC", "AccountConfig", "AccountDiff", "Config", "ConfigError", "ConfigIssue", "ConfigWatcher",
    "DefaultReply", "DeliveryRule", "ItemReply", "KeywordRule", "ServerConfig", "Settings", "diff_accounts",
    "load_config", "render_template", "summary",
]

T = TypeVar("T")
D = TypeVar("D")
Rule = Callable[[str], str | None]
Read = Callable[[Node, str], T | None]

_SETTING_TYPES: dict[str, type] = get_type_hints(Settings)
_ACCOUNT_KEYS = allowed_keys("accounts[]") | PER_ACCOUNT_SETTINGS
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HTTP = ("http", "https")
# Keys a seller may put at the wrong level: a pointer to the right place beats "unknown key".
_GLOBAL_ONLY_HINTS = {
    doc.name: "is a service-wide setting; set it under settings:" for doc in SETTINGS_DOC if not doc.per_account
}
_UNDER_SETTINGS_HINTS = {doc.name: "belongs under settings:" for doc in SETTINGS_DOC}


def _reply_template(value: str) -> str | None:
    return template_problem(value, REPLY_PLACEHOLDERS)


def _delivery_template(value: str) -> str | None:
    return template_problem(value, DELIVERY_PLACEHOLDERS)


class _Reader:
    """Turns YAML nodes into typed values, recording an issue (and returning None) for each bad one."""

    def __init__(self, file: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self.issues: list[ConfigIssue] = []
        self._constructor = SafeConstructor()
        self._written_here: dict[int, set[int]] = {}

    def report(self, node: Node | None, key_path: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.issues.append(ConfigIssue(self.file, line, key_path, message))

    def compose(self, text: str) -> Node | None:
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            started = f" started on line {err.context_mark.line + 1}" if err.context_mark else ""
            context = f" ({err.context}{started})" if err.context else ""
            line = mark.line + 1 if mark else 1
            self.issues.append(ConfigIssue(self.file, line, "(yaml)", f"{err.problem}{context}"))
            return None

    def mapping(self, node: Node, path: str, allowed: frozenset[str],
                hints: Mapping[str, str] | None = None) -> dict[str, Node] | None:
        """The mapping's value nodes by key; duplicate and unknown keys are reported and dropped."""
        if not isinstance(node, MappingNode):
            self.report(node, path, f"expected a mapping, got {_describe(node)}")
            return None
        # Remembered per node because flattening rewrites node.value, and an alias can bring us back here.
        written_here = self._written_here.setdefault(id(node), {id(key_node) for key_node, _ in node.value})
        try:
            # Resolves `<<: *anchor` merge keys: the merged pairs come first, so later ones override them.
            self._constructor.flatten_mapping(node)
        except ConstructorError as err:
            self.report(node, path, str(err.problem))
            return None
        values: dict[str, Node] = {}
        keys: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
            key_path = _join(path, key)
            if key in keys and id(keys[key]) in written_here:
                self.report(key_node, key_path, f"duplicate key (first on line {keys[key].start_mark.line + 1})")
                continue
            keys[key] = key_node
            if key in allowed:
                values[key] = value_node
            elif hints and key in hints:
                self.report(key_node, key_path, f"'{key}' {hints[key]}")
            else:
                guess = suggest(key, allowed)
                self.report(key_node, key_path, f"unknown key '{key}'" + (f" (did you mean '{guess}'?)" if guess else ""))
        return values

    def sequence(self, node: Node, path: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.report(node, path, f"expected a list, got {_describe(node)}")
            return []
        return list(node.value)

    def text(self, node: Node, path: str, rule: Rule | None = None, *, secret: bool = False) -> str | None:
        """Any scalar's text as written (so `reply: yes` and `item: 9000` mean what they look like), if the
        rule accepts it. A *secret* value is never quoted back."""
        if not isinstance(node, ScalarNode) or node.tag.endswith(":null"):
            self.report(node, path, "expected a string" + ("" if secret else f", got {_describe(node)}"))
            return None
        value = str(node.value)
        problem = rule(value) if rule else None
        if problem:
            self.report(node, path, problem)
            return None
        return value

    def flag(self, node: Node, path: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
            return bool(self._constructor.construct_object(node))
        self.report(node, path, f"expected true or false, got {_describe(node)}")
        return None

    def number(self, node: Node, path: str, kind: type) -> Any:
        accepted = (":int",) if kind is int else (":int", ":float")
        if isinstance(node, ScalarNode) and node.tag.endswith(accepted):
            return kind(self._constructor.construct_object(node))
        self.report(node, path, f"expected {'an integer' if kind is int else 'a number'}, got {_describe(node)}")
        return None

    def reply(self, node: Node, path: str) -> str | None:
        return self.text(node, path, _reply_template)

    def item_id(self, node: Node, path: str) -> str | None:
        return self.text(node, path, item_problem)

    def required(self, values: Mapping[str, Node], key: str, parent: Node, path: str, read: Read[T],
                 hint: str = "") -> T | None:
        """Read a key that must be there; its absence is reported on the line of the enclosing mapping."""
        node = _given(values, key)
        if node is None:
            self.report(parent, _join(path, key), "missing" + (f" ({hint})" if hint else ""))
            return None
        return read(node, _join(path, key))


def _given(values: Mapping[str, Node], key: str) -> Node | None:
    """The key's node; None when absent or left empty (`proxy:` with nothing after it means "not set")."""
    node = values.get(key)
    return None if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")) else node


def _optional(values: Mapping[str, Node], key: str, path: str, read: Read[T], default: D) -> T | D:
    node = _given(values, key)
    value = read(node, _join(path, key)) if node is not None else None
    return default if value is None else value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "nothing" if node.tag.endswith(":null") else repr(node.value)


# --------------------------------------------------------------------------------------------- loading


def load_config(path: str | Path, *, env: Mapping[str, str] = os.environ) -> Config:
    """Read and validate *path*. Raises ConfigError listing every issue (see core.errors)."""
    path = Path(path)
    return _parse(_read(path), path, env)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConfigError([ConfigIssue(str(path), 1, "(file)", f"cannot read: {err.strerror}")]) from None


def _parse(data: bytes, path: Path, env: Mapping[str, str]) -> Config:
    reader = _Reader(str(path), env)
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


def _config(r: _Reader, root: Node | None, path: Path) -> Config | None:
    if root is None:  # an empty file, or only comments
        top: dict[str, Node] = {}
    elif isinstance(root, MappingNode):
        top = r.mapping(root, "", allowed_keys(""), _UNDER_SETTINGS_HINTS) or {}
    else:
        r.report(root, "(file)", f"expected a mapping of server, database, settings, accounts; got {_describe(root)}")
        return None
    server_node = _given(top, "server")
    server = _server(r, server_node, path.parent) if server_node else LIVE_SERVER
    database = _optional(top, "database", "", lambda node, key: r.text(node, key, database_problem, secret=True),
                         DEFAULT_DB_URL)
    settings = _optional(top, "settings", "", lambda node, _: _global_settings(r, node), Settings())
    if "accounts" not in top:
        r.report(root, "accounts", "missing (list the seller accounts, or write accounts: [])")
        return None
    id_lines: dict[str, int] = {}
    # With a misspelt server, don't also demand a cookie per account: it was probably meant to be demo.
    cookie_optional = server is None or server.mode == "demo"
    accounts = [_account(r, node, f"accounts[{index}]", cookie_optional, settings, id_lines)
                for index, node in enumerate(r.sequence(top["accounts"], "accounts"))]
    return Config(path=path, server=server or LIVE_SERVER, database=database, settings=settings,
                  accounts=tuple(account for account in accounts if account))


def _server(r: _Reader, node: Node, base_dir: Path) -> ServerConfig | None:
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
        for key, schemes in (("ws", ("ws", "wss")), ("api", _HTTP), ("passport", _HTTP))
    }
    ca = _optional(values, "ca", "server", lambda n, p: _existing_file(r, n, p, base_dir), None)
    return ServerConfig("custom", urls["ws"], urls["api"], urls["passport"], ca)


def _existing_file(r: _Reader, node: Node, path: str, base_dir: Path) -> Path | None:
    text = r.text(node, path)
    if text is None:
        return None
    file = (base_dir / text).resolve()  # relative to the config file, not to wherever the service started
    if not file.is_file():
        r.report(node, path, f"file not found: {file}")
        return None
    return file


def _setting_values(r: _Reader, values: Mapping[str, Node], path: str) -> dict[str, Any]:
    """The settings among *values* (an account holds other keys too), converted and range-checked."""
    result: dict[str, Any] = {}
    for name in values:
        node = _given(values, name)
        if name not in _SETTING_TYPES or node is None:
            continue
        key_path = _join(path, name)
        kind = _SETTING_TYPES[name]
        value = r.text(node, key_path) if kind is str else r.number(node, key_path, kind)
        problem = None if value is None else setting_problem(name, value)
        if problem:
            r.report(node, key_path, problem)
        elif value is not None:
            result[name] = value
    return result


def _report_conflicts(r: _Reader, settings: Settings, values: Mapping[str, Node], parent: Node, path: str,
                      inherited: Settings | None = None) -> None:
    """Report settings that contradict each other, once: on an account only the conflicts it introduces."""
    already = settings_conflicts(inherited) if inherited else []
    for name, message in settings_conflicts(settings):
        if (name, message) not in already:
            r.report(values.get(name, parent), f"{path}.{name}", message)


def _global_settings(r: _Reader, node: Node) -> Settings | None:
    values = r.mapping(node, "settings", frozenset(_SETTING_TYPES))
    if values is None:
        return None
    settings = Settings(**_setting_values(r, values, "settings"))
    _report_conflicts(r, settings, values, node, "settings")
    return settings


def _account(r: _Reader, node: Node, path: str, cookie_optional: bool, settings: Settings,
             id_lines: dict[str, int]) -> AccountConfig | None:
    values = r.mapping(node, path, _ACCOUNT_KEYS, _GLOBAL_ONLY_HINTS)
    if values is None:
        return None
    account_id = r.required(values, "id", node, path, lambda n, p: _account_id(r, n, p, id_lines),
                            "a unique name like shop-a")
    cookie, cookie_env = _cookie(r, values, node, path, cookie_optional)
    effective = replace(settings, **_setting_values(r, values, path))
    _report_conflicts(r, effective, values, node, path, inherited=settings)
    account = AccountConfig(
        id=account_id or "",
        alias=_optional(values, "alias", path, r.text, None),
        cookie=cookie,
        cookie_env=cookie_env,
        enabled=_optional(values, "enabled", path, r.flag, True),
        proxy=_optional(values, "proxy", path, lambda n, p: r.text(n, p, proxy_problem, secret=True), None),
        user_agent=_optional(values, "user_agent", path, r.text, None),
        keywords=_optional(values, "keywords", path, lambda n, p: _keywords(r, n, p), ()),
        item_replies=_optional(values, "item_replies", path, lambda n, p: _item_replies(r, n, p), ()),
        default_reply=_optional(values, "default_reply", path, lambda n, p: _default_reply(r, n, p), None),
        delivery=_optional(values, "delivery", path, lambda n, p: _deliveries(r, n, p), ()),
        effective=effective,
    )
    return account if account_id else None


def _account_id(r: _Reader, node: Node, path: str, id_lines: dict[str, int]) -> str | None:
    account_id = r.text(node, path, lambda value: name_problem(value, "an account id"))
    if account_id is None or not _first_use(r, id_lines, account_id, node, path, f"duplicate id '{account_id}'"):
        return None
    return account_id


def _first_use(r: _Reader, lines: dict[str, int], value: str, node: Node, path: str, message: str) -> bool:
    """Record where *value* is first used; a later use is reported with that line."""
    if value in lines:
        r.report(node, path, f"{message} (first used on line {lines[value]})")
        return False
    lines[value] = node.start_mark.line + 1
    return True


def _cookie(r: _Reader, values: Mapping[str, Node], parent: Node, path: str,
            optional: bool) -> tuple[str | None, str | None]:
    """(cookie, name of the environment variable it came from). Never puts the cookie into a message."""
    cookie_node, env_node = _given(values, "cookie"), _given(values, "cookie_env")
    if cookie_node and env_node:
        r.report(env_node, f"{path}.cookie_env", "give cookie or cookie_env, not both")
        return None, None
    if cookie_node:
        cookie = r.text(cookie_node, f"{path}.cookie", lambda v: cookie_problem(v.strip()), secret=True)
        return (cookie.strip() if cookie else None), None
    if env_node is None:
        if not optional:
            r.report(parent, f"{path}.cookie", "missing: set cookie or cookie_env (only server: demo runs without)")
        return None, None
    key_path = f"{path}.cookie_env"
    name = r.text(env_node, key_path, lambda v: None if _ENV_NAME.fullmatch(v) else f"not a variable name: {v!r}")
    if name is None:
        return None, None
    cookie = r.env.get(name, "").strip()  # `export X=$(cat file)` keeps a trailing newline
    problem = f"environment variable {name} is {'empty' if name in r.env else 'not set'}" if not cookie else None
    problem = problem or cookie_problem(cookie)
    if problem:
        r.report(env_node, key_path, problem)
        return None, None
    return cookie, name


def _keywords(r: _Reader, node: Node, path: str) -> tuple[KeywordRule, ...]:
    rules = [_keyword(r, entry, f"{path}[{index}]", index) for index, entry in enumerate(r.sequence(node, path))]
    # A stable sort keeps file order within each group: item-bound rules are tried first.
    return tuple(sorted((rule for rule in rules if rule), key=lambda rule: rule.item is None))


def _keyword(r: _Reader, node: Node, path: str, index: int) -> KeywordRule | None:
    values = r.mapping(node, path, allowed_keys("accounts[].keywords[]"))
    if values is None:
        return None
    matcher = r.required(values, "match", node, path, lambda n, p: _matcher(r, n, p), "the text to look for")
    reply = r.required(values, "reply", node, path, r.reply, 'write reply: "" to stay silent')
    item = _optional(values, "item", path, r.item_id, None)
    if matcher is None or reply is None:
        return None
    return KeywordRule(f"{'item_keyword' if item else 'keyword'}[{index}]", *matcher, reply=reply, item=item)


def _matcher(r: _Reader, node: Node, path: str) -> tuple[MatchKind, str] | None:
    """(kind, pattern) from `match: text` or `match: {regex: …}`."""
    kind: MatchKind = "contains"
    if isinstance(node, MappingNode):
        values = r.mapping(node, path, allowed_keys("accounts[].keywords[].match"))
        if values is None or len(values) != 1:
            if values is not None and (values or not node.value):  # an unknown key alone is reported already
                r.report(node, path, "give exactly one of contains, exact, regex")
            return None
        ((key, node),) = values.items()
        kind, path = cast(MatchKind, key), f"{path}.{key}"
    pattern = r.text(node, path, lambda value: pattern_problem(kind, value))
    return (kind, pattern) if pattern is not None else None


def _item_replies(r: _Reader, node: Node, path: str) -> tuple[ItemReply, ...]:
    item_lines: dict[str, int] = {}
    replies = []
    for index, entry in enumerate(r.sequence(node, path)):
        entry_path = f"{path}[{index}]"
        values = r.mapping(entry, entry_path, allowed_keys("accounts[].item_replies[]"))
        if values is None:
            continue
        item = r.required(values, "item", entry, entry_path, r.item_id)
        reply = r.required(values, "reply", entry, entry_path, r.reply, 'write reply: "" to stay silent')
        if item is None or reply is None:
            continue
        if _first_use(r, item_lines, item, values["item"], f"{entry_path}.item", f"duplicate item {item}"):
            replies.append(ItemReply(item, reply))
    return tuple(replies)


def _default_reply(r: _Reader, node: Node, path: str) -> DefaultReply | None:
    if not isinstance(node, MappingNode):
        text = r.reply(node, path)
        return DefaultReply(text) if text is not None else None
    values = r.mapping(node, path, allowed_keys("accounts[].default_reply"))
    if values is None:
        return None
    text = r.required(values, "text", node, path, r.reply)
    return DefaultReply(text, _optional(values, "once", path, r.flag, False)) if text is not None else None


def _deliveries(r: _Reader, node: Node, path: str) -> tuple[DeliveryRule, ...]:
    rules = (_delivery(r, entry, f"{path}[{index}]") for index, entry in enumerate(r.sequence(node, path)))
    return tuple(rule for rule in rules if rule)


_DELIVERY_SOURCE_RULES: dict[str, Rule | None] = {
    "text": _delivery_template,
    "stock": lambda value: name_problem(value, "a stock list name"),
    "api": lambda value: url_problem(value, _HTTP) or _delivery_template(value),
    "image": lambda value: url_problem(value, _HTTP),  # sent as an already uploaded picture (its CDN URL)
}


def _delivery(r: _Reader, node: Node, path: str) -> DeliveryRule | None:
    """Checked loosely until the orders feature lands: shape and templates, not stock or item existence."""
    values = r.mapping(node, path, allowed_keys("accounts[].delivery[]"))
    if values is None:
        return None
    item = _optional(values, "item", path, r.item_id, None)
    is_default = _optional(values, "default", path, r.flag, False)
    if ("item" in values) == is_default:
        r.report(node, path, "give item: ID or default: true" + (", not both" if is_default else ""))
    kinds = [kind for kind in DELIVERY_KINDS if kind in values]
    if len(kinds) != 1:
        r.report(node, path, "give exactly one of " + ", ".join(DELIVERY_KINDS))
        return None
    kind = kinds[0]
    source = r.required(values, kind, node, path, lambda n, p: r.text(n, p, _DELIVERY_SOURCE_RULES[kind]))
    if kind == "text" and "message" in values:
        r.report(values["message"], f"{path}.message", "a text rule sends its text; message goes with stock, api or image")
    message = _optional(values, "message", path, lambda n, p: r.text(n, p, _delivery_template),
                        "{code}" if kind in ("stock", "api") else None)
    options = _delivery_options(r, values, path, kind)
    return DeliveryRule(kind, source, item, message, **options) if source else None


# Keys that only make sense for one kind of rule; on another kind they are a mistake worth naming.
_KIND_ONLY_KEYS = {"method": "api", "timeout": "api", "retries": "api", "field": "api", "low_stock": "stock"}


def _delivery_options(r: _Reader, values: Mapping[str, Node], path: str, kind: str) -> dict[str, Any]:
    """before/after/delay/confirm for every rule, the api request options, the stock threshold."""
    for key, owner in _KIND_ONLY_KEYS.items():
        if key in values and kind != owner:
            r.report(values[key], f"{path}.{key}", f"only for {owner} rules")

    def number(kind_: type, minimum: float) -> Read[Any]:
        def read(node: Node, key_path: str) -> Any:
            value = r.number(node, key_path, kind_)
            if value is not None and value < minimum:
                r.report(node, key_path, f"must be at least {minimum:g}, got {value:g}")
                return None
            return value
        return read

    def choice(allowed: tuple[str, ...]) -> Read[str]:
        return lambda node, key_path: r.text(
            node, key_path, lambda v: None if v in allowed else f"expected one of {', '.join(allowed)}, got {v!r}")

    def template(node: Node, key_path: str) -> str | None:
        return r.text(node, key_path, _delivery_template)

    found = {
        "before": _optional(values, "before", path, template, None),
        "after": _optional(values, "after", path, template, None),
        "delay": _optional(values, "delay", path, number(float, 0), None),
        "confirm": _optional(values, "confirm", path, choice(CONFIRM_WHEN), None),
        "method": _optional(values, "method", path, choice(("GET", "POST")), None),
        "timeout": _optional(values, "timeout", path, number(float, 0.1), None),
        "retries": _optional(values, "retries", path, number(int, 0), None),
        "response_field": _optional(values, "field", path, r.text, None),
        "low_stock": _optional(values, "low_stock", path, number(int, 0), None),
    }
    return {name: value for name, value in found.items() if value is not None}


# --------------------------------------------------------------------------------------------- watching

# A write in the same clock tick as our read leaves mtime and size unchanged (the "racy git" problem), so a
# stamp this fresh is not trusted: the next poll reads the file again.
_RACY_NS = 2_000_000_000


class ConfigWatcher:
    """Reloads the config when its file changes. It has no thread: the scheduler calls poll() every ~2 s.

    A content is acted on once two polls in a row read it the same: an editor saving in place leaves a
    half-written file for a moment, and a truncated file can even be valid YAML with fewer accounts. So a
    save takes effect one poll later. A valid content calls on_change(config), possibly equal to the last
    one (after a comment edit, or a broken edit undone; diff_accounts tells what to restart). An invalid one
    calls on_error(err) once per distinct content, and ``config`` keeps the last good config. Nothing about
    the file makes poll() raise; exceptions from the callbacks are the caller's own.
    """

    def __init__(self, path: str | Path, on_change: Callable[[Config], None],
                 on_error: Callable[[ConfigError], None], *, env: Mapping[str, str] = os.environ) -> None:
        self.path = Path(path)
        self._on_change = on_change
        self._on_error = on_error
        self._env = env
        self._stamp: tuple[int, int] | None = None  # (mtime_ns, size) at the last read, when trustworthy
        self._pending: str | None = None  # a content read once, waiting to be read the same again
        content, self._handled = self._read()  # what is on disk now is what the service started with
        try:
            self.config: Config | None = self._load(content)
        except ConfigError:
            self.config = None

    def poll(self) -> None:
        stamp = self._stat()
        if stamp is not None and stamp == self._stamp and self._pending is None:
            return
        content, key = self._read()
        self._stamp = stamp if stamp is not None and time.time_ns() - stamp[0] > _RACY_NS else None
        if key == self._handled:
            self._pending = None
        elif key != self._pending:
            self._pending = key
        else:
            self._pending, self._handled = None, key
            try:
                config = self._load(content)
            except ConfigError as err:
                self._on_error(err)
                return
            self.config = config
            self._on_change(config)

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _read(self) -> tuple[bytes | ConfigError, str]:
        """The file's bytes, or why it cannot be read, and a key naming that outcome."""
        try:
            data = _read(self.path)
        except ConfigError as err:
            return err, str(err)
        return data, hashlib.sha256(data).hexdigest()

    def _load(self, content: bytes | ConfigError) -> Config:
        if isinstance(content, ConfigError):
            raise content
        return _parse(content, self.path, self._env)
