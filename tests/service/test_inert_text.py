"""Buyer text never drives the seller's terminal: ``--no-tui`` output as raw bytes, with a real service and the
simulator's buyer writing escape sequences and a nick that tries to forge a log line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.service.conftest import BUYER, Env
from tests.service.support import wait_until
from tests.service.test_cli import ROOT

ATTACK = "\x1b]0;pwned\x07hi\x1b[2J\x1b]52;c;aGk=\x07\u202eok"
NICK = "evil\r\b12:00:00 INFO    forged"


def test_no_tui_output_shows_buyer_controls_escaped(env: Env, tmp_path) -> None:
    seller = env.seller("shop-a", default_reply="收到")
    env.write([seller])
    unb = env.unb("shop-a")
    out = tmp_path / "out.bin"
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "xianyu.py", "--no-tui", "--config", str(env.config)], cwd=ROOT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: env.ctl.online(unb), 15)
            cid = env.ctl.message(unb, BUYER, ATTACK, buyer_nick=NICK)["cid"]
            wait_until(lambda: env.ctl.sent_in(unb, cid), 10)
            wait_until(lambda: b"shop-a: \xe2\x86\x92 [chat" in out.read_bytes(), 10)  # the reply's line: "→ [chat"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    raw = out.read_bytes()
    for control in (b"\x1b", b"\x07", b"\r", b"\x08", "\u202e".encode()):
        assert control not in raw, f"{control!r} reached the terminal:\n{raw.decode(errors='replace')}"
    text = raw.decode()
    assert "\\x1b]0;pwned\\x07hi\\x1b[2J\\x1b]52;c;aGk=\\x07\\u202eok" in text
    assert "evil\\r\\x0812:00:00 INFO    forged" in text
    # Every line of the output is the service's own: it starts with the time, never with the buyer's text.
    assert all(line[:2].isdigit() or line.startswith(" ") for line in text.splitlines() if line), text
