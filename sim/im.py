"""The IM WebSocket server: one thread per connection (websockets' sync server), JSON text frames (LWP).

Any handshake headers are accepted (XianyuAutoAgent sends Host and Connection twice; websockets tolerates it);
identity comes from the `/reg` token. A handshake is attributed to an account by its `unb` cookie only for the
refuse_connect fault. Frames a connection must send in order (a reply, then the pushes it caused) go out under the
connection's send lock; pushes caused by other threads are "flushed" by whichever thread gets the lock.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from sim import delivery, frames
from sim.accounts import SessionLink
from sim.credentials import parse_cookie_header
from sim.faults import ANONYMOUS
from sim.lwp import ROUTES, Malformed
from sim.state import SimState
from sim.world import World

log = logging.getLogger("sim.im")


class ImSession:
    """One client connection: its receive loop (on the connection's own thread) and its ordered sender."""

    def __init__(self, conn: ServerConnection, state: SimState) -> None:
        self._conn = conn
        self._state = state
        self._send_lock = threading.Lock()
        self._flush_wanted = threading.Event()
        self._link: SessionLink | None = None
        self._sync_deadline: float | None = None

    # -- PushTarget ---------------------------------------------------------------------------------------------
    def flush(self) -> None:
        self._flush_wanted.set()
        self._drain()

    def drop(self) -> None:
        self._conn.close_socket()

    def _drain(self) -> None:
        # Whoever holds the send lock drains after releasing it, so a flush is never lost and a reply is never
        # overtaken by the pushes its own request caused.
        while self._flush_wanted.is_set() and self._send_lock.acquire(blocking=False):
            try:
                self._flush_wanted.clear()
                link = self._link
                if link is not None:
                    with self._state.transaction() as world:
                        out = delivery.collect(world, link)
                    self._send(out)
            finally:
                self._send_lock.release()

    def _send(self, out: list[str]) -> None:
        try:
            for text in out:
                self._conn.send(text)
        except ConnectionClosed:
            pass    # the receive loop sees the close; un-ACKed pushes are replayed on the next sync

    def _exchange(self, work: Callable[[World], list[str]]) -> None:
        with self._send_lock:
            with self._state.transaction() as world:
                out = work(world)
            self._send(out)
        self._drain()

    # -- the receive loop ---------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            while True:
                try:
                    raw = self._conn.recv(timeout=self._until_sync_deadline())
                except TimeoutError:
                    self._end_sync(None)
                    continue
                self._handle(raw)
        except ConnectionClosed:
            pass
        finally:
            if self._link is not None:
                link = self._link
                with self._state.transaction() as world:
                    world.unregister(link)

    def _until_sync_deadline(self) -> float | None:
        if self._sync_deadline is None:
            return None
        return max(0.0, self._sync_deadline - time.monotonic())

    def _end_sync(self, position: int | None, mid: str | None = None) -> None:
        link = self._link
        self._sync_deadline = None
        if link is None:
            return
        if mid is None:
            self._exchange(lambda world: delivery.go_live(world, link, position))
        else:
            self._exchange(lambda world: delivery.ack_diff(world, link, mid, position))

    def _handle(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
            if not isinstance(frame, dict):
                raise ValueError("a frame must be a JSON object")
        except ValueError as exc:
            log.info("ignoring a malformed client frame: %s", exc)
            return
        headers = frame.get("headers") if isinstance(frame.get("headers"), dict) else {}
        mid = str(headers.get("mid", ""))
        route = frame.get("lwp")
        try:
            self._route(route, mid, headers, frame)
        except Malformed as exc:
            self._reply(frames.error(mid, 400, str(exc)))
        except ConnectionClosed:
            raise
        except Exception:   # a bad frame must never kill the connection thread
            log.exception("error handling %s", route)
            self._reply(frames.error(mid, 500, "internal error"))

    def _reply(self, frame: dict[str, Any]) -> None:
        self._exchange(lambda world: [frames.encode(frame)])

    def _route(self, route: Any, mid: str, headers: dict[str, Any], frame: dict[str, Any]) -> None:
        link = self._link
        if route is None:
            if frame.get("code") == 200 and link is not None:
                with self._state.transaction() as world:
                    delivery.ack(world, link, mid)
            return
        if route == "/!":
            self._exchange(lambda world: [frames.encode(frames.reply(mid))] if delivery.heartbeat(world, link)
                           else [])
        elif route == "/reg":
            self._register(mid, headers)
        elif link is None:
            self._reply(frames.error(mid, 400, "not registered: send /reg first"))
        elif route == "/r/SyncStatus/ackDiff":
            self._end_sync(_sync_position(frame.get("body")), mid)
        elif route == "/r/SyncStatus/getState":
            self._exchange(lambda world: [frames.encode(frames.reply(mid, 200, delivery.sync_state(world, link)))])
        elif route in ROUTES:
            handler = ROUTES[route]
            body = frame.get("body") if isinstance(frame.get("body"), list) else []
            self._exchange(lambda world: [frames.encode(handler(world, link, mid, body))])
        else:
            self._reply(frames.error(mid, 404, f"unsupported route {route}"))

    def _register(self, mid: str, headers: dict[str, Any]) -> None:
        if self._link is not None:
            raise Malformed("already registered")
        peer = self._conn.remote_address
        with self._send_lock:
            with self._state.transaction() as world:
                result = delivery.register(world, self, mid=mid, token=str(headers.get("token", "")),
                                           did=str(headers.get("did", "")), ua=str(headers.get("ua", "")),
                                           peer_ip=str(peer[0]) if peer else "127.0.0.1")
            self._link = result.link
            self._send(result.frames)
        if result.link is None:
            self._conn.close(code=1008, reason="unauthorized")
        elif result.close:
            self.drop()
        else:
            self._sync_deadline = time.monotonic() + self._state.options.ackdiff_wait


def _sync_position(body: Any) -> int | None:
    """ackDiff body[0].pts: the client's sync position (µs); None if absent."""
    try:
        return int(body[0]["pts"])
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def serve_im(state: SimState, host: str, port: int, tls: ssl.SSLContext | None) -> Server:
    def process_request(conn: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path != "/":
            return conn.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        unb = parse_cookie_header("; ".join(request.headers.get_all("Cookie"))).get("unb", "")
        with state.transaction() as world:
            refused = world.faults.take(unb if world.account(unb) else ANONYMOUS, "refuse_connect")
        if refused:
            return conn.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable\n")
        return None

    def handler(conn: ServerConnection) -> None:
        ImSession(conn, state).run()

    # No permessage-deflate and no server pings: the platform's keep-alive is the client's /! heartbeat, and
    # each deflate context would cost ~100 KiB per idle connection. A short close timeout keeps stop() quick
    # when clients do not answer the closing handshake.
    return serve(handler, host, port, ssl=tls, process_request=process_request, compression=None,
                 ping_interval=None, close_timeout=1, max_size=4 * 1024 * 1024, backlog=1024)
