"""Model calls, tokens and cost per account and local day: the daily cap, and what the dashboard shows."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.ai.model import Completion
from core.config.ai_schema import AiSettings
from storage import Store, UsageRow


def today(now_s: float | None = None) -> str:
    """The local day ("2026-12-07"): a seller's "today" is their clock's."""
    return time.strftime("%Y-%m-%d", time.localtime(now_s))


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: str
    calls: int
    failures: int
    prompt_tokens: int
    completion_tokens: int
    cost: float  # per the account's ai.cost prices; 0 without them

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Usage:
    def __init__(self, store: Store) -> None:
        self._store = store

    def record(self, account_id: str, prompt_tokens: int, completion_tokens: int, failed: bool) -> None:
        self._store.ai.add_usage(UsageRow(account_id, today(), prompt_tokens, completion_tokens, failed))

    def row(self, account_id: str, completion: Completion) -> UsageRow:
        """One answered call, to be written with its draft."""
        return UsageRow(account_id, today(), completion.prompt_tokens, completion.completion_tokens, False)

    def over_cap(self, account_id: str, settings: AiSettings) -> bool:
        if settings.daily_tokens <= 0:
            return False
        rows = self._store.ai.usage(account_id, today())
        return bool(rows) and rows[0].day == today() and (
            rows[0].prompt_tokens + rows[0].completion_tokens >= settings.daily_tokens)

    def days(self, account_id: str, settings: AiSettings, since_day: str = "") -> list[DayUsage]:
        """Newest first."""
        return [DayUsage(row.day, row.calls, row.failures, row.prompt_tokens, row.completion_tokens,
                         (row.prompt_tokens * settings.cost_input + row.completion_tokens * settings.cost_output)
                         / 1_000_000)
                for row in self._store.ai.usage(account_id, since_day)]
