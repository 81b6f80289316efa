"""Prices in chat text: every price a message states or implies, the buyer's offer, and whether it bargains.

In a price chat a bare number is how a price is written ("80吧", "最低75", "七十五行不行"), so a number is a price
unless something says otherwise: a unit in NON_PRICE_UNITS after it (2个, 128G, 99新, 12点), a Latin letter glued to
it (iPhone15, RTX4090, A7M3: model numbers), or a place that is not a price (MASKS: links, 2024-05-01, 12:30, 周三,
第2, 百分之八十, 型号/尾号/单号 numbers, ×2, and 7+ digit runs, which are phone numbers for the contact filter).
Leaning towards "price" is deliberate: the guard rewrites a false price, but a missed one is a leak.

Relative forms get a value from a base: discounts (八折, 打个8.5折, 八五折, 对折, 半价) from the list price; minus
(再减10, 便宜10块, 少你20, 让5, 优惠10, 便宜10%) and round-down (抹零, 抹个零, 去零头) from the LOWER of the reference
(the last price quoted in the chat) and the price mentioned just before in the same text, so "80，再减5" is 75.
Computed values are rounded down to the fen: an implied price never rounds up past a limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from core.bargain.money import to_money
from core.bargain.numerals import PRICE_UNITS, NumberSpan, find_numbers, fold_width, parse_number

Form = Literal["yuan", "discount", "minus", "round_down"]

# A number followed by one of these (spaces allowed) counts something else. Latin ones match case-insensitively and
# only as a whole word ("80 pls" is still a price); 元素 is here so that it wins over 元.
NON_PRICE_UNITS: tuple[str, ...] = (
    # counters
    "个", "件", "台", "只", "套", "本", "张", "部", "条", "双", "份", "盒", "箱", "瓶", "支", "把", "根", "片", "枚",
    "颗", "粒", "袋", "副", "辆", "位", "人", "名", "次", "遍", "种", "款", "色", "样", "类", "句", "字",
    # time
    "天", "小时", "钟头", "分钟", "分", "秒", "周", "星期", "礼拜", "年", "月", "日", "号", "点",
    # age, place, version, spec
    "岁", "楼", "层", "代", "届", "期", "级", "手", "星", "核", "座", "门", "码",
    # size, weight, volume, power
    "寸", "英寸", "厘米", "毫米", "公里", "千米", "米", "斤", "公斤", "千克", "克", "升", "毫升", "度", "瓦",
    # condition and ratios (折 not read as a discount, e.g. 10折)
    "成新", "成", "新", "倍", "折", "元素",
    # Latin
    "g", "gb", "t", "tb", "m", "mb", "k", "kb", "w", "v", "hz", "mah", "p", "cm", "mm", "kg", "ml", "km",
)

# Regions whose numbers are never prices.
MASKS: tuple[str, ...] = (
    r"(?i)https?://[\w\-.~:/?#\[\]@!$&'()*+,;=%]+",
    r"(?i)(?<![\w.-])(?:www\.[\w-]+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|cn|net|org|cc|me|io|top|xyz|vip|info|co|shop|"
    r"link|app|site))[\w\-.~:/?#\[\]@!$&'()*+,;=%]*",
    r"(?:19|20)[0-9]{2}[-/][0-9]{1,2}(?:[-/][0-9]{1,2})?",  # dates; 2024年 and 5月1日 go by their units
    r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?",  # clock times
    r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}",  # mobile numbers written in groups
    r"(?:周|星期|礼拜)[一二三四五六日天1-7]",
    r"百分之[零一二两三四五六七八九十百0-9.]+",
    r"第[零一二两三四五六七八九十百千0-9]+",
    r"(?:型号|编号|尾号|单号|订单号)[:\s]*[\w-]+",
    r"[×*][0-9]+",
)
_MASKS = tuple(re.compile(pattern) for pattern in MASKS)

_DISCOUNT_DIGIT = "1-9一二两三四五六七八九壹贰叁肆伍陆柒捌玖"
_DISCOUNT = re.compile(
    rf"(?:打\s*[个了]?\s*)?(?:(?<![0-9.十百千万])(?P<whole>[{_DISCOUNT_DIGIT}])(?:[.点]?(?P<tenth>[{_DISCOUNT_DIGIT}]))?\s*折"
    r"|对折|半价)"
)
_ROUND_DOWN = re.compile(r"抹[个了掉去]?零头?|去[掉了]?零头|零头就?[抹去][了掉]?")
# A minus keyword right before the number: "再减10", "便宜你10块", "降价10"; not 最少 / 至少 ("at least" is a price).
_MINUS_BEFORE = re.compile(r"(?:减价|降价|(?<![最至不多])少|减|便宜|优惠|让|降|砍)(?:[了个你您我]|一下){0,2}\s*$")
_LATIN = re.compile(r"[A-Za-z]")
_LATIN_BEFORE = re.compile(r"[A-Za-z][-_]?$")
_CURRENCY_BEFORE = re.compile(r"(?i)(?:¥|rmb|cny)\s*$")
_PHONE_DIGITS = 7
_UNITS_LONGEST_FIRST = sorted(
    [(unit, "other") for unit in NON_PRICE_UNITS] + [(unit, "price") for unit in PRICE_UNITS] + [("%", "percent")],
    key=lambda pair: -len(pair[0]),
)

# Words that ask for a lower price without a number (a number in the message is an offer on its own). "包邮" is not
# here: "包邮吗" asks about shipping; "80包邮" is an offer through its number.
BARGAIN_WORDS: tuple[str, ...] = (
    "便宜", "少点", "少一点", "少些", "少算", "再少", "能少", "可以少", "能不能少", "优惠", "最低", "最少", "底价",
    "砍价", "砍一", "小刀", "可刀", "能刀", "刀吗", "刀一", "刀点", "降价", "降点", "让点", "让一点", "打折",
    "折扣", "抹零", "抹个零", "零头", "多少能出", "多少出", "诚心价",
)


@dataclass(frozen=True)
class PriceMention:
    """A price in a text: ``text[start:end]`` is the number, or the whole phrase for a relative form."""

    start: int
    end: int
    value: Decimal
    form: Form


@dataclass(frozen=True)
class _Hit:
    """A price-shaped phrase before it has a value (a relative one needs the list price or a base)."""

    start: int
    end: int
    form: Form
    amount: Decimal = Decimal(0)
    percent: bool = False


def find_prices(text: str, list_price: Decimal | None, reference: Decimal | None = None) -> list[PriceMention]:
    """Every price ``text`` states or implies, in text order; relative forms without a base are left out."""
    reference = list_price if reference is None else reference
    mentions: list[PriceMention] = []
    for hit in _hits(text):
        bases = [b for b in (reference, mentions[-1].value if mentions else None) if b is not None]
        value = _value(hit, list_price, min(bases) if bases else None)
        if value is not None:
            mentions.append(PriceMention(hit.start, hit.end, value, hit.form))
    return mentions


def buyer_offer(text: str, list_price: Decimal | None, reference: Decimal | None = None) -> Decimal | None:
    """The price a buyer proposes: the lowest one in the message (buyers anchor low), or None."""
    return min((m.value for m in find_prices(text, list_price, reference)), default=None)


def asks_to_bargain(text: str) -> bool:
    """Whether the message asks for a lower price: it names a price, or uses one of BARGAIN_WORDS."""
    folded = fold_width(text)
    return any(word in folded for word in BARGAIN_WORDS) or bool(_hits(text))


def _value(hit: _Hit, list_price: Decimal | None, base: Decimal | None) -> Decimal | None:
    if hit.form == "yuan":
        return to_money(hit.amount)
    if hit.form == "discount":
        return None if list_price is None else to_money(list_price * hit.amount / 10, ROUND_FLOOR)
    if base is None:
        return None
    if hit.form == "minus":
        lowered = base * (100 - hit.amount) / 100 if hit.percent else base - hit.amount
        return to_money(max(lowered, Decimal(0)), ROUND_FLOOR)
    step = Decimal(10) if base >= 10 else Decimal(1)  # round_down: 86 → 80, 8.5 → 8
    return to_money((base // step) * step)


def _hits(text: str) -> list[_Hit]:
    folded = fold_width(text)
    masked = [m.span() for pattern in _MASKS for m in pattern.finditer(folded)]
    hits = [_discount(m) for m in _DISCOUNT.finditer(folded)]
    hits += [_Hit(m.start(), m.end(), "round_down") for m in _ROUND_DOWN.finditer(folded)]
    claimed = masked + [(h.start, h.end) for h in hits]
    for span in find_numbers(text):
        if not any(start < span.end and span.start < end for start, end in claimed):
            hit = _number_hit(folded, span)
            if hit is not None:
                hits.append(hit)
    return sorted(hits, key=lambda h: h.start)


def _discount(match: re.Match[str]) -> _Hit:
    if match["whole"] is None:  # 对折, 半价
        tenths = Decimal(5)
    else:
        tenths = _digit(match["whole"]) + (_digit(match["tenth"]) / 10 if match["tenth"] else 0)
    return _Hit(match.start(), match.end(), "discount", tenths)


def _digit(char: str) -> Decimal:
    value = parse_number(char)
    assert value is not None, char  # the pattern only admits digits
    return value


def _number_hit(folded: str, span: NumberSpan) -> _Hit | None:
    digits = span.raw.partition(".")[0]
    if digits.isdigit() and len(digits) >= _PHONE_DIGITS:
        return None
    before = folded[max(0, span.start - 6) : span.start]
    unit = _unit_after(folded, span.end)
    if _CURRENCY_BEFORE.search(before):
        unit = "price"
    elif _LATIN_BEFORE.search(before) or unit == "other":
        return None
    window = max(0, span.start - 20)
    minus = _MINUS_BEFORE.search(folded, window, span.start)
    if minus is not None:
        return _Hit(minus.start(), span.end, "minus", span.value, percent=unit == "percent")
    return None if unit == "percent" else _Hit(span.start, span.end, "yuan", span.value)


def _unit_after(folded: str, end: int) -> str | None:
    """"price", "percent" or "other" for the unit after a number; None when there is none (a bare price)."""
    rest = folded[end:]
    stripped = rest.lstrip(" ")
    lower = stripped.lower()
    for unit, kind in _UNITS_LONGEST_FIRST:
        whole_word = not (_LATIN.match(unit[-1]) and _LATIN.match(lower[len(unit) : len(unit) + 1]))
        if lower.startswith(unit) and whole_word:
            return kind
    if len(stripped) == len(rest) and _LATIN.match(stripped[:1]):
        return "other"  # glued to letters: a model number
    return None
