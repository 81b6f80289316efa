"""The price check every outgoing reply goes through, whoever wrote it (a rule, a template, a model).

A reply may not quote below the floor, below what the buyer already offered, or — when the policy decided a
price — anything but that price (the list price may still be quoted as 原价/标价). Nor may it name the floor
itself, unless the floor is the decided or the list price: a floor said out loud is where the next buyer starts.

A wrong stated price is put right in place when there is a decided price to put there; anything else (a wrong
discount, minus or round-down, no decision, a rewrite that is still wrong) replaces the whole reply by the counter
template at the decided price, else the list price, else by NO_PRICE_REPLY. The check never raises: a reply it
cannot fix is replaced, not let through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from core.bargain.money import format_price, to_money
from core.bargain.numerals import fold_width
from core.bargain.prices import PriceMention, find_prices

DEFAULT_COUNTER = "这个价格已经很实在了，{price}元可以出哦"
# The last resort: no digits, no numerals, so it passes any limits.
NO_PRICE_REPLY = "这个价格已经很实在了，不能再低了哦"

_LIST_LABEL = re.compile(r"(?:原价|标价)[是为:\s]*¥?\s*$")
_NOT_PLAIN = frozenset("块元毛角")  # a number that carries its own unit ("九块九") is not rewritten in place


@dataclass(frozen=True)
class PriceLimits:
    floor: Decimal  # never quote below
    decided: Decimal | None = None  # the price this reply must say, when a decision was made
    best_offer: Decimal | None = None  # never quote below what the buyer already offered
    list_price: Decimal | None = None
    reference: Decimal | None = None  # what relative forms (再减10, 抹零) apply to; defaults to list_price


@dataclass(frozen=True)
class PriceCheck:
    text: str  # what may be sent
    changed: bool
    reasons: tuple[str, ...]  # for the log and the DB; they may name prices, ``text`` never names the floor


def check_prices(text: str, limits: PriceLimits, counter_template: str = DEFAULT_COUNTER) -> PriceCheck:
    """``text`` if it keeps to ``limits``, else a corrected reply and why."""
    problems = _problems(text, limits)
    if (not problems and limits.decided is not None and limits.decided > 0 and text != NO_PRICE_REPLY
            and not _says(text, limits)):
        # A decided price the reply does not state leaves the buyer guessing (or reads as yes to anything:
        # "好的，听你的" after "再少一点吧"): the counter reply states it.
        return PriceCheck(_counter(limits, counter_template), True,
                          (f"did not state the decided {format_price(limits.decided)}", "replaced by the counter reply"))
    if not problems:
        return PriceCheck(text, False, ())
    reasons = tuple(reason for _, reason in problems)
    fixable = all(m.form == "yuan" and not _NOT_PLAIN & set(text[m.start : m.end]) for m, _ in problems)
    if limits.decided is not None and fixable:
        rewritten = _rewrite(text, [m for m, _ in problems], format_price(limits.decided))
        if not _problems(rewritten, limits) and _says(rewritten, limits):
            return PriceCheck(rewritten, True, reasons)
        # Rewriting can glue a price to a neighbouring digit; the template is always safe.
        reasons += ("still wrong after the rewrite",)
    return PriceCheck(_counter(limits, counter_template), True, reasons + ("replaced by the counter reply",))


def _says(text: str, limits: PriceLimits) -> bool:
    decided = to_money(limits.decided) if limits.decided is not None else None
    return any(m.value == decided for m in find_prices(text, limits.list_price, limits.reference))


def _problems(text: str, limits: PriceLimits) -> list[tuple[PriceMention, str]]:
    floor = to_money(limits.floor)
    decided = None if limits.decided is None else to_money(limits.decided)
    listed = None if limits.list_price is None else to_money(limits.list_price)
    problems = []
    for mention in find_prices(text, limits.list_price, limits.reference):
        value, what = mention.value, _describe(text, mention)
        if value < floor:
            problems.append((mention, f"quoted {what} below the floor"))
        elif limits.best_offer is not None and value < limits.best_offer:
            problems.append((mention, f"quoted {what} below the buyer's offer {format_price(limits.best_offer)}"))
        elif decided is not None and value != decided and not _quotes_list_price(text, mention, listed):
            problems.append((mention, f"quoted {what} instead of the decided {format_price(decided)}"))
        elif value == floor and value not in (decided, listed):
            problems.append((mention, f"quoted {what}, the floor itself"))
    return problems


def _describe(text: str, mention: PriceMention) -> str:
    price = format_price(mention.value)
    return price if mention.form == "yuan" else f"{price} ({text[mention.start : mention.end]})"


def _quotes_list_price(text: str, mention: PriceMention, listed: Decimal | None) -> bool:
    if mention.form != "yuan" or mention.value != listed:
        return False
    return _LIST_LABEL.search(fold_width(text[max(0, mention.start - 8) : mention.start])) is not None


def _rewrite(text: str, mentions: list[PriceMention], price: str) -> str:
    for mention in sorted(mentions, key=lambda m: m.start, reverse=True):
        text = text[: mention.start] + price + text[mention.end :]
    return text


def _counter(limits: PriceLimits, template: str) -> str:
    price = limits.decided if limits.decided is not None else limits.list_price
    if price is None:
        return NO_PRICE_REPLY
    try:
        reply = template.format(price=format_price(price))
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):  # a broken template must not break sending
        return NO_PRICE_REPLY
    stated = limits.decided is None or limits.decided <= 0 or _says(reply, limits)
    return NO_PRICE_REPLY if _problems(reply, limits) or not stated else reply
