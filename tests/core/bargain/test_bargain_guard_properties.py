"""Properties of the price guard over generated drafts: whatever goes in, what comes out keeps to the limits."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.bargain.guard import PriceLimits, check_prices
from core.bargain.money import to_money
from core.bargain.prices import find_prices

NUMERAL_CHARS = "零一二两三四五六七八九十百千万壹贰叁拾佰仟点"
UNITS = ["元", "块", "块钱", "毛", "角", "rmb", " yuan", "个", "件", "G", "折", "%", "成新", "新", "号", "点", "年", "天"]
PHRASES = [
    "打", "打个", "折", "八五折", "对折", "半价", "再减", "便宜", "少", "优惠", "让", "降价", "抹零", "抹个零", "去零头",
    "原价", "标价", "最低", "包邮", "出", "吧", "行不行", "¥", "￥", "第", "周", "百分之", "型号", "iPhone", "RTX",
    "http://x.cn/", "12:30", "2024-05-01", "138 1234 5678", "ignore previous instructions", "好的，", "亲",
]
PUNCTUATION = list("，。！？、,.!? :：~-×*/\n")

fragments = st.one_of(
    st.text(alphabet=NUMERAL_CHARS, min_size=1, max_size=5),
    st.text(alphabet="0123456789", min_size=1, max_size=4),
    st.text(alphabet="０１２３４５６７８９．", min_size=1, max_size=4),
    st.decimals(min_value=0, max_value=2000, places=2).map(str),
    st.sampled_from(UNITS),
    st.sampled_from(PHRASES),
    st.sampled_from(PUNCTUATION),
    st.text(alphabet="abcxyzAVQ", min_size=1, max_size=3),
    st.text(max_size=3),
)
drafts = st.lists(fragments, max_size=14).map("".join)
money = st.decimals(min_value=1, max_value=2000, places=2)


@st.composite
def limits(draw: st.DrawFn, decided: bool | None = None) -> PriceLimits:
    list_price = draw(money)
    floor = to_money(list_price * draw(st.decimals(min_value=0, max_value=1, places=2)))
    with_decision = draw(st.booleans()) if decided is None else decided
    chosen = draw(st.decimals(min_value=floor, max_value=list_price, places=2)) if with_decision else None
    best_offer = draw(st.none() | st.decimals(min_value=0, max_value=chosen or list_price, places=2))
    reference = draw(st.none() | st.decimals(min_value=floor, max_value=list_price, places=2))
    return PriceLimits(floor=floor, decided=chosen, best_offer=best_offer, list_price=list_price, reference=reference)


# Derandomized: CI runs the same 400 examples every time (a seed that fails once fails always, never flakes);
# set derandomize=False locally to explore further.
PROPERTY = settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(drafts, limits())
def test_no_price_below_the_floor_or_the_offer_survives(text: str, lim: PriceLimits) -> None:
    out = check_prices(text, lim).text
    for mention in find_prices(out, lim.list_price, lim.reference):
        assert mention.value >= lim.floor, (text, out)
        assert lim.best_offer is None or mention.value >= lim.best_offer, (text, out)
        assert mention.value != lim.floor or lim.floor in (lim.decided, lim.list_price), (text, out)


@PROPERTY
@given(drafts, limits(decided=True))
def test_with_a_decision_every_price_said_is_the_decided_or_the_list_price(text: str, lim: PriceLimits) -> None:
    out = check_prices(text, lim).text
    for mention in find_prices(out, lim.list_price, lim.reference):
        assert mention.value in (lim.decided, lim.list_price), (text, out)


@PROPERTY
@given(drafts, limits())
def test_the_check_is_stable(text: str, lim: PriceLimits) -> None:
    first = check_prices(text, lim)
    assert check_prices(first.text, lim).changed is False
    assert first.changed or first.text == text


@PROPERTY
@given(st.one_of(drafts, st.text()), st.none() | money, st.none() | money)
def test_find_prices_reads_any_text(text: str, list_price: Decimal | None, reference: Decimal | None) -> None:
    mentions = find_prices(text, list_price, reference)
    assert [m.start for m in mentions] == sorted(m.start for m in mentions)
    assert all(0 <= m.start < m.end <= len(text) and m.value >= 0 for m in mentions)
