"""classify_ret: every documented mtop failure maps to its exception; messages stay free of secrets."""

from __future__ import annotations

from typing import Any

import pytest

from core.goofish.errors import (
    ApiError,
    FrameError,
    GoofishError,
    IllegalRequest,
    RiskControl,
    SessionExpired,
    TokenExpired,
    TransportError,
    classify_ret,
)

API = "mtop.taobao.idlemessage.pc.login.token"
PUNISH = (
    "https://h5api.m.goofish.com/h5/mtop.taobao.idlemessage.pc.login.token/1.0/_____tmd_____/punish"
    "?x5secdata=SECRETx5data__bx__h5api.m.goofish.com:443/h5/x/1.0&x5step=2&action=captcha&pureCaptcha="
)


def test_tree() -> None:
    for cls in (TokenExpired, RiskControl, SessionExpired, IllegalRequest):
        assert issubclass(cls, ApiError)
    for cls in (ApiError, TransportError, FrameError):
        assert issubclass(cls, GoofishError)
    assert issubclass(FrameError, ValueError)


@pytest.mark.parametrize(
    "ret",
    [["SUCCESS::调用成功"], ["FAIL_BIZ::x", "SUCCESS::调用成功"]],
)
def test_success(ret: list[str]) -> None:
    assert classify_ret(API, ret, {"accessToken": "x"}) is None


@pytest.mark.parametrize(
    ("ret", "data", "expected"),
    [
        (["FAIL_SYS_TOKEN_EXOIRED::令牌过期"], {}, TokenExpired),
        (["FAIL_SYS_TOKEN_EMPTY::令牌为空"], {}, TokenExpired),
        (["FAIL_SYS_TOKEN_ILLEGAL::非法令牌"], None, TokenExpired),
        (["FAIL_SYS_SESSION_EXPIRED::Session过期"], {}, SessionExpired),
        (["FAIL_SYS_SESSION_EXPIRED"], {}, SessionExpired),
        (["FAIL_BIZ::Session过期"], {}, SessionExpired),
        (["FAIL_SYS_ILLEGAL_ACCESS::非法请求"], {}, IllegalRequest),
        (["FAIL_SYS_USER_VALIDATE", "RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试"], {"url": PUNISH}, RiskControl),
        (["RGV587_ERROR::SM"], {}, RiskControl),
        (["FAIL::哎哟喂，被挤爆啦，请稍后重试"], {}, RiskControl),
        (["FAIL::哎哟喂,被挤爆啦,请稍后重试"], {}, RiskControl),
        (["FAIL::挤爆了"], {}, RiskControl),
        (["FAIL::see punish?x5secdata=abc"], {}, RiskControl),
        (["FAIL_BIZ_SOMETHING::x"], {"url": "https://h5api.m.goofish.com/validate/x"}, RiskControl),
        (["FAIL_BIZ_SOMETHING::x"], {"url": "https://example.com/captcha"}, RiskControl),
        (["FAIL_BIZ_ITEM_NOT_FOUND::商品不存在"], {"url": "https://www.goofish.com/item"}, ApiError),
        ([], {}, ApiError),
        ("not a list", {}, ApiError),
        (None, None, ApiError),
    ],
)
def test_failures(ret: Any, data: Any, expected: type[ApiError]) -> None:
    error = classify_ret(API, ret, data)
    assert type(error) is expected
    assert error is not None and error.api == API


def test_risk_control_keeps_url_but_message_hides_its_query() -> None:
    error = classify_ret(API, ["FAIL_SYS_USER_VALIDATE", "RGV587_ERROR::SM::哎哟喂,被挤爆啦"], {"url": PUNISH})
    assert isinstance(error, RiskControl)
    assert error.url == PUNISH
    assert error.ret == ["FAIL_SYS_USER_VALIDATE", "RGV587_ERROR::SM::哎哟喂,被挤爆啦"]
    assert "SECRETx5data" not in str(error)
    assert "h5api.m.goofish.com" in str(error)


def test_risk_without_url() -> None:
    error = classify_ret(API, ["RGV587_ERROR::SM"], {"url": 5})
    assert isinstance(error, RiskControl) and error.url is None


def test_message_names_api_and_codes() -> None:
    error = ApiError(["FAIL_X::y"], "some.api", detail="more")
    assert str(error) == "some.api: FAIL_X::y; more"
    assert str(ApiError([], "some.api")) == "some.api: failed"
