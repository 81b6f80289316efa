"""Numbers in chat text: Arabic digits (also full-width) and Chinese numerals, with where each one is.

Supported Chinese forms (the reading is documented here because the price guard is only as good as it):

- positional: 十 = 10, 十五, 七十五, 九十八, 一百零五, 两百, 一千二百五十, 一万二千, 一百二 = 120, 一千五 = 1500,
  一万五 = 15000 (a digit right after 百/千/万 is a tenth of it), formal 壹贰叁肆伍陆柒捌玖拾佰仟, traditional 兩萬;
- ranges: 三四十 = 30, 一两百 = 100, 七八千 = 7000: two rising digits before 十/百/千/万 read as the LOWER end, so a
  "seventy or eighty" in a draft is checked as 70;
- digit strings: 九九 = 99, 八五 = 85 (two or more digits with no unit after them, 两 excluded: it only counts);
- decimals: 九点九 = 9.9, 九十九点五 = 99.5; 三百五十块五 = 350.5, 9块9 = 9.9, 九块九毛 = 9.9; 五毛 / 五角 = 0.5.

Arabic numbers: 80, 9.90, 1,200 (ASCII comma, groups of three), and 1.5万 / 3千 / 2百.
Not numbers: a lone 一 / 两 unless a price unit follows (一下, 一点, 一个, 两句 are words), a lone 零 / 百 / 千 / 万,
the words in NUMERAL_WORDS, and anything over 12 integer digits (no price is that long).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

# Full-width ASCII (！…～) folds one character for one, so a position in the folded text is a position in the original.
# The full-width comma is kept: "80，100太贵" is two numbers, and a Chinese comma never groups thousands.
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if code != 0xFF0C}
_WIDTH.update({0x3000: ord(" "), 0xFFE5: ord("¥")})

# Units that make a number a price; also what lets a lone 一 / 两 be a number ("一块", "两元").
PRICE_UNITS: tuple[str, ...] = ("块钱", "块", "元", "毛", "角", "rmb", "yuan", "cny")

_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "兩": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
    "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_MYRIAD = {"万": 10000, "萬": 10000}
_MULTIPLIERS = {**_UNITS, **_MYRIAD}
_NUMERAL_CHARS = "".join(_DIGITS) + "".join(_MULTIPLIERS)
_LONE_WORDS = frozenset("一壹两兩")  # only numbers before a price unit
_COUNTING_ONLY = frozenset("两兩")  # never part of a digit string (一两句 is "a sentence or two")

# Words written with numeral characters that are not numbers (masked unless a numeral precedes them: 五十分钟).
NUMERAL_WORDS: tuple[str, ...] = (
    "不二价", "二维码", "三星", "十分", "十足", "百分百", "万一", "万能", "千万", "一一", "独一无二", "数一数二",
    "乱七八糟", "七七八八", "四舍五入",
)

# After 块/元 a single digit is jiao ("9块9") only when the sentence goes on like a price; "80块5个" is not 80.5.
_JIAO_FOLLOWERS = frozenset("包吧呢啊哦了吗嘛呀行出卖可的拿")
_ARABIC = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?")
_CHINESE = re.compile(f"[{_NUMERAL_CHARS}]+")
_MAX_INTEGER_DIGITS = 12


@dataclass(frozen=True)
class NumberSpan:
    """One number in a text: ``text[start:end] == raw`` (raw may include a 块五 / 五毛 that is part of the value)."""

    start: int
    end: int
    value: Decimal
    raw: str


def fold_width(text: str) -> str:
    """Full-width letters, digits and punctuation as ASCII, the same length as ``text``."""
    return text.translate(_WIDTH)


def find_numbers(text: str) -> list[NumberSpan]:
    """Every number in ``text``, in text order."""
    return _scan(text, lone_is_number=False)


def parse_number(text: str) -> Decimal | None:
    """The value of ``text`` when it is exactly one number, optionally with ¥ before and a price unit after
    ("75", "７５", "七十五块钱", "三百五十块五", "¥9.90"); None otherwise. A lone 一 / 两 counts here."""
    folded = fold_width(text).strip()
    spans = _scan(folded, lone_is_number=True)
    if len(spans) != 1:
        return None
    span = spans[0]
    rest_before, rest_after = folded[: span.start].strip(), folded[span.end :].strip().lower()
    if rest_before not in ("", "¥") or rest_after not in ("", *PRICE_UNITS):
        return None
    return span.value


def _scan(text: str, lone_is_number: bool) -> list[NumberSpan]:
    folded = _mask_words(fold_width(text))
    spans = [_arabic(folded, text, m) for m in _ARABIC.finditer(folded)]
    for run in _CHINESE.finditer(folded):
        spans.extend(_chinese_run(folded, text, run.start(), run.end(), lone_is_number))
    kept: list[NumberSpan] = []
    for span in sorted((s for s in spans if s is not None), key=lambda s: s.start):
        if not kept or span.start >= kept[-1].end:  # the 9 of "9块9" is already the jiao of the first one
            kept.append(span)
    return kept


def _mask_words(text: str) -> str:
    for word in NUMERAL_WORDS:
        start = text.find(word)
        while start >= 0:
            if start == 0 or text[start - 1] not in _NUMERAL_CHARS:
                text = text[:start] + "_" * len(word) + text[start + len(word) :]
            start = text.find(word, start + len(word))
    return text


def _arabic(folded: str, text: str, match: re.Match[str]) -> NumberSpan | None:
    raw = match.group().replace(",", "")
    if len(raw.partition(".")[0]) > _MAX_INTEGER_DIGITS:
        return None
    value, end = Decimal(raw), match.end()
    if end < len(folded) and folded[end] in _MULTIPLIERS:  # 1.5万, 3千
        value, end = value * _MULTIPLIERS[folded[end]], end + 1
    return _finish(folded, text, match.start(), end, value)


def _chinese_run(folded: str, text: str, start: int, end: int, lone_is_number: bool) -> list[NumberSpan]:
    spans: list[NumberSpan] = []
    i = start
    while i < end:
        length, value = _read(folded[i:end])
        if length == 0:
            i += 1
            continue
        stop, value = _decimal_point(folded, i + length, value)
        if stop == i + 1 and folded[i] in _LONE_WORDS and not lone_is_number and not _unit_at(folded, stop):
            i = stop
            continue
        span = _finish(folded, text, i, stop, Decimal(value))
        if span is not None:
            spans.append(span)
        i = stop
    return spans


def _read(run: str) -> tuple[int, Decimal | int]:
    """The longest number at the start of a run of numeral characters: (length, value), (0, 0) for none."""
    if len(run) >= 3 and run[0] in _DIGITS and run[1] in _DIGITS and run[2] in _MULTIPLIERS:
        low, high = _DIGITS[run[0]], _DIGITS[run[1]]
        if 0 < low < high:
            return 3, low * _MULTIPLIERS[run[2]]
    digits = 0
    while digits < len(run) and run[digits] in _DIGITS and run[digits] not in _COUNTING_ONLY:
        digits += 1
    if digits >= 2 and (digits == len(run) or run[digits] not in _MULTIPLIERS):
        return digits, int("".join(str(_DIGITS[c]) for c in run[:digits]))
    for length in range(len(run), 0, -1):
        value = _positional(run[:length])
        if value is not None:
            return length, value
    return 0, 0


def _positional(numeral: str) -> int | None:
    """十五, 一百零五, 一千二百五十, 一万二千, 一百二 (= 120); None if ``numeral`` is not one well-formed number."""
    total, section, digit = 0, 0, None
    last_unit: int | None = None  # the unit just used in this section: the next one must be smaller
    previous = tail_of = ""  # "digit", "zero", "unit" or "myriad": what came before, for 零 and the abbreviated tail
    for position, char in enumerate(numeral):
        if char in _DIGITS:
            if digit is not None or (_DIGITS[char] == 0 and previous in ("", "zero")):
                return None
            if _DIGITS[char] == 0:
                previous = "zero"
                continue
            digit, tail_of = _DIGITS[char], previous
            previous = "digit"
        elif char in _UNITS:
            unit = _UNITS[char]
            if (last_unit is not None and unit >= last_unit) or previous == "zero":
                return None
            if digit is None and not (unit == 10 and position == 0):
                return None
            section += (digit or 1) * unit
            digit, last_unit, previous = None, unit, "unit"
        else:  # 万
            section += digit or 0
            if total or not section:
                return None
            total, section, digit, last_unit, previous = section * 10000, 0, None, None, "myriad"
    if previous == "zero":
        return None
    if digit is not None:
        if tail_of == "unit" and last_unit and last_unit >= 100:
            digit *= last_unit // 10
        elif tail_of == "myriad":
            digit *= 1000
        section += digit
    return total + section


def _decimal_point(folded: str, end: int, value: Decimal | int) -> tuple[int, Decimal | int]:
    """九点九 = 9.9; "九点半" and "十二点三十" are clock times, left to the caller."""
    if not folded.startswith("点", end):
        return end, value
    stop = end + 1
    while stop < len(folded) and folded[stop] in _DIGITS:
        stop += 1
    if stop == end + 1 or (stop < len(folded) and folded[stop] in _MULTIPLIERS):
        return end, value
    fraction = "".join(str(_DIGITS[c]) for c in folded[end + 1 : stop])
    return stop, Decimal(f"{value}.{fraction}")


def _finish(folded: str, text: str, start: int, end: int, value: Decimal) -> NumberSpan | None:
    """The span with a trailing 毛/角 or 块五 folded into its value."""
    value = Decimal(value)
    if value >= 10**_MAX_INTEGER_DIGITS:
        return None
    whole = value == value.to_integral_value()
    if whole and 0 < value < 10 and end < len(folded) and folded[end] in "毛角":
        value, end = value / 10, end + 1
    elif whole and end + 1 < len(folded) and folded[end] in "块元":
        jiao = _digit_value(folded[end + 1])
        after = end + 2
        if jiao is not None:
            if after < len(folded) and folded[after] in "毛角":
                value, end = value + Decimal(jiao) / 10, after + 1
            elif after == len(folded) or not folded[after].isalnum() or folded[after] in _JIAO_FOLLOWERS:
                value, end = value + Decimal(jiao) / 10, after
    return NumberSpan(start, end, Decimal(value), text[start:end])


def _digit_value(char: str) -> int | None:
    if "0" <= char <= "9":
        return int(char)
    return _DIGITS.get(char) if char not in _COUNTING_ONLY else None


def _unit_at(folded: str, position: int) -> bool:
    return folded[position:].lower().startswith(PRICE_UNITS)
