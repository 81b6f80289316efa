"""The mtop gateway and passport: sign and token checks like the real gateway, and the APIs bots call."""

from __future__ import annotations

import json
import time

import pytest
import requests

from sim.server import Simulator, start
from tests.sim.conftest import SELLER
from tests.sim.simclient import IM_APP_KEY, TOKEN_API, Control, Seller, set_cookies, sign

DETAIL = "mtop.taobao.idle.pc.detail"
CONSIGN = "mtop.taobao.idle.logistic.consign.dummy"
ORDER_DETAIL = "mtop.idle.web.trade.order.detail"
ITEM = "900000000001"
BUYER = "3000000001"


def token_data(seller: Seller) -> dict[str, str]:
    return {"appKey": IM_APP_KEY, "deviceId": seller.device_id}


def test_signed_token_call_succeeds_without_setting_cookies(seller: Seller, control: Control) -> None:
    response = seller.mtop_raw(TOKEN_API, token_data(seller))
    answer = response.json()
    assert answer["ret"] == ["SUCCESS::调用成功"]
    assert answer["api"] == TOKEN_API and answer["v"] == "1.0"
    assert answer["data"]["accessToken"] and answer["data"]["refreshToken"]
    assert answer["data"]["accessTokenExpiredTime"] == "86400000"
    assert "Set-Cookie" not in response.headers
    assert control.account(SELLER)["tokens_issued"] == 1


def test_unknown_h5_token_fails_with_fresh_cookies_that_then_work(seller: Seller) -> None:
    seller.cookies["_m_h5_tk"] = "0123456789abcdef0123456789abcdef_1999999999999"
    response = seller.mtop_raw(TOKEN_API, token_data(seller))
    assert response.json() == {"api": TOKEN_API, "data": {}, "ret": ["FAIL_SYS_TOKEN_EXOIRED::令牌过期"], "v": "1.0"}
    headers = response.raw.headers.getlist("Set-Cookie")
    assert sorted(h.split("=", 1)[0] for h in headers) == ["_m_h5_tk", "_m_h5_tk_enc"]
    assert all("Path=/" in h and "domain" not in h.lower() for h in headers)
    seller.cookies.update(set_cookies(response))
    assert seller.mtop_raw(TOKEN_API, token_data(seller)).json()["ret"] == ["SUCCESS::调用成功"]


def test_bad_sign_is_illegal_access_without_cookies(seller: Seller) -> None:
    response = seller.mtop_raw(TOKEN_API, token_data(seller), signature="0" * 32)
    assert response.json()["ret"] == ["FAIL_SYS_ILLEGAL_ACCESS::非法请求"]
    assert "Set-Cookie" not in response.headers


def test_h5_token_expires_for_real() -> None:
    with start(h5tk_ttl=0.5) as sim:
        seller = Seller(sim.urls, SELLER)
        time.sleep(0.7)
        response = seller.mtop_raw(TOKEN_API, token_data(seller))
        assert response.json()["ret"] == ["FAIL_SYS_TOKEN_EXOIRED::令牌过期"]
        fresh = set_cookies(response)
        assert int(fresh["_m_h5_tk"].split("_")[1]) > time.time() * 1000
        seller.cookies.update(fresh)
        assert seller.mtop_raw(TOKEN_API, token_data(seller)).json()["ret"] == ["SUCCESS::调用成功"]


def test_unknown_account_is_session_expired(seller: Seller) -> None:
    seller.cookies["unb"] = "1"
    assert seller.mtop_raw(TOKEN_API, token_data(seller)).json()["ret"] == ["FAIL_SYS_SESSION_EXPIRED::Session过期"]


def test_unknown_api_is_not_founded(seller: Seller) -> None:
    assert seller.mtop("mtop.nothing.here", {})["ret"] == ["FAIL_SYS_API_NOT_FOUNDED::请求API不存在"]


