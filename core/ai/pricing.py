"""Bargaining, carried out: the offer read from the buyer's message, the decision of core.bargain, the state
kept per buyer and item in the database (so "再少一点吧" in a new chat does not start the rounds again).

The file's terms become the policy value through `BargainTerms.policy()`; no floor means no discount at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.bargain.policy import BargainState, PriceDecision, decide
from core.bargain.prices import asks_to_bargain, buyer_offer
from core.clock import now_ms
from core.config.ai_schema import BargainTerms
from storage import BargainRecord, Store


def list_price_of(price: str) -> Decimal | None:
    try:
        value = Decimal(price)
    except (InvalidOperation, ValueError):
        return None
    return value if value > 0 else None


def _money(value: str | None) -> Decimal | None:
    return Decimal(value) if value else None


def _text(value: Decimal | None) -> str | None:
    return f"{value:.2f}" if value is not None else None


@dataclass(frozen=True, slots=True)
class Talk:
    """One message's bargaining: the decision (None: the message is no bargain) and the state after it."""

    decision: PriceDecision | None
    state: BargainState
    floor: Decimal
    changed: bool


class PriceTalk:
    def __init__(self, store: Store) -> None:
        self._store = store

    def state(self, account_id: str, buyer_id: str, item_id: str) -> BargainState:
        row = self._store.ai.bargain(account_id, buyer_id, item_id)
        if row is None:
            return BargainState()
        agreed = _money(row.agreed) if row.agreed_until_ms and row.agreed_until_ms > now_ms() else None
        return BargainState(row.rounds, _money(row.lowest_counter), _money(row.best_offer), agreed)

    def talk(self, account_id: str, buyer_id: str, item_id: str, terms: BargainTerms, list_price: Decimal,
             text: str) -> Talk | None:
        """None for a message that is no bargain (nothing read: most messages are questions)."""
        asks = asks_to_bargain(text)
        if not asks and buyer_offer(text, list_price) is None:
            return None
        policy = terms.policy()
        before = self.state(account_id, buyer_id, item_id)
        reference = before.lowest_counter or list_price
        offer = buyer_offer(text, list_price, reference)
        decision, after = decide(policy, list_price, before, offer, asks)
        floor = policy.floor.of(list_price)
        return Talk(decision if decision.action != "none" else None, after, floor, after != before)

    def keep(self, account_id: str, buyer_id: str, item_id: str, terms: BargainTerms, state: BargainState) -> None:
        now = now_ms()
        until = now + int(terms.agreed_hours * 3_600_000) if state.agreed is not None else None
        self._store.ai.save_bargain(BargainRecord(
            account_id=account_id, buyer_id=buyer_id, item_id=item_id, rounds=state.rounds,
            lowest_counter=_text(state.lowest_counter), best_offer=_text(state.best_offer),
            agreed=_text(state.agreed), agreed_until_ms=until, updated_at_ms=now))
