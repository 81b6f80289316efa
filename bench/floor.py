"""The latency floor: a bare websocket-client recv→send loop, one thread per connection.

Each connection registers like the service does (token, /reg, ackDiff) and then only does the minimum
work per push: parse, ACK, decode, and send the reply when the keyword matches. No storage, no pipeline.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import websocket

from core.goofish import frames
from core.goofish.cookies import CookieJar
from core.goofish.decode import decode_item
from core.goofish.endpoints import DEFAULT_UA, Endpoints, im_user_agent
from core.goofish.ids import device_id
from core.goofish.mtop import MtopClient
from core.session.connection import WsOptions, open_socket


def _serve(ws: websocket.WebSocket, me: str, keyword: str, reply: str, stop: threading.Event,
           answered: list[int]) -> None:
    ws.settimeout(0.5)
    while not stop.is_set():
        try:
            raw = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        except (websocket.WebSocketException, OSError):
            return
        frame = json.loads(raw)
        if "lwp" not in frame or "code" in frame:
            continue
        ws.send(json.dumps(frames.push_ack(frame)))
        for item in (frame.get("body") or {}).get("syncPushPackage", {}).get("data", []):
            event = decode_item(item, me=me)
            if event.kind == "chat" and keyword in (event.text or ""):
                ws.send(frames.dumps(frames.send_text_frame(event.cid, event.sender_id, me, reply)))
                answered[0] += 1


def run_floor(urls: dict, accounts: list[tuple[str, str]], load: Callable[[list[str]], int],
              keyword: str, reply: str) -> int:
    endpoints = Endpoints(urls["ws"], urls["api"], urls["passport"], urls.get("ca"))
    options = WsOptions(urls["ws"], DEFAULT_UA, im_user_agent(DEFAULT_UA), ca=urls.get("ca"))
    stop, answered, threads, sockets = threading.Event(), [0], [], []
    for unb, cookie in accounts:
        jar = CookieJar.parse(cookie)
        did = device_id(unb)
        token = MtopClient(jar, endpoints).login_token(did).access_token
        ws = open_socket(options, jar.to_header(), 10)
        ws.send(frames.dumps(frames.reg_frame(token, did, options.im_user_agent)))
        ws.send(frames.dumps(frames.ack_diff_frame(0)))
        sockets.append(ws)
        thread = threading.Thread(target=_serve, args=(ws, unb, keyword, reply, stop, answered), daemon=True)
        thread.start()
        threads.append(thread)
    load([unb for unb, _ in accounts])
    stop.wait(3)
    stop.set()
    for thread in threads:
        thread.join(2)
    for ws in sockets:
        ws.close()
    return answered[0]
