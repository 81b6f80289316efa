"""Endpoints: the live hosts, URL building, validation, and the two user agents."""

from __future__ import annotations

import pytest

from core.goofish.endpoints import DEFAULT_UA, DINGTALK_UA, LIVE, Endpoints, im_user_agent


def test_live() -> None:
    assert Endpoints("wss://wss-goofish.dingtalk.com/", "https://h5api.m.goofish.com", "https://passport.goofish.com") == LIVE
    assert LIVE.ca is None
    assert LIVE.mtop_url("mtop.taobao.idle.pc.detail", "1.0") == "https://h5api.m.goofish.com/h5/mtop.taobao.idle.pc.detail/1.0/"
    assert LIVE.has_login_url() == "https://passport.goofish.com/newlogin/hasLogin.do?appName=xianyu&fromSite=77"


def test_local_endpoints_with_trailing_slashes() -> None:
    local = Endpoints("ws://127.0.0.1:9000/", "http://127.0.0.1:9001/", "http://127.0.0.1:9001/", ca="/tmp/ca.pem")
    assert local.mtop_url("a.b", "2.0") == "http://127.0.0.1:9001/h5/a.b/2.0/"
    assert local.has_login_url().startswith("http://127.0.0.1:9001/newlogin/")


@pytest.mark.parametrize(
    ("ws", "api", "passport"),
    [
        ("http://127.0.0.1/", "http://127.0.0.1", "http://127.0.0.1"),
        ("ws://127.0.0.1/", "ws://127.0.0.1", "http://127.0.0.1"),
        ("ws://127.0.0.1/", "http://127.0.0.1", "127.0.0.1"),
        ("ws:///", "http://127.0.0.1", "http://127.0.0.1"),
    ],
)
def test_bad_endpoints(ws: str, api: str, passport: str) -> None:
    with pytest.raises(ValueError):
        Endpoints(ws, api, passport)


def test_user_agents() -> None:
    assert DEFAULT_UA == (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/133.0.0.0 Safari/537.36"
    )
    assert DINGTALK_UA == (
        DEFAULT_UA + " DingTalk(2.1.5) OS(Windows/10) Browser(Chrome/133.0.0.0) DingWeb/2.1.5 IMPaaS DingWeb/2.1.5"
    )
    assert im_user_agent("UA/1") == "UA/1 DingTalk(2.1.5) OS(Windows/10) Browser(Chrome/133.0.0.0) DingWeb/2.1.5 IMPaaS DingWeb/2.1.5"
