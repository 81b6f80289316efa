"""Reading ``ai:``, ``bargain:``, ``items:`` and ``reply_filter:`` (service-wide, per account, per item).

Each level is read into the keys it gives (a partial mapping) and merged over the level above, so the merge is
key by key; ai_schema.py holds the merged values.
"""

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from core.config.ai_schema import (
    AI_LIMITS,
    AI_MODES,
    AccountAi,
    AiSettings,
    BargainTerms,
    ItemTerms,
    ReplyFilter,
)
from core.config.checks import HTTP, pattern_problem, url_problem
from core.config.keys import allowed_keys
from core.config.nodes import NodeReader, given, join, optional
from core.config.templates import template_problem

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HOURS = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_FLOOR = re.compile(r"\d+(?:\.\d{1,2})?%?")
_SHARE = re.compile(r"\d+(?:\.\d+)?%")
Partial = dict[str, Any]


def account_ai(r: NodeReader, values: Mapping[str, Node], path: str, defaults: AccountAi) -> AccountAi:
    """An account's AI keys merged over the service-wide ones."""
    ai_given = optional(values, "ai", path, lambda n, p: read_ai(r, n, p, "accounts[].ai"), {})
    bargain = replace(defaults.bargain, **optional(values, "bargain", path,
                                                   lambda n, p: read_bargain(r, n, p, "accounts[].bargain"), {}))
    ai = replace(defaults.ai, **ai_given)
    items: list[ItemTerms] = []
    prompts = dict(ai.item_prompts)
    disabled = set(ai.disabled_items)
    for index, node in enumerate(r.sequence(values["items"], join(path, "items")) if given(values, "items") else []):
        entry = _item(r, node, f"{path}.items[{index}]", bargain)
        if entry is None:
            continue
        item_id, item_ai, terms = entry
        items.append(ItemTerms(item_id, terms))
        if "prompt" in item_ai:
            prompts[item_id] = item_ai["prompt"]
        if item_ai.get("enabled") is False:
            disabled.add(item_id)
    ai = replace(ai, item_prompts=tuple(sorted(prompts.items())), disabled_items=frozenset(disabled))
    reply_filter = optional(values, "reply_filter", path,
                            lambda n, p: read_reply_filter(r, n, p, "accounts[].reply_filter"), defaults.reply_filter)
    return AccountAi(ai, bargain, tuple(items), reply_filter)


def service_ai(r: NodeReader, values: Mapping[str, Node]) -> AccountAi:
    """The service-wide defaults under ``settings:``."""
    ai = replace(AiSettings(), **optional(values, "ai", "settings", lambda n, p: read_ai(r, n, p, "settings.ai"), {}))
    bargain = replace(BargainTerms(), **optional(values, "bargain", "settings",
                                                 lambda n, p: read_bargain(r, n, p, "settings.bargain"), {}))
    reply_filter = optional(values, "reply_filter", "settings",
                            lambda n, p: read_reply_filter(r, n, p, "settings.reply_filter"), ReplyFilter())
    return AccountAi(ai, bargain, (), reply_filter)


def _item(r: NodeReader, node: Node, path: str, bargain: BargainTerms) -> tuple[str, Partial, BargainTerms] | None:
    values = r.mapping(node, path, allowed_keys("accounts[].items[]"))
    if values is None:
        return None
    item_id = r.required(values, "id", node, path, r.item_id)
    item_ai = optional(values, "ai", path, lambda n, p: read_ai(r, n, p, "accounts[].items[].ai"), {})
    terms = replace(bargain, **optional(values, "bargain", path,
                                        lambda n, p: read_bargain(r, n, p, "accounts[].items[].bargain"), {}))
    return (item_id, item_ai, terms) if item_id else None


def read_ai(r: NodeReader, node: Node, path: str, doc_key: str) -> Partial | None:
    values = r.mapping(node, path, allowed_keys(doc_key))
    if values is None:
        return None
    readers = {
        "enabled": r.flag,
        "base_url": lambda n, p: r.text(n, p, lambda v: url_problem(v, HTTP)),
        "model": lambda n, p: r.text(n, p, lambda v: None if v.strip() else "must not be empty"),
        "api_key_env": lambda n, p: r.text(n, p, lambda v: None if _ENV_NAME.fullmatch(v)
                                           else f"not a variable name: {v!r}"),
        "api_key": lambda n, p: r.text(n, p, secret=True),
        "mode": lambda n, p: r.text(n, p, lambda v: None if v in AI_MODES else "one of " + ", ".join(AI_MODES)),
        "timeout": lambda n, p: _bounded(r, n, p, float),
        "prompt": r.text,
        "item_prompts": lambda n, p: _item_prompts(r, n, p),
        "history": lambda n, p: _bounded(r, n, p, int),
        "max_tokens": lambda n, p: _bounded(r, n, p, int),
        "temperature": lambda n, p: _bounded(r, n, p, float),
        "hours": lambda n, p: read_hours(r, n, p),
        "handoff": lambda n, p: _words(r, n, p),
        "structured": r.flag,
        "daily_tokens": lambda n, p: _bounded(r, n, p, int),
    }
    partial: Partial = {}
    for key, read in readers.items():
        node_of = given(values, key)
        if node_of is not None and (value := read(node_of, join(path, key))) is not None:
            partial[key] = tuple(sorted(value.items())) if key == "item_prompts" else value
    cost = given(values, "cost")
    if cost is not None:
        prices = r.mapping(cost, join(path, "cost"), allowed_keys(f"{doc_key}.cost")) or {}
        for side in ("input", "output"):
            if given(prices, side) is not None:
                value = _bounded(r, prices[side], f"{path}.cost.{side}", float)
                if value is not None:
                    partial[f"cost_{side}"] = value
    return partial


