"""Type-tolerant readers for untrusted JSON/msgpack structures (push payloads, mtop answers).

Server data is not a schema: a field can be missing, null, a number where a string was expected, or a list
where a map was. Every read of such data goes through these helpers, which answer None (or {}) instead of
raising, so callers state what they want and decide what a missing value means.
"""

from __future__ import annotations

import json
import re
from typing import Any


def dig(node: Any, *path: str) -> Any:
    """node[path[0]][path[1]]…, or None as soon as a step is not a dict or lacks the key."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def text_or_none(value: Any) -> str | None:
    """A non-empty string; ints are accepted as their decimal text (ids sometimes arrive as numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) and value else None


def is_ascii_digits(value: str) -> bool:
    """Only 0-9: str.isdigit() also accepts "²" or "٣", which are no ids and which int() may reject."""
    return value.isascii() and value.isdigit()


def int_or_none(value: Any) -> int | None:
    """An int, or a string of ASCII digits as one (mtop sends counts and durations as strings)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and is_ascii_digits(value.strip()):
        return int(value.strip())
    return None


def json_object(value: Any) -> dict[str, Any]:
    """A JSON-object string parsed, or {} (several Goofish fields are JSON inside a string)."""
    if not isinstance(value, str):
        return {}
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def url_param(url: Any, name: str) -> str | None:
    """The value of query parameter `name` in a URL-ish string (`fleamarket://…?itemId=1&sid=2`)."""
    match = re.search(rf"[?&]{re.escape(name)}=([^&#]+)", url) if isinstance(url, str) else None
    return match.group(1) if match else None
