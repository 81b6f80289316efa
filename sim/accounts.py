"""Per-account and per-connection bookkeeping (mutable records, guarded by the state lock)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from sim.logins import Logins
from sim.pushlog import PushLog


class PushTarget(Protocol):
    """The IM connection behind a SessionLink, as the state sees it."""

    def flush(self) -> None:
        """Send whatever the link owes the client now (called outside the state lock)."""

    def drop(self) -> None:
        """Cut the connection (a `disconnect` fault)."""


@dataclass(frozen=True)
class SentMessage:
    """What a seller's client sent, as `GET /_sim/sent` reports it."""

    seq: int
    cid: str
    to: str
    text: str
    content_type: int
    at_ms: int
    reply_after_us: int | None = None   # since the chat's newest buyer message (push-to-reply latency)

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "cid": self.cid, "to": self.to, "text": self.text,
                "content_type": self.content_type, "at_ms": self.at_ms, "reply_after_us": self.reply_after_us}


@dataclass(eq=False)
class SessionLink:
    """One registered IM connection: where it is in the account's push log and which pushes await an ACK."""

    target: PushTarget
    unb: str
    sid: str
    ua: str
    live: bool = False                # False while syncing (between /reg and ackDiff or the sync deadline)
    cursor: int = 0                   # pts of the newest log item sent on this connection
    outstanding: dict[str, int | None] = field(default_factory=dict)   # push mid → log pts (None: not logged)
    # Recently ACKed mids, to tell a duplicate ACK (XianyuAutoAgent sends two at once) from a stray frame.
    acked: deque[str] = field(default_factory=lambda: deque(maxlen=256))


@dataclass(eq=False)
class Account:
    unb: str
    nick: str
    log: PushLog
    links: list[SessionLink] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    shipments: list[str] = field(default_factory=list)
    malformed_queued: int = 0
    connections: int = 0
    heartbeats: int = 0
    acks: int = 0
    duplicate_acks: int = 0
    tokens_issued: int = 0
    slides_attempted: int = 0
    slides_accepted: int = 0
    x5sec_issued: int = 0
    last_sync_pts: int | None = None
    logins: Logins = field(default_factory=Logins)

    @property
    def online(self) -> bool:
        return bool(self.links)

    def report(self) -> dict[str, Any]:
        return {
            "nick": self.nick,
            "online": self.online,
            "open_connections": len(self.links),
            "connections": self.connections,
            "heartbeats": self.heartbeats,
            "acks": self.acks,
            "duplicate_acks": self.duplicate_acks,
            "tokens_issued": self.tokens_issued,
            "shipments": list(self.shipments),
            "sent": len(self.sent),
            "unacked": self.log.unacked,
            "queued": self.log.queued,
            "log_items": len(self.log),
            "last_pts": self.log.last_pts,
            "last_sync_pts": self.last_sync_pts,
            "slides_attempted": self.slides_attempted,
            "slides_accepted": self.slides_accepted,
            "x5sec_issued": self.x5sec_issued,
            **self.logins.report(),
        }
