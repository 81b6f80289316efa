"""The checks every reply passes before it is recorded, whatever rule wrote it (AI draft, keyword template,
default, an approved suggestion): no contact details or off-platform steering (the reply is blocked, and the
chain asks the next rule), and no price below the floor, below what the buyer already offered, or other than
the price the program decided (the text is rewritten, or replaced by the fixed counter-offer).

Prices are checked in chats about an item with a listed price: always for AI replies (no floor configured =
no discount), for the other rules when the item has a floor (a seller's own template may name other prices:
shipping, a second item). Manual replies the seller types are the seller's words and are not checked.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from decimal import Decimal

from core.ai.pricing import PriceTalk, list_price_of
from core.bargain.contacts import compile_patterns, contact_problem
from core.bargain.guard import DEFAULT_COUNTER, PriceLimits, check_prices
from core.bargain.policy import BargainState
from core.bargain.prices import find_prices
from core.catalog import Item
from core.config import AccountConfig
from core.config.ai_schema import ReplyFilter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Checked:
    text: str
    blocked: str | None = None  # why the reply may not go out at all
    changes: tuple[str, ...] = ()  # what was rewritten, for the log and the draft's record


class ReplyChecks:
    def __init__(self, prices: PriceTalk) -> None:
        self._prices = prices
        self._patterns: dict[ReplyFilter, tuple[re.Pattern[str], ...]] = {}
        self._lock = threading.Lock()

    def prices_apply(self, account: AccountConfig, item_id: str | None, ai: bool) -> bool:
        return bool(item_id) and (ai or account.ai.bargains(item_id))

    def check(self, account: AccountConfig, buyer_id: str, item: Item | None, text: str, *, ai: bool = False,
              decided: Decimal | None = None, state: BargainState | None = None) -> Checked:
        """``state``: the buyer's bargaining state when the caller has it (else it is read)."""
        problem = contact_problem(text, self._compiled(account.ai.reply_filter))
        if problem:
            return Checked(text, blocked=problem)
        if item is None or not self.prices_apply(account, item.item_id, ai):
            return Checked(text)
        list_price = list_price_of(item.price)
        if list_price is None:
            return Checked(text)
        terms = account.ai.terms_for(item.item_id)
        if decided is None and not find_prices(text, list_price):
            return Checked(text)  # no price named and none to say: nothing to check (and nothing read)
        if state is None and buyer_id:
            state = self._prices.state(account.id, buyer_id, item.item_id)
        limits = PriceLimits(floor=terms.policy().floor.of(list_price), decided=decided,
                             best_offer=state.best_offer if state else None, list_price=list_price,
                             reference=state.lowest_counter if state else None)
        checked = check_prices(text, limits, terms.counter or DEFAULT_COUNTER)
        return Checked(checked.text, changes=checked.reasons) if checked.changed else Checked(text)

    def _compiled(self, reply_filter: ReplyFilter) -> tuple[re.Pattern[str], ...]:
        with self._lock:
            compiled = self._patterns.get(reply_filter)
            if compiled is None:
                compiled = compile_patterns(reply_filter.patterns, reply_filter.builtin)
                self._patterns[reply_filter] = compiled
            return compiled
