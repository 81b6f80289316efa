"""Buyer text never drives the seller's terminal: ``--no-tui`` output as raw bytes, with a real service and the
simulator's buyer writing escape sequences and a nick that tries to forge a log line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.service.conftest import BUYER, BUYER2, Env
from tests.service.support import wait_until
from tests.service.test_cli import ROOT

ATTACK = "\x1b]0;pwned\x07hi\x1b[2J"                                    # retitle the window, clear the screen
NICK = "evil\r\b12:00:00 INFO    forged"                                 # overwrite the line's start
CLIPBOARD = "\x1b]52;c;aGk=\x07\u202eok\n12:00:00 INFO forged line"       # OSC 52, bidi, a line of its own
REPLIED = "shop-a: \u2192 [chat".encode()                                  # the reply's line: "→ [chat"


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
            first = env.ctl.message(unb, BUYER, ATTACK, buyer_nick=NICK)["cid"]
            second = env.ctl.message(unb, BUYER2, CLIPBOARD, buyer_nick="买家\u202e")["cid"]
            wait_until(lambda: env.ctl.sent_in(unb, first) and env.ctl.sent_in(unb, second), 10)
            wait_until(lambda: out.read_bytes().count(REPLIED) == 2, 10)
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
    assert "shop-a: ← evil\\r\\x0812:00:00 INFO    forged [chat " in text
    assert "]: \\x1b]0;pwned\\x07hi\\x1b[2J\n" in text
    assert "shop-a: ← 买家\\u202e [chat " in text
    assert "]: \\x1b]52;c;aGk=\\x07\\u202eok\\n12:00:00 INFO forged line\n" in text
    # Every line of the output is the service's own: it starts with the time, never with the buyer's text, and
    # the buyer's line break did not start a line of its own.
    lines = text.splitlines()
    assert all(line[:8].replace(":", "").isdigit() for line in lines if line), text
    assert not any("forged line" in line and "aGk=" not in line for line in lines), text
