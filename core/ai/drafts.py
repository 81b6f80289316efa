"""Suggest mode, the seller's side: the drafts waiting in the dashboard, and sending or discarding one.

Sending a suggestion is a manual reply (rule ``ai``, or ``manual`` once edited): it passes the reply checks again (the seller may have
edited it), is claimed first (two presses cannot send it twice), and pauses the chat per the takeover rules only
when the seller changed the text — an approved draft is still the bot's answer.
"""

from __future__ import annotations

from collections.abc import Callable

from core.ai.errors import SuggestionRefused
from core.ai.rule import AI_RULE, Assistant
from core.clock import now_ms
from core.config import AccountConfig
from core.replies.takeover import MANUAL_RULE
from storage import AiDraft, Store

SUGGESTED, APPROVED, DISCARDED, SENT = "suggested", "approved", "discarded", "sent"
REPLACED = "replaced"  # a newer draft for the same chat took its place: one waits per chat

Send = Callable[[str, str, str, str, str, bool], bool]  # (account, cid, to_id, text, rule, pause) → sent


class Suggestions:
    def __init__(self, store: Store, assistant: Assistant, account_for: Callable[[str], AccountConfig | None],
                 send: Send) -> None:
        self._store = store
        self._assistant = assistant
        self._account_for = account_for
        self._send = send

    def waiting(self, account_id: str | None = None) -> list[AiDraft]:
        return self._store.ai.drafts(SUGGESTED, account_id)

    def send(self, draft_id: int, text: str | None = None) -> bool:
        """Send the draft (or the seller's edit of it); True once the server took it. Raises SuggestionRefused."""
        draft = self._store.ai.draft(draft_id)
        if draft is None or draft.status != SUGGESTED:
            raise SuggestionRefused(f"draft #{draft_id} is not waiting any more")
        account = self._account_for(draft.account_id)
        if account is None:
            raise SuggestionRefused(f"account {draft.account_id} is gone from the config")
        final = (text if text is not None else draft.text).strip()
        if not final:
            raise SuggestionRefused("nothing to send")
        edited = final != draft.text.strip()
        item = self._assistant.item(account.id, draft.item_id)
        checked = self._assistant.checks.check(account, draft.to_id, item, final, ai=True)
        if checked.blocked:
            raise SuggestionRefused(f"not sent: {checked.blocked}")
        if not self._store.ai.set_draft(draft_id, APPROVED, now_ms(), from_status=SUGGESTED, text=checked.text):
            raise SuggestionRefused(f"draft #{draft_id} was handled meanwhile")
        # An edited draft is the seller's own words (a manual reply: it pauses the chat and answers a needs-you
        # flag); one approved as written is still the bot's answer.
        sent = self._send(account.id, draft.cid, draft.to_id, checked.text, MANUAL_RULE if edited else AI_RULE, edited)
        self._store.ai.set_draft(draft_id, SENT if sent else SUGGESTED, now_ms(), from_status=APPROVED)
        return sent

    def discard(self, draft_id: int) -> None:
        if not self._store.ai.set_draft(draft_id, DISCARDED, now_ms(), from_status=SUGGESTED):
            raise SuggestionRefused(f"draft #{draft_id} is not waiting any more")
