"""`python -m sim` as a subprocess: the ready line, a conversation over it (plain and --tls), a clean SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.sim.simclient import Im, Seller

ROOT = Path(__file__).resolve().parents[2]
SELLER = "2200000000009"


@pytest.fixture(params=[False, True], ids=["plain", "tls"])
def running(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    command = [sys.executable, "-m", "sim", "--seed", "3"] + (["--tls"] if request.param else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        urls = json.loads(process.stdout.readline())
        yield process, urls
    finally:
        Im.close_all()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_ready_line_then_a_conversation_then_a_clean_stop(running: tuple[subprocess.Popen[str], dict[str, str]]) -> None:
    process, urls = running
    tls = "ca" in urls
    scheme, ws_scheme = ("https", "wss") if tls else ("http", "ws")
    assert set(urls) == {"ws", "api", "passport", "control"} | ({"ca"} if tls else set())
    assert urls["ws"].startswith(f"{ws_scheme}://127.0.0.1:") and urls["ws"].endswith("/")
    assert urls["api"].startswith(f"{scheme}://127.0.0.1:") and urls["passport"] == urls["api"]
    assert urls["control"] == urls["api"] + "/_sim"
    if tls:
        assert "BEGIN CERTIFICATE" in Path(urls["ca"]).read_text()
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(urls["control"] + "/state", timeout=5)     # only the generated CA is trusted

    seller = Seller(urls, SELLER)
    im = seller.connect()
    cid = seller.control.post("messages", {"seller": SELLER, "buyer": "3000000001", "buyer_nick": "买家",
                                           "item_id": "900000000001", "text": "在吗"})["cid"]
    push = im.push(object_type=40000)
    im.ack(push)
    assert im.send_text(cid, "3000000001", SELLER, "在的")["code"] == 200
    assert seller.control.get("sent", seller=SELLER)["messages"][0]["text"] == "在的"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert process.stdout is not None and process.stdout.read() == ""      # exactly one line on stdout
    if tls:
        assert not Path(urls["ca"]).exists()