def test_double_slash_path_and_get_are_accepted(seller: Seller, sim: Simulator) -> None:
    data = json.dumps({"itemId": ITEM})
    t = str(int(time.time()) * 1000)
    response = requests.get(f"{sim.urls['api']}//h5/{DETAIL}/1.0/", timeout=5, headers={"Cookie": seller.cookie_header},
                            params={"t": t, "sign": sign(seller.cookies["_m_h5_tk"].split("_")[0], t, data),
                                    "data": data})
    assert response.json()["ret"] == ["FAIL_BIZ_ITEM_NOT_FOUND::宝贝不存在"]


def test_item_detail(seller: Seller, control: Control) -> None:
    control.post("items", {"seller": SELLER, "item_id": ITEM, "title": "二手 iPhone 13", "price": "2699.00",
                           "desc": "95新", "quantity": 1,
                           "skus": [{"name": "午夜色", "price": "2699.00", "quantity": 1}]})
    item = seller.mtop(DETAIL, {"itemId": ITEM})["data"]["itemDO"]
    assert (item["title"], item["desc"], item["soldPrice"], item["quantity"]) == ("二手 iPhone 13", "95新", "2699.00", 1)
    assert item["skuList"] == [{"skuId": f"{ITEM}001", "price": 269900, "quantity": 1,
                                "propertyList": [{"propertyText": "规格", "valueText": "午夜色"}]}]


@pytest.fixture
def paid_order(seller: Seller, control: Control) -> str:
    control.post("items", {"seller": SELLER, "item_id": ITEM, "title": "会员兑换码", "price": "15.00", "desc": "",
                           "quantity": 9})
    return control.post("orders", {"seller": SELLER, "buyer": BUYER, "item_id": ITEM, "status": "paid",
                                   "quantity": 3})["order_id"]


@pytest.mark.parametrize("key", ["tid", "orderId"])
def test_order_detail(seller: Seller, paid_order: str, key: str) -> None:
    data = seller.mtop(ORDER_DETAIL, {key: paid_order})["data"]
    info = next(c["data"] for c in data["components"] if c["render"] == "orderInfoVO")
    assert info["itemInfo"] == {"buyAmount": 3, "itemId": ITEM, "title": "会员兑换码"}
    assert info["priceInfo"]["amount"]["value"] == "45.00"
    assert data["status"] == "paid"


def test_consign_dummy_records_a_shipment_once(seller: Seller, control: Control, paid_order: str) -> None:
    body = {"orderId": paid_order, "tradeText": "", "picList": [], "newUnconsign": True}
    assert seller.mtop(CONSIGN, body)["ret"] == ["SUCCESS::调用成功"]
    assert control.account(SELLER)["shipments"] == [paid_order]
    assert control.get("orders", seller=SELLER)["orders"][0]["status"] == "shipped"
    assert seller.mtop(CONSIGN, body)["ret"][0].startswith("FAIL_BIZ_ORDER_STATUS_ERROR")
    other = Seller(seller.urls, "2200000000002")
    assert other.mtop(CONSIGN, body)["ret"][0].startswith("FAIL_BIZ_ORDER_NOT_EXIST")


def test_item_list(seller: Seller, control: Control) -> None:
    control.post("items", {"seller": SELLER, "item_id": ITEM, "title": "卡带", "price": "259", "quantity": 2})
    cards = seller.mtop("mtop.idle.web.xyh.item.list", {"pageNumber": 1, "userId": SELLER})["data"]["cardList"]
    assert [(c["cardData"]["id"], c["cardData"]["priceInfo"]["price"]) for c in cards] == [(ITEM, "259.00")]


def test_has_login_refreshes_session_cookies(seller: Seller, sim: Simulator) -> None:
    url = f"{sim.urls['passport']}/newlogin/hasLogin.do?appName=xianyu&fromSite=77"
    form = {"hid": SELLER, "hsiz": seller.cookies["cookie2"], "appName": "xianyu", "fromSite": "77"}
    response = requests.post(url, data=form, headers={"Cookie": seller.cookie_header}, timeout=5)
    assert response.json()["content"]["success"] is True and response.json()["hasError"] is False
    assert set(set_cookies(response)) == {"cookie2", "sgcookie"}
    stranger = requests.post(url, data={"hid": "42"}, timeout=5)
    assert stranger.json()["content"]["success"] is False and "Set-Cookie" not in stranger.headers
