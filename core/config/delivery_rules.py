"""Reading an account's ``delivery:`` rules: what to send when an order is paid."""

from collections.abc import Mapping
from typing import Any

from yaml.nodes import Node

from core.config.checks import HTTP, name_problem, url_problem
from core.config.keys import allowed_keys
from core.config.nodes import Check, NodeReader, Read, optional
from core.config.schema import CONFIRM_WHEN, DELIVERY_KINDS, DeliveryRule
from core.config.templates import delivery_template_problem

_SOURCE_CHECKS: dict[str, Check | None] = {
    "text": delivery_template_problem,
    "stock": lambda value: name_problem(value, "a stock list name"),
    "api": lambda value: url_problem(value, HTTP) or delivery_template_problem(value),
    "image": lambda value: url_problem(value, HTTP),  # sent as an already uploaded picture (its CDN URL)
}
# Keys that only make sense for one kind of rule; on another kind they are a mistake worth naming.
_KIND_ONLY_KEYS = {"method": "api", "timeout": "api", "retries": "api", "field": "api", "low_stock": "stock"}


def read_deliveries(r: NodeReader, node: Node, path: str) -> tuple[DeliveryRule, ...]:
    rules = (_delivery(r, entry, f"{path}[{index}]") for index, entry in enumerate(r.sequence(node, path)))
    return tuple(rule for rule in rules if rule)


def _delivery(r: NodeReader, node: Node, path: str) -> DeliveryRule | None:
    """Checked loosely until the orders feature lands: shape and templates, not stock or item existence."""
    values = r.mapping(node, path, allowed_keys("accounts[].delivery[]"))
    if values is None:
        return None
    item = optional(values, "item", path, r.item_id, None)
    is_default = optional(values, "default", path, r.flag, False)
    if ("item" in values) == is_default:
        r.report(node, path, "give item: ID or default: true" + (", not both" if is_default else ""))
    kinds = [kind for kind in DELIVERY_KINDS if kind in values]
    if len(kinds) != 1:
        r.report(node, path, "give exactly one of " + ", ".join(DELIVERY_KINDS))
        return None
    kind = kinds[0]
    source = r.required(values, kind, node, path, lambda n, p: r.text(n, p, _SOURCE_CHECKS[kind]))
    if kind == "text" and "message" in values:
        r.report(values["message"], f"{path}.message", "a text rule sends its text; message goes with stock, api or image")
    message = optional(values, "message", path, lambda n, p: r.text(n, p, delivery_template_problem),
                       "{code}" if kind in ("stock", "api") else None)
    options = _options(r, values, path, kind)
    return DeliveryRule(kind, source, item, message, **options) if source else None


def _options(r: NodeReader, values: Mapping[str, Node], path: str, kind: str) -> dict[str, Any]:
    """before/after/delay/confirm for every rule, the api request options, the stock threshold."""
    for key, owner in _KIND_ONLY_KEYS.items():
        if key in values and kind != owner:
            r.report(values[key], f"{path}.{key}", f"only for {owner} rules")

    def template(node: Node, key_path: str) -> str | None:
        return r.text(node, key_path, delivery_template_problem)

    found = {
        "before": optional(values, "before", path, template, None),
        "after": optional(values, "after", path, template, None),
        "delay": optional(values, "delay", path, _at_least(r, float, 0), None),
        "confirm": optional(values, "confirm", path, _one_of(r, CONFIRM_WHEN), None),
        "method": optional(values, "method", path, _one_of(r, ("GET", "POST")), None),
        "timeout": optional(values, "timeout", path, _at_least(r, float, 0.1), None),
        "retries": optional(values, "retries", path, _at_least(r, int, 0), None),
        "response_field": optional(values, "field", path, r.text, None),
        "low_stock": optional(values, "low_stock", path, _at_least(r, int, 0), None),
    }
    return {name: value for name, value in found.items() if value is not None}


def _at_least(r: NodeReader, kind: type, minimum: float) -> Read[Any]:
    def read(node: Node, key_path: str) -> Any:
        value = r.number(node, key_path, kind)
        if value is not None and value < minimum:
            r.report(node, key_path, f"must be at least {minimum:g}, got {value:g}")
            return None
        return value
    return read


def _one_of(r: NodeReader, allowed: tuple[str, ...]) -> Read[str]:
    return lambda node, key_path: r.text(
        node, key_path, lambda v: None if v in allowed else f"expected one of {', '.join(allowed)}, got {v!r}")
