"""The sync/delivery model of one IM connection (sim/README.md "Delivery"), as operations on the World.

/reg registers a SessionLink in "syncing" state and answers with the reg reply, an empty /s/sync and the /s/vulcan
backlog (session-arouse items). The client's first ackDiff (or the ackdiff_wait deadline) turns the link live:
it replays every un-ACKed log item and every item newer than the client's position, as /s/sync pushes, oldest
first. From then on new items go out live on their own route. Every push carries one data item and a fresh mid;
an ACK of that mid marks the item delivered. Anything pushed but not ACKed when the socket closes is replayed on
the next sync (at least once).

All functions run inside a state transaction and return frames already encoded, to be sent in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sim import frames
from sim.accounts import Account, PushTarget, SessionLink
from sim.payloads import b64, pack
from sim.pushlog import DataItem, LogEntry
from sim.trade import arouse_items
from sim.world import World

NON_JSON_FRAME = "<<malformed push: this text frame is not JSON>>"


@dataclass(frozen=True)
class Registration:
    frames: list[str]
    link: SessionLink | None    # None: refused (401), the connection is closed after the reply
    close: bool                 # a `disconnect` fault: cut the connection right after the reg reply


def _account(world: World, link: SessionLink) -> Account | None:
    """The link's account while the link is still registered (a dropped link gets nothing more)."""
    account = world.account(link.unb)
    return account if account is not None and link in account.links else None


def _push(world: World, link: SessionLink, route: str, items: Sequence[DataItem], *, pts: int, seq: int,
          created_ms: int, logged_pts: int | None, reconnect_type: int = 0) -> str:
    mid = world.ids.server_mid()
    link.outstanding[mid] = logged_pts
    return frames.encode(frames.push(
        frames.PushHeader(route, mid, link.sid, link.ua), items, seq=seq, pts=pts, created_ms=created_ms,
        now_ms=world.now_ms(), fingerprint=world.ids.fingerprint(), reconnect_type=reconnect_type))


def _push_entry(world: World, link: SessionLink, account: Account, entry: LogEntry, route: str) -> str:
    account.log.mark_sent(entry)
    return _push(world, link, route, [entry.item], pts=entry.pts, seq=entry.seq, created_ms=entry.created_ms,
                 logged_pts=entry.pts)


def register(world: World, target: PushTarget, *, mid: str, token: str, did: str, ua: str,
             peer_ip: str) -> Registration:
    now = world.now_ms()
    access = world.credentials.access(token, now)
    if access is None:
        return Registration([frames.encode(frames.error(mid, 401, "token invalid or expired"))], None, False)
    if access.device_id != did:
        return Registration([frames.encode(frames.error(mid, 401, "did does not match the token"))], None, False)
    account = world.require_account(access.unb)
    link = SessionLink(target, account.unb, world.ids.hex(44), ua or frames.DINGTALK_UA)
    account.links.append(link)
    account.connections += 1
    who = frames.RegIdentity(account.unb, link.sid, world.ids.hex(32), world.ids.hex(32), peer_ip)
    sent = [frames.encode(frames.reg_reply(mid, who, now))]
    if world.faults.take(account.unb, "disconnect"):
        return Registration(sent, link, True)
    log = account.log
    sent.append(_push(world, link, "/s/sync", [], pts=log.last_pts, seq=log.last_seq, created_ms=now,
                      logged_pts=None))
    sent.append(_push(world, link, "/s/vulcan", arouse_items(world, account.unb), pts=log.last_pts,
                      seq=log.last_seq, created_ms=now, logged_pts=None, reconnect_type=1))
    return Registration(sent, link, False)


def go_live(world: World, link: SessionLink, position: int | None) -> list[str]:
    """End the sync: replay what the client is owed (see module doc), then deliver live from here on."""
    account = _account(world, link)
    if account is None or link.live:
        return []
    replay = account.log.replay(position)
    link.live = True
    link.cursor = account.log.last_pts
    return [_push_entry(world, link, account, entry, "/s/sync") for entry in replay] + _malformed(world, link)


def collect(world: World, link: SessionLink) -> list[str]:
    """Live delivery: everything appended since the link's cursor, plus any armed malformed pushes."""
    account = _account(world, link)
    if account is None or not link.live:
        return []
    newer = account.log.after(link.cursor)
    link.cursor = account.log.last_pts
    return [_push_entry(world, link, account, e, e.live_route) for e in newer] + _malformed(world, link)


def _malformed(world: World, link: SessionLink) -> list[str]:
    """Spend the malformed_push budget: bad base64, truncated msgpack, non-JSON text, unknown objectType."""
    out = []
    while world.faults.armed(link.unb, "malformed_push"):
        variant = world.faults.fired(link.unb, "malformed_push") % 4
        world.faults.take(link.unb, "malformed_push")
        if variant == 2:
            out.append(NON_JSON_FRAME)      # no mid: nothing to ACK
            continue
        now = world.now_ms()
        if variant == 0:
            item = DataItem(40, 40000, "40", "%%not*base64!!")
        elif variant == 1:
            whole = pack({1: {1: {1: "0@goofish"}, 2: "0@goofish", 5: now, 10: {"reminderContent": "cut"}}})
            item = DataItem(40, 40000, "40", b64(whole[: len(whole) // 2]))
        else:
            item = DataItem(40, 49999, "40", b64(pack({1: "an objectType no client knows"})))
        out.append(_push(world, link, "/s/para", [item], pts=world.now_us(), seq=0, created_ms=now, logged_pts=None))
    return out


def ack(world: World, link: SessionLink, mid: str) -> None:
    account = world.account(link.unb)
    if account is None:
        return
    if mid in link.acked:
        account.duplicate_acks += 1     # XianyuAutoAgent ACKs every push twice
        return
    if mid not in link.outstanding:
        return                          # not a push of ours (a stray code-200 frame)
    pts = link.outstanding.pop(mid)
    link.acked.append(mid)
    account.acks += 1
    if pts is not None:
        account.log.ack(pts)


def heartbeat(world: World, link: SessionLink | None) -> bool:
    """Count a `/!`; False when a stall_heartbeat fault swallows the reply."""
    account = world.account(link.unb) if link is not None else None
    if account is None:
        return True
    account.heartbeats += 1
    return world.faults.take(account.unb, "stall_heartbeat") is None


def ack_diff(world: World, link: SessionLink, mid: str, position: int | None) -> list[str]:
    account = world.require_account(link.unb)
    account.last_sync_pts = position
    body = {"syncExtensionModel": {"fingerprint": world.ids.fingerprint()}, "syncExtraType": {"type": 3}}
    return [frames.encode(frames.reply(mid, 200, body)), *go_live(world, link, position)]


def sync_state(world: World, link: SessionLink) -> dict[str, object]:
    log = world.require_account(link.unb).log
    return {"topic": "sync", "pts": log.last_pts, "seq": log.last_seq, "highPts": 0, "timestamp": world.now_ms()}
