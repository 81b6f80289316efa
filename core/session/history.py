"""The one "did the server take it already?" check, for replies and deliveries alike.

A send whose answer was lost (the frame was written, the connection dropped before the server said yes) may
have reached the buyer. Sending again without asking is how bots answer twice, so every resend of such a
message first waits for the account to be online again and reads the chat's recent history.
"""

from __future__ import annotations

from core.errors import SendFailed
from core.goofish import frames
from core.goofish.history import history_entries
from core.session.loop import ImSession

# Server and local clocks may differ a little.
HISTORY_SLACK_MS = 5_000
# How many recent messages of a chat to look through.
HISTORY_CHECK = 20


def already_sent(session: ImSession, cid: str, text: str, since_ms: int, wait_online: float) -> bool:
    """Is `text`, from this account, in chat `cid` since `since_ms`? Waits up to `wait_online` seconds for the
    connection first; raises SendFailed (maybe delivered) when it cannot ask. An empty text (an image without
    caption) cannot be recognised in the history: False, so it is sent again."""
    if not text:
        return False
    if not session.wait_online(wait_online):
        raise SendFailed("account did not come back online", maybe_delivered=True)
    response = session.request(frames.list_messages_frame(cid, count=HISTORY_CHECK))
    unb, since = session.credentials.unb, since_ms - HISTORY_SLACK_MS
    return any(entry.sender_id == unb and entry.text == text and entry.created_at >= since
               for entry in history_entries(response.body))
