"""LWP frame envelopes the IM server sends (goofish-protocol.md §3.1, §3.4, vector java_reg_response).

Replies carry the request's `mid` and a `code`, no `lwp`; pushes carry `lwp` and a fresh server mid, no `code`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sim.pushlog import DataItem

IM_APP_KEY = "444e9908a51d1cb236a27862abc769c9"
DINGTALK_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/133.0.0.0 Safari/537.36 DingTalk(2.1.5) OS(Windows/10) Browser(Chrome/133.0.0.0) "
               "DingWeb/2.1.5 IMPaaS DingWeb/2.1.5")

Frame = dict[str, Any]


def encode(frame: Frame) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def reply(mid: str, code: int = 200, body: dict[str, Any] | None = None) -> Frame:
    frame: Frame = {"headers": {"mid": mid}, "code": code}
    if body is not None:
        frame["body"] = body
    return frame


def error(mid: str, code: int, reason: str) -> Frame:
    return reply(mid, code, {"reason": reason})


@dataclass(frozen=True)
class RegIdentity:
    """What the server tells a client about its registration (headers of the /reg reply)."""

    unb: str
    sid: str                # reg-sid, 44 hex; also the `sid` of every push on this connection
    ip_digest: str
    region_digest: str
    real_ip: str


def reg_reply(mid: str, who: RegIdentity, now_ms: int) -> Frame:
    return {
        "headers": {"ip-digest": who.ip_digest, "dt": "j", "reg-sid": who.sid, "ip-region-digest": who.region_digest,
                    "reg-uid": f"{who.unb}@goofish", "mid": mid, "real-ip": who.real_ip, "sid": who.sid},
        "code": 200,
        "body": {"unitName": "PNM", "cookie": "", "timestamp": now_ms, "isFromChina": True},
    }


@dataclass(frozen=True)
class PushHeader:
    route: str              # /s/para, /s/sync or /s/vulcan
    mid: str
    sid: str
    ua: str


def push(header: PushHeader, items: Sequence[DataItem], *, seq: int, pts: int, created_ms: int, now_ms: int,
         fingerprint: int, reconnect_type: int = 0) -> Frame:
    return {
        "lwp": header.route,
        "headers": {"app-key": IM_APP_KEY, "mid": header.mid, "ua": header.ua, "sid": header.sid},
        "body": {
            "syncPushPackage": {
                "maxHighPts": 0, "startSeq": seq, "endSeq": seq, "minCreateTime": created_ms,
                "data": [item.to_json() for item in items],
                "maxPts": pts, "hasMore": 0, "timestamp": now_ms,
            },
            "syncExtensionModel": {"reconnectType": reconnect_type, "failover": 0, "fingerprint": fingerprint},
        },
    }
