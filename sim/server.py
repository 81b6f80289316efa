"""Start and stop a whole simulator in-process: `start(...) -> Simulator` (what `python -m sim` wraps).

    sim = start(tls=True, demo_buyers=True, h5tk_ttl=5)
    sim.urls   # {"ws": "wss://127.0.0.1:P/", "api": ..., "passport": ..., "control": ".../_sim", "ca": PATH}
    sim.state  # the SimState (tests may read snapshots directly)
    sim.stop()

Both servers bind `host` only. With tls=True a throw-away CA (trustme) signs a certificate for 127.0.0.1 and
localhost; the CA's PEM is written to a temporary directory that stop() removes.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import trustme

from sim import control, faceid, mtop, qr, renewal, slider
from sim.buyers import DemoMarket
from sim.httpd import HttpRequest, HttpResponse, Router, SimHttpServer
from sim.im import serve_im
from sim.state import SimState
from sim.world import Options


def make_router(state: SimState, api_base: str) -> Router:
    def route(request: HttpRequest) -> HttpResponse:
        path = request.path
        if path == "/_sim" or path.startswith("/_sim/"):
            return control.handle(state, request)
        if path.endswith(slider.SLIDE_MARK) and request.method == "POST":
            return slider.slide(state, request)
        if slider.PUNISH_MARK in path:
            return slider.page()
        if path.lstrip("/").startswith("h5/"):
            return mtop.handle(state, request, api_base)
        for passport_paths in (qr.handle, faceid.handle):
            answer = passport_paths(state, request, api_base)
            if answer is not None:
                return answer
        answer = renewal.handle(state, request)
        if answer is not None:
            return answer
        if path.startswith("/newlogin/"):
            return HttpResponse.json({"content": {"success": False}, "hasError": True, "errorMessage": "not found"},
                                     404)
        return HttpResponse.json({"error": f"not found: {path}"}, 404)

    return route


class _Tls:
    """A throw-away CA and a server certificate for the loopback names, in a temporary directory."""

    def __init__(self) -> None:
        ca = trustme.CA()
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(self.context)
        self.directory = Path(tempfile.mkdtemp(prefix="goofish-sim-"))
        self.ca_path = self.directory / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class Simulator:
    def __init__(self, host: str, ws_port: int, http_port: int, tls: bool, demo_buyers: bool,
                 options: Options) -> None:
        self.state = SimState(options)
        with ExitStack() as undo:   # a port already in use must not leave the other server or the CA behind
            self._tls = _Tls() if tls else None
            if self._tls:
                undo.callback(self._tls.remove)
            context = self._tls.context if self._tls else None
            self._http = SimHttpServer((host, http_port), context)
            undo.callback(self._http.server_close)
            self._im = serve_im(self.state, host, ws_port, context)
            undo.pop_all()
        name = f"[{host}]" if ":" in host else host
        web, ws = ("https", "wss") if tls else ("http", "ws")
        api = f"{web}://{name}:{self._http.server_address[1]}"
        self.urls: dict[str, str] = {"ws": f"{ws}://{name}:{self._im.socket.getsockname()[1]}/", "api": api,
                                     "passport": api, "control": f"{api}/_sim"}
        if self._tls:
            self.urls["ca"] = str(self._tls.ca_path)
        self._http.router = make_router(self.state, api)
        self._threads = [threading.Thread(target=self._im.serve_forever, name="sim-im", daemon=True),
                         threading.Thread(target=self._http.serve_forever, args=(0.1,), name="sim-http",
                                          daemon=True)]
        for thread in self._threads:
            thread.start()
        self._market = DemoMarket(self.state) if demo_buyers else None
        if self._market:
            self._market.start()

    def stop(self) -> None:
        """Stop serving: demo buyers, then both servers (closing open connections), then the temporary CA."""
        if self._market:
            self._market.stop()
        self._http.shutdown()
        self._http.server_close()
        self._im.shutdown()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._tls:
            self._tls.remove()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(host: str = "127.0.0.1", ws_port: int = 0, http_port: int = 0, tls: bool = False,
          demo_buyers: bool = False, **options: Any) -> Simulator:
    """Start serving on background threads; options are the fields of sim.world.Options."""
    return Simulator(host, ws_port, http_port, tls, demo_buyers, Options(**options))
