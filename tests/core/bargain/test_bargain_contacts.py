"""The off-platform filter: contacts, phone numbers and links are caught; ordinary selling talk is not."""

from __future__ import annotations

import re

import pytest

from core.bargain.contacts import compile_patterns, contact_problem

BUILTIN = compile_patterns([])


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("微信 abc123", "WeChat"),
        ("加我威信聊", "WeChat"),
        ("薇信", "WeChat"),
        ("微\u200b信", "WeChat"),  # a zero-width space does not hide it
        ("VX: abc", "WeChat"),
        ("vx", "WeChat"),
        ("ｗｘ123", "WeChat"),  # full-width
        ("V信", "WeChat"),
        ("WeChat me", "WeChat"),
        ("加v", "add me"),
        ("加个q", "add me"),
        ("加我", "add me"),
        ("QQ 12345678", "QQ"),
        ("扣扣", "QQ"),
        ("留个电话", "phone"),
        ("手机号发我", "phone"),
        ("13812345678", "phone number"),
        ("138 1234 5678", "phone number"),
        ("138-1234-5678", "phone number"),
        ("１３８１２３４５６７８", "phone number"),
        ("010-12345678", "phone number"),
        ("http://x.cn", "link"),
        ("https://example.com/a", "link"),
        ("www.abc.com", "link"),
        ("t.cn/abcd", "link"),
        ("m.tb.cn/h.abc", "link"),
        ("2.taobao.com/item", "link"),
        ("https://goofish.com.evil.cn/x", "link"),
        ("去 shop.xyz 看看", "link"),
        ("支付宝转账给你", "off platform"),
        ("我们线下交易吧", "off platform"),
        ("私下聊", "off platform"),
        ("发你淘宝链接", "off platform"),
    ],
)
def test_caught(text: str, label: str) -> None:
    problem = contact_problem(text, BUILTIN)
    assert problem is not None and problem.startswith(f"mentions {label} ("), problem


def test_the_reason_names_what_matched() -> None:
    assert contact_problem("有事加微信", BUILTIN) == "mentions WeChat (微信)"


@pytest.mark.parametrize(
    "text",
    [
        "包邮的",
        "拍下就发",
        "型号RTX4090",
        "价格80元",
        "9.9元包邮",
        "iPhone15 128G 99新",
        "2024-05-01发货",
        "https://www.goofish.com/item?id=123456",
        "h5.m.goofish.com/item",
        "好的亲，今天下午发顺丰",
        "vivo手机",
        "加价不卖",
    ],
)
def test_not_caught(text: str) -> None:
    assert contact_problem(text, BUILTIN) is None


def test_extra_patterns() -> None:
    patterns = compile_patterns([r"抖音", r"(?P<Telegram>telegram|tg)"])
    assert contact_problem("抖音找我", patterns) == "mentions the pattern '抖音' (抖音)"
    assert contact_problem("TG: @x", patterns) == "mentions Telegram (TG)"
    assert contact_problem("微信", compile_patterns(["抖音"], builtin=False)) is None


def test_a_bad_extra_pattern_raises() -> None:
    with pytest.raises(re.error):
        compile_patterns(["(unclosed"])
