"""What the replies stage decides about one buyer message, as values (they are recorded with the message).

`Decision` is the vocabulary stored in `InboundMessage.decision`; a notice that is only recorded stores its kind
instead (system, order, …). `Verdict` is one decision with what it needs to be carried out: the rendered reply and
its addressee, and whether its rule answers once per chat (then storage claims the chat first and, when the claim
was already taken, records `once_taken` and no reply).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.config import Settings
from core.goofish.messages import ImEvent


class Decision(StrEnum):
    REPLIED = "replied"
    SILENT = "silent"  # a rule with an empty reply matched: the seller muted that topic
    NO_RULE = "no_rule"
    PAUSED = "paused"  # the seller took the chat over
    TOO_OLD = "too_old"  # older than max_message_age when it arrived (a replay after a long outage)
    DEBOUNCED = "debounced"  # a newer message of the same burst was answered instead
    ONCE_ALREADY = "once_already"  # a once-per-chat rule had answered this chat before
    SUGGESTED = "suggested"  # an AI draft waits for the seller (ai.mode: suggest): core/ai/drafts.py
    # A replay (the platform sent it long after it was written) whose chat has a message from the seller after it:
    # answered by a run whose records are gone (a lost or restored database), or by the seller on the phone.
    ANSWERED_BEFORE = "answered_before"


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    decided_at_ms: int
    rule: str | None = None
    reply_text: str | None = None  # set for REPLIED: recorded as a pending reply before it is sent
    to_id: str = ""
    once: bool = False
    once_taken: str = Decision.ONCE_ALREADY


def too_old(event: ImEvent, received_ms: int, settings: Settings) -> bool:
    """The one age test: a message the platform made more than `max_message_age` before we got it is recorded,
    not answered (the buyer has moved on; answering a day-old backlog at once looks like a bot)."""
    return bool(event.created_at) and received_ms - event.created_at > settings.max_message_age * 1000
