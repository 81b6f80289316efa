"""`python xianyu.py --no-tui` as a real child process, for the tests about processes: crashes, locks, disks.

Its output (stdout and stderr) is collected line by line by a reader thread; `disk_full` drops the child's
file-size limit (RLIMIT_FSIZE, from outside with prlimit) to 0, so every write to a regular file fails in the
kernel (EFBIG), SQLite's database and WAL included, exactly where a full disk fails it, while the pipe the test
reads is untouched. The `children` fixture (conftest.py) kills whatever a test left running.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WAIT_ENV = "XIANYU_DATABASE_WAIT_SECONDS"  # xianyu.py's DATABASE_WAIT_SECONDS, shortened


class Child:
    """``python xianyu.py --no-tui`` with its output collected line by line."""

    def __init__(self, config: Path, *, preexec: Callable[[], None] | None = None, wait_s: float | None = None,
                 cwd: Path = ROOT, env: Mapping[str, str] | None = None,
                 launcher: Sequence[str] = (sys.executable, str(ROOT / "xianyu.py"))) -> None:
        """``launcher`` is what runs xianyu.py (a bootstrap for a faked clock, say); ``env`` adds variables."""
        child_env = {**os.environ, **(env or {})}
        if wait_s is not None:
            child_env[WAIT_ENV] = str(wait_s)
        self.proc = subprocess.Popen([*launcher, "--config", str(config), "--no-tui",
                                      "--log-level", "INFO"], cwd=cwd, env=child_env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, preexec_fn=preexec)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines[-80:])

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def with_text(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]

    def disk_full(self, full: bool) -> None:
        _soft, hard = resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (0 if full else hard, hard))

    def exit_code(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def end(self, kill: bool = False) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # a stop that hangs is the test's failure to report, not to leave
                self.proc.kill()
                self.proc.wait()
