"""Every passport and mtop answer the client must tell apart, classified by the client's own parsers
(core/goofish/passport.py, mtop.py, errors.py).

goofish-vectors.json holds no passport or mtop bodies (only IM payloads), so each answer here is one the
simulator actually serves, captured in the test from a running sim over a real socket: the QR states NEW,
SCANED, CONFIRMED (with cookies), CONFIRMED with iframeRedirect, EXPIRED, CANCELED; mtop TOKEN_EXOIRED,
SESSION_EXPIRED and RGV587 with its punish URL; hasLogin alive and dead. The ret strings are also checked against
goofish-protocol.md §1.2 / §7, so a sim drifting from the spec fails here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from core.goofish.cookies import CookieJar
from core.goofish.endpoints import Endpoints
from core.goofish.errors import RiskControl, SessionExpired, TokenExpired, classify_ret
from core.goofish.mtop import MtopClient
from core.goofish.passport import PassportQr, QrCode, QrStatus
from sim.server import start
from tests.sim.simclient import IM_APP_KEY, Control, Seller

SELLER = "2200000000123"
ITEM_LIST = "mtop.idle.web.xyh.item.list"
TOKEN_API = "mtop.taobao.idlemessage.pc.login.token"
DAY_MS = 86_400_000
# goofish-protocol.md §1.2 and §7, verbatim (the platform's own "EXOIRED").
TOKEN_RET = ["FAIL_SYS_TOKEN_EXOIRED::令牌过期"]
SESSION_RET = ["FAIL_SYS_SESSION_EXPIRED::Session过期"]
RISK_RET = ["FAIL_SYS_USER_VALIDATE", "RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试"]


@dataclass(frozen=True)
class Sim:
    """A running simulator as the client sees it (endpoints), as the tests drive it (control), and a seller."""

    endpoints: Endpoints
    control: Control
    seller: Seller


@pytest.fixture
def sim() -> Iterator[Sim]:
    with start(seed=3) as simulator:
        urls = simulator.urls
        yield Sim(Endpoints(urls["ws"], urls["api"], urls["passport"]), Control(urls), Seller(urls, SELLER))


# ------------------------------------------------------------------------------------------------ QR login


class Qr:
    """The client's PassportQr on one code, the phone played by the control API."""

    def __init__(self, endpoints: Endpoints, control: Control) -> None:
        self.base = endpoints.passport
        self.client = PassportQr(endpoints)
        self.control = control
        self.code: QrCode = self.client.generate()

    def phone(self, action: str, **extra: Any) -> None:
        self.control.post("qr", {"t": self.code.t, "action": action, **extra})

    def poll(self) -> QrStatus:
        return self.client.query(self.code)


@pytest.fixture
def qr(sim: Sim) -> Qr:
    return Qr(sim.endpoints, sim.control)


def test_qr_new(qr: Qr) -> None:
    assert qr.poll() == QrStatus("NEW")


def test_qr_scaned(qr: Qr) -> None:
    qr.phone("scan")
    assert qr.poll() == QrStatus("SCANED")


def test_qr_confirmed_brings_the_login_cookies(qr: Qr) -> None:
    qr.phone("scan")
    qr.phone("confirm", unb=SELLER, nick="卖家")
    assert qr.poll() == QrStatus("CONFIRMED")
    jar = qr.client.jar
    assert jar.unb == SELLER and {"cookie2", "_m_h5_tk", "_m_h5_tk_enc", "havana_lgc2_77"} <= set(jar.names())


def test_qr_confirmed_with_iframe_redirect_is_a_check_without_cookies(qr: Qr) -> None:
    qr.phone("phone_check")
    qr.phone("confirm", unb=SELLER, nick="卖家")
    status = qr.poll()
    assert status.status == "CONFIRMED" and status.check_url
    assert status.check_url.startswith(qr.base) and "ivToken=" in status.check_url
    assert "unb" not in qr.client.jar and "cookie2" not in qr.client.jar


def test_qr_expired(qr: Qr) -> None:
    qr.control.post("clock", {"advance_ms": 300_000})
    status = qr.poll()
    assert status.status == "EXPIRED" and status.message and status.check_url is None


def test_qr_canceled(qr: Qr) -> None:
    qr.phone("scan")
    qr.phone("cancel")
    status = qr.poll()
    assert status.status == "CANCELED" and status.message and status.check_url is None


# ------------------------------------------------------------------------------------------------ mtop


def _client(sim: Sim) -> MtopClient:
    return MtopClient(CookieJar.parse(sim.seller.cookie_header), sim.endpoints)


def test_mtop_token_exoired(sim: Sim) -> None:
    sim.control.fault(SELLER, "token_expired", 1)
    body = sim.seller.mtop_raw(ITEM_LIST, {"userId": SELLER}).json()
    assert body["ret"] == TOKEN_RET
    assert isinstance(classify_ret(ITEM_LIST, body["ret"], body["data"]), TokenExpired)
    sim.control.fault(SELLER, "token_expired", 2)   # the client retries once with the fresh token, then gives up
    with pytest.raises(TokenExpired):
        _client(sim).call(ITEM_LIST, {"userId": SELLER})


def test_mtop_session_expired(sim: Sim) -> None:
    sim.control.post("clock", {"advance_ms": DAY_MS + 1000})   # the login's session (cookie2) is over
    body = sim.seller.mtop_raw(ITEM_LIST, {"userId": SELLER}).json()
    assert body["ret"] == SESSION_RET
    assert isinstance(classify_ret(ITEM_LIST, body["ret"], body["data"]), SessionExpired)
    with pytest.raises(SessionExpired):
        _client(sim).call(ITEM_LIST, {"userId": SELLER})


def test_mtop_rgv587_with_its_punish_url(sim: Sim) -> None:
    sim.control.fault(SELLER, "risk_control", 1)
    body = sim.seller.mtop(TOKEN_API, {"appKey": IM_APP_KEY, "deviceId": sim.seller.device_id})
    assert body["ret"] == RISK_RET and "/_____tmd_____/punish?x5secdata=" in body["data"]["url"]
    error = classify_ret(TOKEN_API, body["ret"], body["data"])
    assert isinstance(error, RiskControl) and error.url == body["data"]["url"]
    with pytest.raises(RiskControl) as raised:
        _client(sim).login_token(sim.seller.device_id)
    assert raised.value.url is not None and "punish?x5secdata=" in raised.value.url


# ------------------------------------------------------------------------------------------------ hasLogin


def test_has_login_alive_renews_the_session(sim: Sim) -> None:
    jar = CookieJar.parse(sim.seller.cookie_header)
    assert MtopClient(jar, sim.endpoints).has_login() is True
    assert jar.get("cookie2") != sim.seller.cookies["cookie2"], "the fresh session was merged"


def test_has_login_dead_is_session_expired(sim: Sim) -> None:
    sim.control.post("clock", {"advance_ms": DAY_MS + 1000})
    with pytest.raises(SessionExpired):
        _client(sim).has_login()
