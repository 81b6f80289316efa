"""The "did the server take it already?" checks, for replies and deliveries alike.

A send whose answer was lost (the frame was written, the connection dropped before the server said yes) may
have reached the buyer. Sending again without asking is how bots answer twice, so every resend of such a
message first waits for the account to be online again and reads the chat's recent history (`already_sent`).
A buyer message the platform replays long after it was written may have been answered by a run whose records
are gone (a lost or restored database): `seller_wrote_after` asks before it is answered.
"""

from __future__ import annotations

from core.errors import SendFailed
from core.goofish import frames
from core.goofish.history import ListedMessage, history_entries
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


def seller_wrote_after(session: ImSession, cid: str, after_ms: int, wait_online: float) -> list[ListedMessage]:
    """What this account wrote in chat `cid` at or after `after_ms` (the server's own timestamp of a buyer
    message), newest listed last as the server lists them. Raises SendFailed when it cannot ask."""
    if not session.wait_online(wait_online):
        raise SendFailed("account did not come back online")
    response = session.request(frames.list_messages_frame(cid, count=HISTORY_CHECK))
    unb = session.credentials.unb
    return [entry for entry in history_entries(response.body) if entry.sender_id == unb and entry.created_at >= after_ms]
