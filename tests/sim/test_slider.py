"""Risk control end to end without a browser: punish URL → slider page → trajectory → x5sec → token again."""

from __future__ import annotations

import json
import random
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sim.slider import DISTANCE, judge
from tests.sim.conftest import SELLER
from tests.sim.simclient import IM_APP_KEY, TOKEN_API, Control, Seller, set_cookies

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
RISK = ["FAIL_SYS_USER_VALIDATE", "RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试"]


def human_trajectory(seed: int = 1) -> list[dict[str, float]]:
    rng = random.Random(seed)
    points, t = [{"x": 0.0, "y": 0.0, "t": 0.0}], 0.0
    steps = 30
    for i in range(1, steps + 1):
        t += rng.uniform(12, 40)
        progress = 1 - (1 - i / steps) ** 3        # ease-out, like a hand slowing down at the end
        points.append({"x": round(DISTANCE * progress, 1), "y": round(rng.uniform(-2, 2), 1), "t": round(t)})
    return points


def token_call(seller: Seller, ua: str = BROWSER_UA) -> dict:
    return seller.mtop(TOKEN_API, {"appKey": IM_APP_KEY, "deviceId": seller.device_id}, ua=ua)


def slide(seller: Seller, punish_url: str, trajectory: list[dict[str, float]],
          ua: str = BROWSER_UA) -> requests.Response:
    x5secdata = parse_qs(urlsplit(punish_url).query)["x5secdata"][0]
    return requests.post(f"{seller.urls['api']}/_____tmd_____/slide", json={"x5secdata": x5secdata,
                         "trajectory": trajectory}, headers={"User-Agent": ua}, timeout=5)


@pytest.fixture
def flagged(seller: Seller, control: Control) -> str:
    """Risk-flag the seller; returns the punish URL of the first blocked token call."""
    control.fault(SELLER, "risk_control", 1)
    answer = token_call(seller)
    assert answer["ret"] == RISK
    return answer["data"]["url"]


def test_punish_url_has_the_real_shape(seller: Seller, flagged: str) -> None:
    api = re.escape(seller.urls["api"])
    assert re.fullmatch(rf"{api}/h5/{TOKEN_API}/1\.0/_____tmd_____/punish\?x5secdata=[\w-]+__bx__"
                        rf"h5api\.m\.goofish\.com:443/h5/{TOKEN_API}/1\.0&x5step=2&action=captcha&pureCaptcha=",
                        flagged)
    detail = seller.mtop("mtop.taobao.idle.pc.detail", {"itemId": "1"})
    assert detail["ret"] == RISK and "/h5/mtop.taobao.idle.pc.detail/1.0/_____tmd_____/punish?" in detail["data"]["url"]


VOID = ("meta", "br", "img", "input", "link")