def read_bargain(r: NodeReader, node: Node, path: str, doc_key: str) -> Partial | None:
    if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
        return {} if r.flag(node, path) else {"floor": None}  # bargain: false → no discount
    values = r.mapping(node, path, allowed_keys(doc_key))
    if values is None:
        return None
    partial: Partial = {}
    if (floor := given(values, "floor")) is not None:
        value = r.text(floor, join(path, "floor"), _floor_problem)
        if value is not None:
            partial["floor"] = None if value in ("100%",) else value
    for key, kind in (("max_rounds", int), ("agreed_hours", float)):
        if (number := given(values, key)) is not None and (value := _bounded(r, number, join(path, key), kind)) is not None:
            partial[key] = value
    if (schedule := given(values, "schedule")) is not None:
        shares = [r.text(n, f"{path}.schedule[{i}]", _share_problem)
                  for i, n in enumerate(r.sequence(schedule, join(path, "schedule")))]
        if all(shares):
            partial["schedule"] = tuple(s for s in shares if s)
    if (counter := given(values, "counter")) is not None:
        value = r.text(counter, join(path, "counter"), lambda v: template_problem(v, frozenset({"price"})))
        if value is not None:
            partial["counter"] = value
    return partial


def read_reply_filter(r: NodeReader, node: Node, path: str, doc_key: str) -> ReplyFilter | None:
    values = r.mapping(node, path, allowed_keys(doc_key))
    if values is None:
        return None
    patterns: list[str] = []
    if (listed := given(values, "patterns")) is not None:
        for index, entry in enumerate(r.sequence(listed, join(path, "patterns"))):
            pattern = r.text(entry, f"{path}.patterns[{index}]", lambda v: pattern_problem("regex", v))
            if pattern is not None:
                patterns.append(pattern)
    return ReplyFilter(optional(values, "builtin", path, r.flag, True), tuple(patterns))


def _bounded(r: NodeReader, node: Node, path: str, kind: type) -> Any:
    value = r.number(node, path, kind)
    low, high = AI_LIMITS[path.rsplit(".", 1)[-1]]
    if value is not None and not low <= value <= high:
        r.report(node, path, f"must be between {low:g} and {high:g}, got {value:g}")
        return None
    return value


def _item_prompts(r: NodeReader, node: Node, path: str) -> dict[str, str] | None:
    if not isinstance(node, MappingNode):
        r.report(node, path, "expected a mapping of item id: prompt")
        return None
    prompts = {}
    for key_node, value_node in node.value:
        item_id = r.item_id(key_node, path)
        prompt = r.text(value_node, f"{path}.{key_node.value}")
        if item_id and prompt is not None:
            prompts[item_id] = prompt
    return prompts


def read_hours(r: NodeReader, node: Node, path: str) -> tuple[tuple[int, int], ...] | None:
    """"09:00-23:00", or a list of such windows (one may run past midnight: "22:00-02:00")."""
    entries = [node] if isinstance(node, ScalarNode) else r.sequence(node, path)
    windows = []
    for entry in entries:
        text = r.text(entry, path)
        match = _HOURS.fullmatch(text or "")
        if text is None:
            return None
        minutes = [int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4])] if match else []
        if not match or any(m > 24 * 60 or int(g) >= 60 for m, g in zip(minutes, (match[2], match[4]), strict=True)) \
                or minutes[0] == minutes[1]:
            r.report(entry, path, f"expected a window like 09:00-23:00, got {text!r}")
            return None
        windows.append((minutes[0], minutes[1]))
    return tuple(windows)


def _words(r: NodeReader, node: Node, path: str) -> tuple[str, ...] | None:
    words = [r.text(entry, f"{path}[{index}]") for index, entry in enumerate(r.sequence(node, path))]
    return tuple(w.strip() for w in words if w and w.strip()) if all(w is not None for w in words) else None


def _floor_problem(value: str) -> str | None:
    if not _FLOOR.fullmatch(value.strip()):
        return f'expected yuan ("80", "79.5") or a share of the listed price ("85%"), got {value!r}'
    if value.endswith("%") and not 0 < float(value[:-1]) <= 100:
        return f"a share of the listed price must be above 0% and at most 100%, got {value}"
    return None


def _share_problem(value: str) -> str | None:
    if not _SHARE.fullmatch(value.strip()) or not 0 <= float(value.strip()[:-1]) <= 100:
        return f'expected a share of the way from the listed price to the floor, like "50%", got {value!r}'
    return None
