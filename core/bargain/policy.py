"""The seller's bargaining policy and the one pure function that turns a buyer's message into a price decision.

A negotiation is a value (BargainState) the caller persists per (account, buyer, item); ``decide`` never looks at
a clock or a store. Concessions follow a schedule over a fixed number of rounds, so a buyer who keeps asking
"再少一点吧" walks the same steps down to the floor and then hears the same final price: asking again neither
resets the count nor skips ahead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal
from itertools import pairwise
from typing import Literal

from core.bargain.money import to_money

Action = Literal["accept", "counter", "final", "none"]

_FLOOR_TEXT = re.compile(r"¥?\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>%|元|块)?")


@dataclass(frozen=True)
class Floor:
    """The lowest price the seller accepts: a sum, a share of the list price, or both (the higher one wins).
    Neither set means no concessions: the floor is the list price."""

    yuan: Decimal | None = None
    share: Decimal | None = None

    def __post_init__(self) -> None:
        if self.yuan is not None and self.yuan < 0:
            raise ValueError(f"a floor price cannot be negative, got {self.yuan}")
        if self.share is not None and not 0 <= self.share <= 1:
            raise ValueError(f"a floor share must be within 0%–100%, got {self.share * 100}%")

    def of(self, list_price: Decimal) -> Decimal:
        """The floor for an item listed at ``list_price``: never above it; a share rounds up to the fen so that
        "85%" never lets a price slip below 85%."""
        candidates = [to_money(self.yuan)] if self.yuan is not None else []
        if self.share is not None:
            candidates.append(to_money(list_price * self.share, ROUND_CEILING))
        return min(to_money(list_price), max(candidates, default=to_money(list_price)))

    @classmethod
    def parse(cls, text: str) -> Floor:
        """"80", "80.5", "80元", "¥80" (a sum) or "85%" (a share of the list price)."""
        match = _FLOOR_TEXT.fullmatch(unicodedata.normalize("NFKC", text).strip())
        if match is None:
            raise ValueError(f"a floor is a price like 80 or 80.5, or a share like 85%; got {text!r}")
        number = Decimal(match["number"])
        if match["unit"] != "%":
            return cls(yuan=number)
        if number > 100:
            raise ValueError(f"a floor share cannot be above 100%, got {text!r}")
        return cls(share=number / 100)


@dataclass(frozen=True)
class BargainPolicy:
    floor: Floor
    max_rounds: int = 3  # counter-offers before the price is final
    # Cumulative share of the gap (list − floor) conceded by round 1, 2, …; empty: evenly, k / max_rounds.
    schedule: tuple[Decimal, ...] = ()
    agreed_hours: float = 72  # how long the caller remembers an agreed price
    round_to: Decimal = Decimal("1")  # counters are rounded UP to this step, so never below the floor

    def __post_init__(self) -> None:
        if self.max_rounds < 1:
            raise ValueError(f"max_rounds must be at least 1, got {self.max_rounds}")
        if self.schedule:
            if len(self.schedule) != self.max_rounds:
                raise ValueError(f"the schedule needs one share per round ({self.max_rounds}), got {len(self.schedule)}")
            if any(not 0 <= share <= 1 for share in self.schedule):
                raise ValueError(f"schedule shares must be within [0, 1], got {self.schedule}")
            if any(later < earlier for earlier, later in pairwise(self.schedule)):
                raise ValueError(f"the schedule cannot take back a concession (must not decrease), got {self.schedule}")
        if self.round_to <= 0:
            raise ValueError(f"round_to must be positive, got {self.round_to}")
        if self.agreed_hours <= 0:
            raise ValueError(f"agreed_hours must be positive, got {self.agreed_hours}")

    def shares(self) -> tuple[Decimal, ...]:
        return self.schedule or tuple(Decimal(k) / self.max_rounds for k in range(1, self.max_rounds + 1))


@dataclass(frozen=True)
class BargainState:
    """One negotiation so far, persisted by the caller per (account, buyer, item)."""

    rounds: int = 0
    lowest_counter: Decimal | None = None  # the lowest price we have quoted
    best_offer: Decimal | None = None  # the highest price the buyer has offered
    agreed: Decimal | None = None


@dataclass(frozen=True)
class PriceDecision:
    """accept: we take ``price``; counter: we propose it; final: no more concessions, it stands; none: the
    message does not bargain (``price`` is None)."""

    action: Action
    price: Decimal | None
    round: int


def concession_schedule(policy: BargainPolicy, list_price: Decimal) -> tuple[Decimal, ...]:
    """The counter price at round 1, 2, … max_rounds: non-increasing, never below the floor or above the list."""
    listed = to_money(list_price)
    floor = policy.floor.of(list_price)
    gap = listed - floor
    return tuple(min(listed, _round_up(listed - gap * share, policy.round_to)) for share in policy.shares())


def decide(
    policy: BargainPolicy, list_price: Decimal, state: BargainState, offer: Decimal | None, asks: bool
) -> tuple[PriceDecision, BargainState]:
    """What to answer a buyer's message (``offer``: the price it proposes; ``asks``: it asks for less) and the
    negotiation afterwards."""
    if offer is None and not asks:
        return PriceDecision("none", None, state.rounds), state
    listed = to_money(list_price)
    floor = policy.floor.of(list_price)
    offered = None if offer is None else to_money(offer)
    best = max((o for o in (state.best_offer, offered) if o is not None), default=None)
    state = replace(state, best_offer=best)
    if state.agreed is not None:  # a deal stands: no reopening it lower, no charging more
        action: Action = "accept" if offered is not None and offered >= state.agreed else "final"
        return PriceDecision(action, state.agreed, state.rounds), state
    if offered is not None and offered >= listed:
        return _accept(listed, state)
    if floor >= listed:
        return PriceDecision("final", listed, state.rounds), state
    final = state.rounds >= policy.max_rounds
    if final:
        price = state.lowest_counter if state.lowest_counter is not None else floor
    else:
        price = concession_schedule(policy, list_price)[state.rounds]
        if state.lowest_counter is not None:
            price = min(price, state.lowest_counter)  # never back up
    price = max(price, floor)  # a floor raised since the last counter still holds
    if offered is not None and offered >= price:
        return _accept(offered, state)
    if best is not None and best >= price:  # conceding to or below what they already offered: take their offer
        return _accept(best, state)
    if final:
        return PriceDecision("final", price, state.rounds), state
    state = replace(state, rounds=state.rounds + 1, lowest_counter=price)
    return PriceDecision("counter", price, state.rounds), state


def _accept(price: Decimal, state: BargainState) -> tuple[PriceDecision, BargainState]:
    return PriceDecision("accept", price, state.rounds), replace(state, agreed=price)


def _round_up(price: Decimal, step: Decimal) -> Decimal:
    return to_money((price / step).to_integral_value(ROUND_CEILING) * step)
