"""Pieces the crash benchmarks share: the service as a child process, and a small client of the simulator's
control API (plain or `--tls`).

`ServiceProcess` runs `python xianyu.py --no-tui --config <file>` and can SIGKILL it and start it again;
`SimClient` speaks to `<api>/_sim` with the simulator's CA when there is one; `proc_sample` reads a process's
RSS, threads and open file descriptors from /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]


class ServiceProcess:
    """`python xianyu.py --no-tui` as a child, killed with SIGKILL and started again on demand."""

    def __init__(self, config: Path, log: Path, log_level: str = "WARNING") -> None:
        self._config = config
        self._log = log
        self._log_level = log_level
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def alive(self) -> bool:
        return self.pid is not None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen([sys.executable, str(ROOT / "xianyu.py"), "--config", str(self._config),
                                           "--no-tui", "--log-level", self._log_level], cwd=ROOT, stdout=log,
                                          stderr=subprocess.STDOUT)
        self.starts += 1

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class SimClient:
    """The simulator's control API. One per thread (a requests.Session is not shared between threads)."""

    def __init__(self, urls: dict[str, str], timeout: float = 10) -> None:
        self.control = urls["control"]
        self._http = requests.Session()
        self._verify = urls.get("ca") or True  # per request: a REQUESTS_CA_BUNDLE overrides Session.verify
        self._timeout = timeout

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._http.post(f"{self.control}{path}", json=body, timeout=self._timeout, verify=self._verify)
        answer.raise_for_status()
        return answer.json()

    def get(self, path: str, **query: Any) -> dict[str, Any]:
        answer = self._http.get(f"{self.control}{path}", params=query, timeout=self._timeout,
                                verify=self._verify)
        answer.raise_for_status()
        return answer.json()

    def state(self) -> dict[str, dict[str, Any]]:
        return self.get("/state")["accounts"]

    def fault(self, seller: str, kind: str, count: int, delay: float | None = None) -> None:
        body: dict[str, Any] = {"seller": seller, "kind": kind, "count": count}
        if delay is not None:
            body["delay"] = delay
        self.post("/faults", body)


def proc_sample(pid: int | None) -> dict[str, int] | None:
    """RSS (KiB), threads and open fds of a live process, from /proc; None when it is gone."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_kib": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]), "fds": fds}
