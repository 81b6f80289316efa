"""Finding prices: stated, relative, and the numbers that are not prices; offers and bargaining."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.bargain.prices import asks_to_bargain, buyer_offer, find_prices

LIST = Decimal(100)


def prices(text: str, reference: Decimal | None = None, list_price: Decimal | None = LIST) -> list[tuple[str, str]]:
    return [(m.form, f"{m.value}") for m in find_prices(text, list_price, reference)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("八十", [("yuan", "80.00")]),
        ("80包邮", [("yuan", "80.00")]),
        ("80吧", [("yuan", "80.00")]),
        ("能80包邮吗", [("yuan", "80.00")]),
        ("最低75", [("yuan", "75.00")]),
        ("七十五行不行", [("yuan", "75.00")]),
        ("能不能七十五", [("yuan", "75.00")]),
        ("¥75", [("yuan", "75.00")]),
        ("￥７５", [("yuan", "75.00")]),
        ("75元", [("yuan", "75.00")]),
        ("75块", [("yuan", "75.00")]),
        ("七十五块钱", [("yuan", "75.00")]),
        ("9.9元", [("yuan", "9.90")]),
        ("rmb80", [("yuan", "80.00")]),
        ("Sure, 50 yuan", [("yuan", "50.00")]),
        ("便宜点80", [("yuan", "80.00")]),
        ("降价到80", [("yuan", "80.00")]),
        ("iPhone15 80出", [("yuan", "80.00")]),
        ("2个 共150", [("yuan", "150.00")]),
        ("打8折", [("discount", "80.00")]),
        ("8折", [("discount", "80.00")]),
        ("八折", [("discount", "80.00")]),
        ("九折", [("discount", "90.00")]),
        ("八五折", [("discount", "85.00")]),
        ("8.5折", [("discount", "85.00")]),
        ("85折", [("discount", "85.00")]),
        ("给你打个七折吧", [("discount", "70.00")]),
        ("对折", [("discount", "50.00")]),
        ("再减10", [("minus", "90.00")]),
        ("便宜10块", [("minus", "90.00")]),
        ("少你20", [("minus", "80.00")]),
        ("优惠15", [("minus", "85.00")]),
        ("让5块", [("minus", "95.00")]),
        ("便宜10%", [("minus", "90.00")]),
        ("80，再减5", [("yuan", "80.00"), ("minus", "75.00")]),
        ("原价100，现在只要60", [("yuan", "100.00"), ("yuan", "60.00")]),
    ],
)
def test_prices(text: str, expected: list[tuple[str, str]]) -> None:
    assert prices(text) == expected


@pytest.mark.parametrize(
    ("text", "reference", "expected"),
    [
        ("抹零", Decimal(86), [("round_down", "80.00")]),
        ("抹个零，80拿走", Decimal(86), [("round_down", "80.00"), ("yuan", "80.00")]),
        ("去零头", Decimal("8.5"), [("round_down", "8.00")]),
        ("再减10", Decimal(86), [("minus", "76.00")]),
        ("打8折", Decimal(86), [("discount", "80.00")]),  # a discount is off the list price
    ],
)
def test_relative_forms_apply_to_the_reference(text: str, reference: Decimal, expected: list) -> None:
    assert prices(text, reference) == expected


def test_relative_forms_without_a_base_are_skipped() -> None:
    assert prices("打8折，再减10，抹零", list_price=None) == []
    assert prices("80，再减5", list_price=None) == [("yuan", "80.00"), ("minus", "75.00")]


@pytest.mark.parametrize(
    "text",
    [
        "12:30 前发货",
        "2024年买的",
        "2024-05-01发货",
        "5月1日",
        "周三发货",
        "第2次",
        "2个",
        "3件",
        "128G",
        "1TB",
        "128 GB",
        "99新",
        "九成新",
        "二手",
        "5岁",
        "3天",
        "2小时",
        "6楼",
        "42码",
        "85%",
        "百分之八十",
        "型号RTX4090",
        "A7M3",
        "iPhone15",
        "13812345678",
        "138 1234 5678",
        "http://x.cn/item/80",
        "www.abc.com/70",
        "不二价",
        "等我一下",
        "型号: 8080",
        "×2",
    ],
)
def test_not_prices(text: str) -> None:
    assert prices(text) == []


def test_mentions_cover_what_they_read() -> None:
    text = "给你打个七折，或者再减5块，最低九十"
    found = find_prices(text, LIST)
    assert [text[m.start : m.end] for m in found] == ["打个七折", "减5", "九十"]


def test_buyer_offer_is_the_lowest_price() -> None:
    assert buyer_offer("原价100，80行吗", LIST) == Decimal(80)
    assert buyer_offer("打个八折，75吧", LIST) == Decimal(75)
    assert buyer_offer("在吗", LIST) is None


@pytest.mark.parametrize(
    "text",
    ["再少一点吧", "最少多少", "能便宜点吗", "可刀吗", "底价多少", "80", "80包邮", "打个八折吧", "抹个零", "多少能出"],
)
def test_asks_to_bargain(text: str) -> None:
    assert asks_to_bargain(text)


@pytest.mark.parametrize("text", ["包邮吗", "在吗", "还有吗", "九成新吗", "128G的吗", "明天3点能发吗", "要2个", "发什么快递"])
def test_does_not_ask_to_bargain(text: str) -> None:
    assert not asks_to_bargain(text)
