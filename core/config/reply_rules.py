"""Reading an account's reply rules: ``keywords:``, ``item_replies:`` and ``default_reply:``."""

from typing import cast

from yaml.nodes import MappingNode, Node

from core.config.checks import pattern_problem
from core.config.keys import allowed_keys
from core.config.nodes import NodeReader, optional
from core.config.schema import DefaultReply, ItemReply, KeywordRule, MatchKind

_SILENT_HINT = 'write reply: "" to stay silent'


def read_keywords(r: NodeReader, node: Node, path: str) -> tuple[KeywordRule, ...]:
    rules = [_keyword(r, entry, f"{path}[{index}]", index) for index, entry in enumerate(r.sequence(node, path))]
    # A stable sort keeps file order within each group: item-bound rules are tried first.
    return tuple(sorted((rule for rule in rules if rule), key=lambda rule: rule.item is None))


def _keyword(r: NodeReader, node: Node, path: str, index: int) -> KeywordRule | None:
    values = r.mapping(node, path, allowed_keys("accounts[].keywords[]"))
    if values is None:
        return None
    matcher = r.required(values, "match", node, path, lambda n, p: _matcher(r, n, p), "the text to look for")
    reply = r.required(values, "reply", node, path, r.reply, _SILENT_HINT)
    item = optional(values, "item", path, r.item_id, None)
    if matcher is None or reply is None:
        return None
    return KeywordRule(f"{'item_keyword' if item else 'keyword'}[{index}]", *matcher, reply=reply, item=item)


def _matcher(r: NodeReader, node: Node, path: str) -> tuple[MatchKind, str] | None:
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


def read_item_replies(r: NodeReader, node: Node, path: str) -> tuple[ItemReply, ...]:
    item_lines: dict[str, int] = {}
    replies = []
    for index, entry in enumerate(r.sequence(node, path)):
        entry_path = f"{path}[{index}]"
        values = r.mapping(entry, entry_path, allowed_keys("accounts[].item_replies[]"))
        if values is None:
            continue
        item = r.required(values, "item", entry, entry_path, r.item_id)
        reply = r.required(values, "reply", entry, entry_path, r.reply, _SILENT_HINT)
        if item is None or reply is None:
            continue
        if r.first_use(item_lines, item, values["item"], f"{entry_path}.item", f"duplicate item {item}"):
            replies.append(ItemReply(item, reply))
    return tuple(replies)


def read_default_reply(r: NodeReader, node: Node, path: str) -> DefaultReply | None:
    if not isinstance(node, MappingNode):
        text = r.reply(node, path)
        return DefaultReply(text) if text is not None else None
    values = r.mapping(node, path, allowed_keys("accounts[].default_reply"))
    if values is None:
        return None
    text = r.required(values, "text", node, path, r.reply)
    return DefaultReply(text, optional(values, "once", path, r.flag, False)) if text is not None else None
