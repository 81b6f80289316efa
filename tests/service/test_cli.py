"""``python xianyu.py`` as a user runs it: headless service against the in-process simulator, ``check``, and a
broken config refusing to start."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.service.conftest import BUYER, Env
from tests.service.support import wait_until

ROOT = Path(__file__).resolve().parents[2]


class Proc:
    """A subprocess whose stdout and stderr lines are collected by two reader threads."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.popen = subprocess.Popen([sys.executable, "xianyu.py", *args], cwd=ROOT, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8")
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(self.popen.stdout, self.out), daemon=True),
                         threading.Thread(target=self._read, args=(self.popen.stderr, self.err), daemon=True)]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.out + self.err)

    def line(self, pattern: str, timeout: float = 8.0) -> str:
        regex = re.compile(pattern)
        return wait_until(lambda: next((x for x in self.out + self.err if regex.search(x)), None), timeout,
                          lambda: f"no line matching {pattern!r} in:\n{self.text()}")

    def finish(self, timeout: float) -> int:
        code = self.popen.wait(timeout)
        for reader in self._readers:
            reader.join(2)
        return code

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(5)


def _cookie_values(cookie: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in cookie.split(";") if "=" in part)


def test_headless_run_answers_and_stops_cleanly_on_sigterm(env: Env) -> None:
    a = env.seller("shop-a", keywords=[{"match": "包邮", "reply": "包邮的"}])
    env.write([a])
    unb = env.unb("shop-a")
    proc = Proc("--no-tui", "--config", str(env.config))
    try:
        proc.line(r"shop-a: .*→ online")
        wait_until(lambda: env.ctl.online(unb))
        cid = env.ctl.message(unb, BUYER, "包邮吗")["cid"]
        line = proc.line(rf"shop-a: → \[chat {cid}\] 包邮的 \(rule keyword\[0\], \d+ ms\)")
        assert "ms)" in line
        assert [m["text"] for m in env.ctl.sent_in(unb, cid)] == ["包邮的"]
        proc.line(rf"shop-a: ← .*\[chat {cid} item \d+\]: 包邮吗")
        began = time.monotonic()
        proc.popen.send_signal(signal.SIGTERM)
        code = proc.finish(timeout=5)
        took = time.monotonic() - began
    finally:
        proc.kill()
    assert code == 0, proc.text()
    assert took < 5
    assert any("stopped cleanly" in x for x in proc.err + proc.out), proc.text()
    assert not env.ctl.online(unb)
    secrets = _cookie_values(env.cookies["shop-a"])
    for name in ("_m_h5_tk", "_m_h5_tk_enc", "cookie2", "sgcookie", "_tb_token_"):
        assert secrets[name] not in proc.text(), f"the {name} cookie value leaked into the output"


def test_check_reports_file_line_and_key_path(env: Env) -> None:
    a = env.seller("shop-a", default_reply="在的")
    env.write([a])
    good = subprocess.run([sys.executable, "xianyu.py", "check", "--config", str(env.config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert good.returncode == 0, good.stderr
    assert "shop-a" in good.stdout
    assert env.cookies["shop-a"] not in good.stdout + good.stderr
    bad = env.dir / "bad.yml"
    lines = env.config.read_text(encoding="utf-8").splitlines()
    at = lines.index("- id: shop-a") + 1
    lines.insert(at, "  keywordz: []")
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "xianyu.py", "check", "--config", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f"{bad}:{at + 1}: accounts[0].keywordz: unknown key 'keywordz'" in done.stderr, done.stderr


def test_run_with_a_broken_config_exits_2_with_nothing_started(env: Env) -> None:
    a = env.seller("shop-a", default_reply="在的")
    bad = env.dir / "bad.yml"
    env.write([{**a, "default_reply": "{nope}"}])
    bad.write_text(env.config.read_text(encoding="utf-8"), encoding="utf-8")
    env.config.unlink()
    done = subprocess.run([sys.executable, "xianyu.py", "--config", str(bad), "--no-tui"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert re.search(rf"^{re.escape(str(bad))}:\d+: accounts\[0\]\.default_reply: unknown placeholder", done.stderr,
                     re.M), done.stderr
    state = env.ctl.account_state(env.unb("shop-a"))
    assert (state["connections"], state["tokens_issued"]) == (0, 0)
    assert not (env.dir / "x.db").exists(), "a database was created for a config that never started"
