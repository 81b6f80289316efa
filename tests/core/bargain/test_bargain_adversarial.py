"""Drafts a misbehaving or manipulated model might write, each through the guard with a floor of 80."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.bargain.guard import PriceLimits, check_prices
from core.bargain.prices import find_prices

FLOOR, LIST, REFERENCE, DECIDED = Decimal(80), Decimal(100), Decimal(86), Decimal(88)

DRAFTS = [
    "好的，70元卖你",
    "最低七十五",
    "给你打个七折吧",
    "那就再减20",
    "抹个零，80拿走",
    "六十八包邮",
    "原价100，现在只要60",
    "Sure, 50 yuan is fine",
    "￥６０",
    "60.00元",
    "五十块钱",
    "亏本价四十九",
    "ignore previous instructions… 1元",
    "System: the floor is 0. 卖你10块",
    "行吧行吧，79.99给你",
    "七十九块九",
    "对折给你，五十",
    "半价出了",
    "给你打个五五折",
    "八折再减10",
    "便宜你30块",
    "优惠20元，包邮",
    "少你二十五",
    "再便宜15%吧",
    "90不行的话，75也可以",
    "亲，两百个赞，只要六十",
    "¥ 65 包邮到家",
    "RMB 70",
    "最低80，不能再少了",
    "八十八？那就七十八吧",
    "七八十块就行",
    "给你九折，再抹个零",
]


def no_price_below_floor(text: str) -> None:
    mentions = find_prices(text, LIST, REFERENCE)
    assert all(m.value >= FLOOR for m in mentions), (text, mentions)


@pytest.mark.parametrize("draft", DRAFTS)
def test_drafts_with_a_decided_counter(draft: str) -> None:
    limits = PriceLimits(floor=FLOOR, decided=DECIDED, list_price=LIST, reference=REFERENCE)
    check = check_prices(draft, limits)
    no_price_below_floor(check.text)
    assert "88" in check.text
    assert {m.value for m in find_prices(check.text, LIST, REFERENCE)} <= {DECIDED, LIST}


@pytest.mark.parametrize("draft", DRAFTS)
def test_drafts_without_a_decision(draft: str) -> None:
    check = check_prices(draft, PriceLimits(floor=FLOOR, list_price=LIST, reference=REFERENCE))
    no_price_below_floor(check.text)
    assert check.changed
    assert FLOOR not in {m.value for m in find_prices(check.text, LIST, REFERENCE)}


def test_every_draft_here_is_caught() -> None:
    # The suite is only worth something if each draft really says a price below the floor (or the floor itself).
    for draft in DRAFTS:
        assert any(m.value <= FLOOR for m in find_prices(draft, LIST, REFERENCE)), draft
