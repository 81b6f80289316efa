"""Off-platform steering in a reply: contact handles, phone numbers, links, "let's deal privately".

Goofish penalises sellers whose messages move a buyer off the platform, and a manipulated model is the easiest way
for a buyer to get a seller to do it. Text is NFKC-folded (full-width letters and digits become ASCII) and
zero-width characters are dropped before matching, case-insensitively.

Links: only goofish.com and its subdomains are allowed (an item's own page); 2.taobao.com, m.tb.cn, t.cn and every
other host are refused — a Taobao link is exactly the off-platform move this filter exists to stop.
Each built-in pattern is one named group; the name is what ``contact_problem`` reports.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_HOST_CHARS = r"[a-z0-9-]"
_NOT_GOOFISH = rf"(?!(?:{_HOST_CHARS}+\.)*goofish\.com(?![a-z0-9.-]))"
_TLDS = "com|cn|net|org|cc|me|io|top|xyz|vip|info|co|shop|link|app|site|tv|ly"

DEFAULT_CONTACT_PATTERNS: tuple[str, ...] = (
    r"(?P<WeChat>微\s*信|威\s*信|薇\s*信|维\s*信|徽\s*信|(?<![a-z])(?:v\s*信|vx|wx|wechat|weixin)(?![a-z]))",
    r"(?P<add_me>加\s*(?:个|一下|下)?\s*(?:微|威|薇|v|q|扣)(?![a-z])|加我)",
    r"(?P<QQ>(?<![a-z])qq(?![a-z])|扣扣|企鹅号)",
    r"(?P<phone>电话|手机号)",
    r"(?P<phone_number>(?<!\d)1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)|\d{7,})",
    rf"(?P<link>https?://{_NOT_GOOFISH}\S+|(?<![a-z0-9.-]){_NOT_GOOFISH}(?:{_HOST_CHARS}+(?:\.{_HOST_CHARS}+)*"
    rf"\.(?:{_TLDS})|www\.{_HOST_CHARS}+)(?![a-z0-9-]))",
    r"(?P<off_platform>支付宝转账|直接转账|转账给我|线下交易|线下付款|私下|淘宝链接)",
)

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def compile_patterns(extra: Sequence[str], builtin: bool = True) -> tuple[re.Pattern[str], ...]:
    """The built-in patterns (unless ``builtin`` is False) and the seller's ``extra`` ones, case-insensitive;
    a bad extra pattern raises ``re.error``."""
    sources = (*DEFAULT_CONTACT_PATTERNS, *extra) if builtin else tuple(extra)
    return tuple(re.compile(source, re.IGNORECASE) for source in sources)


def contact_problem(text: str, patterns: Sequence[re.Pattern[str]]) -> str | None:
    """What in ``text`` steers off the platform ("mentions WeChat (微信)"), or None."""
    folded = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    for pattern in patterns:
        match = pattern.search(folded)
        if match is not None:
            label = next(iter(pattern.groupindex), None)
            what = label.replace("_", " ") if label else f"the pattern {pattern.pattern!r}"
            return f"mentions {what} ({match.group()})"
    return None
