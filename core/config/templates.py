"""Reply and delivery templates: which ``{placeholders}`` they may use, checking them, filling them in."""

import re
from collections.abc import Iterable, Mapping

from core.config.checks import suggest

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


def reply_template_problem(template: str) -> str | None:
    return template_problem(template, REPLY_PLACEHOLDERS)


def delivery_template_problem(template: str) -> str | None:
    return template_problem(template, DELIVERY_PLACEHOLDERS)
