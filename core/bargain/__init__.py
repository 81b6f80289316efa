"""Bargaining: what price to say to a buyer, and the check that no reply says a price it should not.

The package owns reading numbers and prices out of chat text (numerals.py, prices.py), the seller's concession
policy and the pure ``decide`` step over a persisted BargainState (policy.py), the price guard every outgoing
reply passes (guard.py), and the off-platform contact filter (contacts.py); money.py is yuan to the fen. A model
only phrases a reply: code decides the price and checks the text.

Pure code: no I/O, no threads, no clock; it imports only the standard library and nothing of the project, so any
layer may use it. Import from core.bargain itself or from its modules.
"""

from core.bargain.contacts import DEFAULT_CONTACT_PATTERNS, compile_patterns, contact_problem
from core.bargain.guard import DEFAULT_COUNTER, NO_PRICE_REPLY, PriceCheck, PriceLimits, check_prices
from core.bargain.money import format_price, to_money
from core.bargain.numerals import (
    NUMERAL_WORDS,
    PRICE_UNITS,
    NumberSpan,
    find_numbers,
    fold_width,
    parse_number,
)
from core.bargain.policy import (
    Action,
    BargainPolicy,
    BargainState,
    Floor,
    PriceDecision,
    concession_schedule,
    decide,
)
from core.bargain.prices import (
    BARGAIN_WORDS,
    MASKS,
    NON_PRICE_UNITS,
    PriceMention,
    asks_to_bargain,
    buyer_offer,
    find_prices,
)

__all__ = [
    "BARGAIN_WORDS",
    "DEFAULT_CONTACT_PATTERNS",
    "DEFAULT_COUNTER",
    "MASKS",
    "NON_PRICE_UNITS",
    "NO_PRICE_REPLY",
    "NUMERAL_WORDS",
    "PRICE_UNITS",
    "Action",
    "BargainPolicy",
    "BargainState",
    "Floor",
    "NumberSpan",
    "PriceCheck",
    "PriceDecision",
    "PriceLimits",
    "PriceMention",
    "asks_to_bargain",
    "buyer_offer",
    "check_prices",
    "compile_patterns",
    "concession_schedule",
    "contact_problem",
    "decide",
    "find_numbers",
    "find_prices",
    "fold_width",
    "format_price",
    "parse_number",
    "to_money",
]
