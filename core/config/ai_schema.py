"""The typed shape of the AI keys of accounts.yml: ``ai:``, ``bargain:``, ``items:`` and ``reply_filter:``.

Each is given service-wide under ``settings:`` and overridden per account, and ``ai`` and ``bargain`` again per
item (``items: [{id, ai, bargain}]``): the loader merges the levels key by key (account over settings, item over
account), so an account that only writes ``ai: {enabled: true, prompt: …}`` keeps the endpoint of
``settings.ai``. The values here are what the file says, checked; core/ai turns them into the policies it runs.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from core.bargain.policy import BargainPolicy, Floor

AiMode = Literal["reply", "suggest"]
AI_MODES: tuple[AiMode, ...] = ("reply", "suggest")
# A buyer who writes one of these wants a person: the chat is flagged "needs you" and the AI keeps out of it.
DEFAULT_HANDOFF = ("人工", "真人", "客服", "转人工", "real person", "human")

# The bounds of the numeric ``ai:`` / ``bargain:`` keys (key → (minimum, maximum)); ai_rules.py enforces them.
AI_LIMITS: dict[str, tuple[float, float]] = {
    "timeout": (1, 300),
    "history": (0, 100),
    "max_tokens": (16, 32_000),
    "temperature": (0, 2),
    "daily_tokens": (0, 1_000_000_000),
    "input": (0, 10_000),
    "output": (0, 10_000),
    "max_rounds": (1, 20),
    "agreed_hours": (0.1, 24 * 90),
}


@dataclass(frozen=True)
class AiSettings:
    """One account's AI rule (per item: ``for_item``). ``api_key`` is set only when the seller wrote the key
    into the file; it is never shown (``repr`` leaves it out, summaries mask it)."""

    enabled: bool = False
    base_url: str | None = None  # None: the openai package's default (api.openai.com)
    model: str | None = None
    api_key_env: str | None = None
    api_key: str | None = field(default=None, repr=False)
    mode: AiMode = "reply"
    timeout: float = 20.0
    prompt: str = ""
    item_prompts: tuple[tuple[str, str], ...] = ()
    disabled_items: frozenset[str] = frozenset()
    history: int = 10  # chat turns given to the model
    max_tokens: int = 300
    temperature: float | None = None
    hours: tuple[tuple[int, int], ...] = ()  # (from, to) minutes of the local day; () = always
    handoff: tuple[str, ...] = DEFAULT_HANDOFF
    structured: bool = True  # ask for JSON {intent, price, reply} (response_format json_object)
    daily_tokens: int = 0  # past this many tokens in a day the AI rule passes; 0 = no cap
    cost_input: float = 0.0  # per million prompt tokens, in the seller's currency
    cost_output: float = 0.0  # per million completion tokens

    def on(self, item_id: str | None) -> bool:
        return self.enabled and (item_id is None or item_id not in self.disabled_items)

    def item_prompt(self, item_id: str | None) -> str:
        return dict(self.item_prompts).get(item_id or "", "")

    def open_at(self, minute_of_day: int) -> bool:
        """Inside ``hours`` (a window may run past midnight: 22:00-06:00)."""
        if not self.hours:
            return True
        return any(start <= minute_of_day < end if start < end else minute_of_day >= start or minute_of_day < end
                   for start, end in self.hours)


@dataclass(frozen=True)
class BargainTerms:
    """How far one item's price may come down. ``floor``: yuan ("80") or a share of the listed price ("85%");
    None: no discount at all (the listed price is the floor)."""

    floor: str | None = None
    max_rounds: int = 3
    schedule: tuple[str, ...] = ()  # shares of the gap list → floor conceded by round 1, 2, … ("30%", "60%")
    agreed_hours: float = 72.0
    counter: str | None = None  # the fixed counter-offer text ({price}); None: the built-in one

    def policy(self) -> BargainPolicy:
        """The policy core.bargain decides with (raises ValueError for terms that do not fit together: the loader
        reports that as FILE:LINE first)."""
        floor = Floor.parse(self.floor) if self.floor else NO_DISCOUNT
        schedule = tuple(Decimal(share.strip()[:-1]) / 100 for share in self.schedule)
        return BargainPolicy(floor, max_rounds=self.max_rounds, schedule=schedule, agreed_hours=self.agreed_hours)


NO_DISCOUNT = Floor(share=Decimal(1))  # no floor configured: the listed price is the floor


@dataclass(frozen=True)
class ItemTerms:
    item_id: str
    bargain: BargainTerms


@dataclass(frozen=True)
class ReplyFilter:
    """What no reply may contain (contacts, off-platform steering): the built-in patterns and the seller's."""

    builtin: bool = True
    patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountAi:
    """Everything AI for one account, merged over the service-wide defaults."""

    ai: AiSettings = AiSettings()
    bargain: BargainTerms = BargainTerms()
    items: tuple[ItemTerms, ...] = ()
    reply_filter: ReplyFilter = ReplyFilter()

    def terms_for(self, item_id: str | None) -> BargainTerms:
        return next((t.bargain for t in self.items if t.item_id == item_id), self.bargain)

    def bargains(self, item_id: str | None) -> bool:
        """A floor below the listed price is configured for this item (else no price may come down)."""
        return self.terms_for(item_id).floor is not None