class _Tree(HTMLParser):
    """Every element as (its own selectors, its ancestors' selectors), plus the title and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[set[str]] = []
        self.elements: list[tuple[set[str], list[set[str]]]] = []
        self.text: list[str] = []
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        selectors = {tag} | {f".{c}" for c in (values.get("class") or "").split()}
        if values.get("id"):
            selectors.add(f"#{values['id']}")
        self.elements.append((selectors, list(self.stack)))
        if tag not in VOID:
            self.stack.append(selectors)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        inner = self.stack[-1] if self.stack else set()
        if "title" in inner:
            self.title += data
        elif not inner & {"script", "style"}:
            self.text.append(data)

    def element(self, selector: str) -> tuple[set[str], list[set[str]]]:
        return next(e for e in self.elements if selector in e[0])

    def parent_has(self, selector: str, parent: str) -> bool:
        return parent in self.element(selector)[1][-1]

    def inside(self, selector: str, *ancestors: str) -> bool:
        chain = self.element(selector)[1]
        return all(any(a in level for level in chain) for a in ancestors)


@pytest.mark.parametrize("prefix", ["", "/"])
def test_slider_page_has_the_nocaptcha_dom(seller: Seller, flagged: str, prefix: str) -> None:
    url = flagged.replace("/h5/", prefix + "/h5/", 1)
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    tree = _Tree()
    tree.feed(page.text)
    text = "".join(tree.text)
    assert tree.title == "验证码拦截"
    assert "滑块" in text and "请按住滑块，拖动到最右边" in text and "验证失败，点击框体重试" in text
    assert {"span", "#nc_1_n1z", ".nc_iconfont", ".btn_slide"} <= tree.element("#nc_1_n1z")[0]
    assert {"#nc_1_n1t", ".nc_scale"} <= tree.element("#nc_1_n1t")[0]
    assert tree.parent_has("#nc_1_n1z", "#nc_1_n1t")
    assert tree.parent_has("#nc_1_n1t", "#nc_1_wrapper") and tree.parent_has("#nc_1__bg", "#nc_1_wrapper")
    assert tree.inside("#nc_1_wrapper", ".nc-container")
    assert tree.parent_has(".nc-lang-cnt", "#nc_1__scale_text")
    assert ".errloading" in tree.element("#nc_1_refresh1")[0]
    assert 'fetch("/_____tmd_____/slide"' in page.text


def test_human_slide_unlocks_the_token_for_the_same_user_agent_only(seller: Seller, control: Control,
                                                                    flagged: str) -> None:
    solved = slide(seller, flagged, human_trajectory())
    assert solved.status_code == 200 and solved.json()["success"] is True
    (header,) = solved.raw.headers.getlist("Set-Cookie")
    assert header.startswith("x5sec=") and "Path=/" in header and "domain" not in header.lower()
    x5sec = set_cookies(solved)["x5sec"]
    assert set(json.loads(bytes.fromhex(x5sec))) == {"s;2", "aserver;3"}
    seller.cookies["x5sec"] = x5sec
    assert token_call(seller, ua="SomeOtherAgent/1.0")["ret"] == RISK
    assert token_call(seller)["ret"] == ["SUCCESS::调用成功"]
    assert token_call(seller, ua="SomeOtherAgent/1.0")["ret"] == ["SUCCESS::调用成功"]    # no longer flagged
    state = control.account(SELLER)
    assert (state["slides_attempted"], state["slides_accepted"], state["x5sec_issued"]) == (1, 1, 1)
    assert state["faults"]["risk_control"] == {"remaining": 0, "fired": 2}


def test_a_punish_url_is_one_shot(seller: Seller, flagged: str) -> None:
    assert slide(seller, flagged, human_trajectory()).status_code == 200
    again = slide(seller, flagged, human_trajectory(2))
    assert again.status_code == 400 and again.json()["success"] is False


def test_count_is_the_number_of_solves_needed(seller: Seller, control: Control) -> None:
    control.fault(SELLER, "risk_control", 2)
    for round_ in (1, 2):
        answer = token_call(seller)
        assert answer["ret"] == RISK, round_
        seller.cookies.update(set_cookies(slide(seller, answer["data"]["url"], human_trajectory(round_))))
    assert token_call(seller)["ret"] == ["SUCCESS::调用成功"]


def test_slider_reject_rejects_good_slides(seller: Seller, control: Control, flagged: str) -> None:
    control.fault(SELLER, "slider_reject", 1)
    assert slide(seller, flagged, human_trajectory()).status_code == 400
    assert slide(seller, flagged, human_trajectory()).status_code == 200     # the ticket survives a failure
    assert control.account(SELLER)["faults"]["slider_reject"] == {"remaining": 0, "fired": 1}


def test_robotic_slides_are_rejected_over_http(seller: Seller, flagged: str) -> None:
    uniform = [{"x": DISTANCE * i / 20, "y": 0, "t": 20 * i} for i in range(21)]
    answer = slide(seller, flagged, uniform)
    assert answer.status_code == 400 and answer.json()["reason"]


@pytest.mark.parametrize("change, reason", [
    (lambda p: p[:5], "too few mouse moves"),
    (lambda p: [{**q, "t": q["t"] / 10} for q in p], "too fast"),
    (lambda p: [{**q, "y": 0} for q in p], "no vertical jitter"),
    (lambda p: [{**q, "t": 30 * i} for i, q in enumerate(p)], "perfectly uniform timing"),
    (lambda p: p[:1] + [{"x": DISTANCE, "y": 1, "t": 400 + i} for i in range(12)], "the slider jumped"),
    (lambda p: [{**q, "x": q["x"] / 2} for q in p], "the slider did not reach the end (it stopped at 130 of 260 px)"),
    (lambda p: "nonsense", "malformed trajectory"),
])
def test_judge_names_what_looks_robotic(change, reason: str) -> None:
    assert judge(human_trajectory()) is None
    assert judge(change(human_trajectory())) == reason
