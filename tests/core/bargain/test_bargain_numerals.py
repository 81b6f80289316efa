"""Reading numbers: every supported Arabic and Chinese form, and the numeral characters that are words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.bargain.numerals import find_numbers, fold_width, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("80", "80"),
        ("9.90", "9.90"),
        ("１２３．５", "123.5"),
        ("1,200", "1200"),
        ("1.5万", "15000"),
        ("3千", "3000"),
        ("十", "10"),
        ("十五", "15"),
        ("八十", "80"),
        ("七十五", "75"),
        ("九十八", "98"),
        ("一百零五", "105"),
        ("一百二", "120"),
        ("一百二十", "120"),
        ("两百", "200"),
        ("两百五", "250"),
        ("一千五", "1500"),
        ("一千零五十", "1050"),
        ("一万二千", "12000"),
        ("一万五", "15000"),
        ("壹佰贰拾", "120"),
        ("兩萬", "20000"),
        ("三四十", "30"),
        ("一两百", "100"),
        ("九九", "99"),
        ("九点九", "9.9"),
        ("九十九点五", "99.5"),
        ("三百五十块五", "350.5"),
        ("九块九毛", "9.9"),
        ("9块9", "9.9"),
        ("五毛", "0.5"),
        ("五角", "0.5"),
        ("七十五块钱", "75"),
        ("75元", "75"),
        ("¥9.90", "9.90"),
        ("一", "1"),
        ("两块", "2"),
    ],
)
def test_parse_number(text: str, value: str) -> None:
    assert parse_number(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "abc", "一下", "百", "零", "80个", "八十 九十", "两句"])
def test_parse_number_refuses_what_is_not_one_number(text: str) -> None:
    assert parse_number(text) is None


def spans(text: str) -> list[tuple[str, Decimal]]:
    return [(s.raw, s.value) for s in find_numbers(text)]


@pytest.mark.parametrize(
    "text", ["等我一下", "少一点", "一个", "一起发", "说一两句", "不二价", "万一", "千万别", "十分满意", "二维码"]
)
def test_numeral_characters_that_are_words(text: str) -> None:
    assert spans(text) == []


def test_a_lone_one_is_a_number_before_a_price_unit() -> None:
    assert spans("就一块") == [("一", Decimal(1))]
    assert spans("两元") == [("两", Decimal(2))]
    assert spans("一毛") == [("一毛", Decimal("0.1"))]


def test_find_numbers_positions_and_order() -> None:
    text = "iPhone15 卖八十，一千五也行"
    found = find_numbers(text)
    assert [(s.raw, s.value) for s in found] == [("15", 15), ("八十", 80), ("一千五", 1500)]
    assert all(text[s.start : s.end] == s.raw for s in found)


def test_full_width_digits_keep_their_positions() -> None:
    text = "价格￥６０，包邮"
    (span,) = find_numbers(text)
    assert (span.raw, span.value, text[span.start : span.end]) == ("６０", 60, "６０")
    assert len(fold_width(text)) == len(text)


def test_chinese_comma_never_groups_thousands() -> None:
    assert spans("80，100太贵") == [("80", 80), ("100", 100)]


def test_jiao_after_kuai_only_when_the_sentence_reads_as_a_price() -> None:
    assert spans("9块9包邮") == [("9块9", Decimal("9.9"))]
    assert spans("80块5个") == [("80", 80), ("5", 5)]


def test_clock_times_are_not_decimals() -> None:
    assert spans("十二点三十") == [("十二", 12), ("三十", 30)]
    assert spans("九点半") == [("九", 9)]


def test_a_word_is_only_masked_when_no_numeral_precedes_it() -> None:
    assert spans("五十分钟") == [("五十", 50)]
    assert spans("一千万") == [("一千万", 10_000_000)]


def test_absurdly_long_numbers_are_not_numbers() -> None:
    assert spans("9" * 30) == []
