"""Reading a page of chat history (`/r/MessageManager/listUserMessages`, spec §3.5).

Used to answer one question after an ambiguous send (written to the socket, connection lost before the
answer): did the server take it? Re-sending without asking is how bots answer twice.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from core.goofish.lenient import dig


@dataclass(frozen=True)
class ListedMessage:
    sender_id: str
    text: str
    created_at: int


def history_entries(body: Any) -> list[ListedMessage]:
    """Entries of a listUserMessages answer; anything unreadable is skipped, never raised."""
    models = body.get("userMessageModels") if isinstance(body, dict) else None
    entries = []
    for model in models if isinstance(models, list) else []:
        message = dig(model, "message")
        if not isinstance(message, dict):
            continue
        sender = str(dig(message, "sender", "uid") or "").split("@", 1)[0]
        created = dig(message, "createAt")
        entries.append(ListedMessage(sender, _text(dig(message, "content", "custom")), int(created)
                                    if isinstance(created, int) else 0))
    return entries


def _text(custom: Any) -> str:
    if not isinstance(custom, dict):
        return ""
    try:
        inner = json.loads(base64.b64decode(custom.get("data") or ""))
        text = inner["text"]["text"] if inner.get("contentType") == 1 else None
    except (ValueError, TypeError, KeyError, AttributeError):
        text = None
    return str(text) if text is not None else str(custom.get("summary") or "")
