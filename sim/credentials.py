"""Everything the sim issues to prove who a client is: mtop `_m_h5_tk` tokens, IM access tokens, slider tickets.
(The login itself, sessions and long logins, is sim/logins.py; `login_cookie` wraps it in a browser's jar.)

- `_m_h5_tk` = `<32 hex>_<expiry ms>` with its `_m_h5_tk_enc`; valid for the account it was issued to until expiry.
- IM accessToken: bound to (unb, deviceId, expiry); `/reg` must present it with the same `did`.
- Slider: a punish URL carries `x5secdata` (one-shot: redeemed by the first successful slide); the slide yields an
  `x5sec` cookie bound to the account and the slide's User-Agent, spent by the first risk-checked call it unlocks.

Not thread-safe: only used inside a state transaction (under the state lock).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import quote

from sim.ids import Ids

GATEWAY_HOST = "h5api.m.goofish.com:443"


def parse_cookie_header(header: str) -> dict[str, str]:
    """`a=1; b=2` → {"a": "1", "b": "2"}. The first of duplicate names wins, as most gateways read it."""
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in cookies:
            cookies[name] = value
    return cookies


@dataclass(frozen=True)
class H5Token:
    unb: str
    token: str
    enc: str
    expires_ms: int

    @property
    def cookie_value(self) -> str:
        return f"{self.token}_{self.expires_ms}"


@dataclass(frozen=True)
class AccessToken:
    value: str
    unb: str
    device_id: str
    expires_ms: int
    refresh: str


@dataclass(frozen=True)
class PunishTicket:
    data: str           # the x5secdata query value, "<opaque>__bx__<gateway>/h5/<api>/<v>"
    unb: str


@dataclass(frozen=True)
class X5Sec:
    value: str
    unb: str
    user_agent: str


class Credentials:
    def __init__(self, ids: Ids, h5tk_ttl_ms: int, token_ttl_ms: int) -> None:
        self._ids = ids
        self._h5tk_ttl_ms = h5tk_ttl_ms
        self.token_ttl_ms = token_ttl_ms
        self._h5: dict[str, H5Token] = {}
        self._access: dict[str, AccessToken] = {}
        self._tickets: dict[str, PunishTicket] = {}
        self._x5sec: dict[str, X5Sec] = {}

    # -- mtop tokens --------------------------------------------------------------------------------------------
    def issue_h5(self, unb: str, now_ms: int) -> H5Token:
        self._h5 = {k: t for k, t in self._h5.items() if t.expires_ms > now_ms}
        issued = H5Token(unb, self._ids.hex(32), self._ids.hex(32), now_ms + self._h5tk_ttl_ms)
        self._h5[issued.token] = issued
        return issued

    def h5_valid(self, unb: str, token: str, now_ms: int) -> bool:
        issued = self._h5.get(token)
        return issued is not None and issued.unb == unb and issued.expires_ms > now_ms

    # -- IM access tokens ---------------------------------------------------------------------------------------
    def issue_access(self, unb: str, device_id: str, now_ms: int) -> AccessToken:
        self._access = {k: t for k, t in self._access.items() if t.expires_ms > now_ms}
        token = AccessToken(self._ids.opaque(64), unb, device_id, now_ms + self.token_ttl_ms, self._ids.opaque(64))
        self._access[token.value] = token
        return token

    def access(self, value: str, now_ms: int) -> AccessToken | None:
        token = self._access.get(value)
        return token if token is not None and token.expires_ms > now_ms else None

    def revoke_access(self, unb: str) -> None:
        self._access = {k: t for k, t in self._access.items() if t.unb != unb}

    # -- slider -------------------------------------------------------------------------------------------------
    def punish_ticket(self, unb: str, api: str, version: str) -> PunishTicket:
        ticket = PunishTicket(f"{self._ids.opaque(86)}__bx__{GATEWAY_HOST}/h5/{api}/{version}", unb)
        self._tickets[ticket.data] = ticket
        return ticket

    def ticket(self, data: str) -> PunishTicket | None:
        return self._tickets.get(data)

    def redeem(self, ticket: PunishTicket, user_agent: str) -> X5Sec:
        """A successful slide: the ticket is used up and an x5sec bound to the browser's UA is issued."""
        del self._tickets[ticket.data]
        blob = {"s;2": self._ids.hex(16),
                "aserver;3": "0|" + base64.b64encode(self._ids.opaque(90).encode()).decode("ascii")}
        x5sec = X5Sec(json.dumps(blob, separators=(",", ":")).encode().hex(), ticket.unb, user_agent)
        self._x5sec[x5sec.value] = x5sec
        return x5sec

    def spend_x5sec(self, value: str, unb: str, user_agent: str) -> bool:
        """True (and used up) if `value` was issued to `unb` by a slide made with the same User-Agent."""
        x5sec = self._x5sec.get(value)
        if x5sec is None or x5sec.unb != unb or x5sec.user_agent != user_agent:
            return False
        del self._x5sec[value]
        return True

    # -- the login cookie ---------------------------------------------------------------------------------------
    def login_cookie(self, unb: str, nick: str, now_ms: int, login: dict[str, str]) -> str:
        """A full cookie string like a logged-in browser's: a fresh `_m_h5_tk` pair around `login`, the session
        (`cookie2`, `sgcookie`) and long login (`havana_lgc2_77`, ...) cookies sim/logins.py issued."""
        h5 = self.issue_h5(unb, now_ms)
        ids = self._ids
        cookies = {
            "cna": ids.chars(24),
            "t": ids.hex(32),
            "tracknick": quote(nick),
            "unb": unb,
            "cookie2": login["cookie2"],
            "_tb_token_": ids.hex(13),
            "XSRF-TOKEN": ids.uuid(),
            "sgcookie": login["sgcookie"],
            "_m_h5_tk": h5.cookie_value,
            "_m_h5_tk_enc": h5.enc,
            **{name: value for name, value in login.items() if name not in ("cookie2", "sgcookie")},
        }
        return "; ".join(f"{k}={v}" for k, v in cookies.items())
