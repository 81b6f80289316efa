"""The dashboard as a user runs it: ``python xianyu.py`` in a real terminal (tmux), keys sent, screen read.

A temp directory holds a demo accounts.yml (the in-process simulator with scripted buyers, CJK shop
names) and a temp database. Each TERM is checked for a drawn table whose columns line up with Chinese
names in it; one full session walks the screens, stops and starts an account, and quits with the
confirmation, which must end in a clean shutdown (exit 0, "stopped cleanly").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """\
server: demo
settings:
  start_spread_seconds: 0
  debounce_seconds: 0
accounts:
  - id: demo-shop
    alias: 数码小铺
    default_reply: 在的，有什么可以帮您？
  - id: demo-cards
    alias: 卡券专营
    default_reply: 您好，拍下自动发货
"""

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (bash .ci/run installs it)")


class Terminal:
    def __init__(self, workdir: Path, term: str) -> None:
        self.socket = f"xianyu-test-{uuid.uuid4().hex[:8]}"  # a private tmux server: nothing else is touched
        command = (f"cd {workdir} && TERM={term} {sys.executable} {ROOT / 'xianyu.py'} "
                   f"--db sqlite:///{workdir / 'x.db'}; echo EXIT=$?; sleep 60")
        self.tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", command)

    def tmux(self, *args: str) -> str:
        # COLUMNS/LINES (set by pytest's terminal handling) would pin the app to their size, not the pane's.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10,
                              check=True, env=env).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str) -> None:
        for key in keys:  # one at a time: an Escape followed at once by a key would read as Alt+key
            self.tmux("send-keys", "-t", "t", key)
            time.sleep(0.3)

    def wait(self, predicate: Callable[[str], bool], timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never matched within {timeout:.0f}s:\n{text}")
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def terminal(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Terminal]]:
    (tmp_path / "accounts.yml").write_text(CONFIG, encoding="utf-8")
    opened: list[Terminal] = []

    def open_terminal(term: str) -> Terminal:
        opened.append(Terminal(tmp_path, term))
        return opened[-1]
    yield open_terminal
    for t in opened:
        t.close()


def columns_at(line: str, *needles: str) -> list[int]:
    """Display columns (terminal cells) where each needle starts in a captured line."""
    return [cell_len(line[: line.index(n)]) for n in needles]


def assert_aligned(screen: str) -> None:
    shop = next(line for line in screen.splitlines() if "demo-shop" in line)
    cards = next(line for line in screen.splitlines() if "demo-cards" in line)
    assert "数码小铺" in shop and "卡券专营" in cards
    assert columns_at(shop, "…(13)", "online") == columns_at(cards, "…(13)", "online"), f"\n{shop}\n{cards}"


@pytest.mark.parametrize("term", ["screen", "xterm"])
def test_draws_aligned_in_16_colour_terminals(terminal, term: str) -> None:
    t = terminal(term)
    screen = t.wait(lambda s: "online 2" in s and s.count("online") >= 3)
    assert_aligned(screen)
    t.keys("q")
    t.wait(lambda s: "Stop them all and quit?" in s)
    t.keys("y")
    t.wait(lambda s: "EXIT=0" in s)


def test_a_session_in_tmux(terminal) -> None:
    t = terminal("tmux-256color")
    screen = t.wait(lambda s: "online 2" in s and s.count("online") >= 3)
    assert_aligned(screen)
    assert "Restart" in screen and "Quit" in screen  # the key map is in the footer

    t.keys("2")  # Inbox: the demo buyers write within seconds, the default reply answers
    t.wait(lambda s: "Inbox" in s and "replied" in s)
    t.keys("5")
    t.wait(lambda s: "starting → online" in s)
    t.keys("1", "x")  # stop the first account
    t.wait(lambda s: "online 1 · stopped 1" in s)
    t.keys("s")
    t.wait(lambda s: "online 2" in s)
    t.keys("d")
    t.wait(lambda s: "heartbeat:demo-shop" in s and "Reply rules" in s)
    t.keys("Escape", "q")
    t.wait(lambda s: "2 account(s) online. Stop them all and quit?" in s)
    t.keys("n")
    t.wait(lambda s: "Stop them all" not in s)
    t.keys("q", "y")
    screen = t.wait(lambda s: "EXIT=" in s)
    assert "EXIT=0" in screen and "stopped cleanly" in screen
