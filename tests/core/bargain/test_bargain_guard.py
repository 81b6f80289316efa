"""The outgoing price check: each way a reply is kept, rewritten in place, or replaced."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.bargain.guard import DEFAULT_COUNTER, NO_PRICE_REPLY, PriceCheck, PriceLimits, check_prices
from core.bargain.money import format_price

FLOOR, LIST = Decimal(80), Decimal(100)
DECIDED = PriceLimits(floor=FLOOR, decided=Decimal(85), list_price=LIST)
UNDECIDED = PriceLimits(floor=FLOOR, list_price=LIST)
AT_LIST = DEFAULT_COUNTER.format(price="100")
AT_DECIDED = DEFAULT_COUNTER.format(price="85")


def test_format_price() -> None:
    assert [format_price(Decimal(v)) for v in ("80", "80.00", "79.50", "9.99", "0.5")] == ["80", "80", "79.5", "9.99", "0.5"]


@pytest.mark.parametrize(
    ("text", "limits"),
    [("85元包邮", DECIDED), ("原价100，现在85", DECIDED), ("标价：100，给你85", DECIDED),
     ("90吧", UNDECIDED), ("100不刀", UNDECIDED), ("2个的话150", UNDECIDED)],
)
def test_kept(text: str, limits: PriceLimits) -> None:
    assert check_prices(text, limits) == PriceCheck(text, False, ())


@pytest.mark.parametrize("text", ["好的，马上发货", "好的，听你的", "行，就这样吧"])
def test_a_decided_price_must_be_stated(text: str) -> None:
    """A reply to a bargain that names no price would leave the buyer to read it as a yes to their own."""
    checked = check_prices(text, DECIDED)
    assert checked.text == AT_DECIDED and checked.changed
    assert checked.reasons[0] == "did not state the decided 85"


@pytest.mark.parametrize(
    ("text", "expected", "reason"),
    [
        ("好的，70元卖你", "好的，85元卖你", "quoted 70 below the floor"),
        ("最低七十五", "最低85", "quoted 75 below the floor"),
        ("90包邮", "85包邮", "quoted 90 instead of the decided 85"),
        ("100就给你", "85就给你", "quoted 100 instead of the decided 85"),  # the list price, not labelled 原价
        ("原价100，现在只要60", "原价100，现在只要85", "quoted 60 below the floor"),
    ],
)
def test_a_wrong_stated_price_is_rewritten_in_place(text: str, expected: str, reason: str) -> None:
    check = check_prices(text, DECIDED)
    assert (check.text, check.changed, check.reasons) == (expected, True, (reason,))


@pytest.mark.parametrize("text", ["给你打个七折吧", "那就再减20", "抹个零吧", "九块九包邮"])
def test_a_wrong_relative_or_unit_bearing_price_replaces_the_reply(text: str) -> None:
    limits = PriceLimits(floor=FLOOR, decided=Decimal(85), list_price=LIST, reference=Decimal(86))
    check = check_prices(text, limits)
    assert (check.text, check.changed) == (AT_DECIDED, True)
    assert check.reasons[-1] == "replaced by the counter reply"


def test_without_a_decision_a_wrong_price_replaces_the_reply_at_the_list_price() -> None:
    check = check_prices("70出给你", UNDECIDED)
    assert (check.text, check.reasons) == (AT_LIST, ("quoted 70 below the floor", "replaced by the counter reply"))


def test_below_the_buyers_offer() -> None:
    limits = PriceLimits(floor=FLOOR, best_offer=Decimal(90), list_price=LIST)
    check = check_prices("85吧", limits)
    assert check.text == AT_LIST and check.reasons[0] == "quoted 85 below the buyer's offer 90"


def test_the_floor_is_never_said_unless_decided() -> None:
    check = check_prices("最低80，不能再少了", UNDECIDED)
    assert check.text == AT_LIST and "80" not in check.text
    assert check.reasons[0] == "quoted 80, the floor itself"
    at_floor = PriceLimits(floor=FLOOR, decided=FLOOR, list_price=LIST)
    assert check_prices("最低80，不能再少了", at_floor).changed is False
    assert check_prices("最低七十", at_floor).text == "最低80"


def test_the_floor_may_be_said_when_it_is_the_list_price() -> None:
    limits = PriceLimits(floor=LIST, list_price=LIST)
    assert check_prices("100不议价", limits).changed is False


def test_a_rewrite_that_is_still_wrong_falls_back_to_the_template() -> None:
    check = check_prices("七十0", DECIDED)  # two numbers; rewritten they glue into 8585
    assert check.text == AT_DECIDED
    assert "still wrong after the rewrite" in check.reasons


@pytest.mark.parametrize("template", ["{price", "{other}元", "{0}", "{price.x}", "最低70元，{price}元也行"])
def test_a_broken_or_unsafe_template_falls_back_to_the_no_price_reply(template: str) -> None:
    assert check_prices("打六折", DECIDED, template).text == NO_PRICE_REPLY


def test_no_price_to_say_falls_back_to_the_no_price_reply() -> None:
    assert check_prices("60元", PriceLimits(floor=FLOOR)).text == NO_PRICE_REPLY


def test_a_decided_price_below_the_floor_is_never_said() -> None:
    check = check_prices("60元", PriceLimits(floor=FLOOR, decided=Decimal(60), list_price=LIST))
    assert check.text == NO_PRICE_REPLY


def test_custom_template() -> None:
    assert check_prices("打六折", DECIDED, "{price}元最低了亲").text == "85元最低了亲"


@pytest.mark.parametrize("limits", [DECIDED, UNDECIDED, PriceLimits(floor=Decimal("83.5"), list_price=LIST)])
@pytest.mark.parametrize("text", ["最低80", "80元", "八十", "83.5", "打八折", "再减20", "给你便宜20块"])
def test_the_floor_value_is_not_in_the_output(limits: PriceLimits, text: str) -> None:
    out = check_prices(text, limits).text
    assert format_price(limits.floor) not in out
    assert "八十" not in out
