"""One throw-away Chromium per verification job, driven by DrissionPage, that never outlives its job.

Each browser gets its own free DevTools port and its own temporary profile directory named
``xianyu-slider-<owner pid>-…`` in the system temp dir. The name is how leaks are found: ``close`` kills every
process whose command line carries the profile (DrissionPage's own ``quit`` can leave helpers behind and
never reaps the browser, which it started with a Popen it dropped), waits for the browser so no zombie is left,
and deletes the profile. ``reap_stale`` does the same at start-up for the leftovers of a run that crashed: any
profile whose owner process is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil  # a dependency of DrissionPage

if TYPE_CHECKING:
    from DrissionPage import Chromium, ChromiumOptions

log = logging.getLogger(__name__)

PROFILE_PREFIX = "xianyu-slider-"
QUIT_SECONDS = 3.0
_ports_lock = threading.Lock()  # guards _ports_in_use: two jobs must never race for one port
_ports_in_use: set[int] = set()

# Quiet, private and light: nothing phones home, nothing runs in the background, no first-run UI.
BASE_ARGUMENTS = (
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--no-first-run", "--no-default-browser-check",
    "--disable-features=Translate,MediaRouter,OptimizationHints", "--metrics-recording-only",
    "--mute-audio", "--disable-gpu", "--password-store=basic", "--window-size=1000,700",
)


@dataclass(frozen=True)
class BrowserSpec:
    path: str
    user_agent: str
    headless: bool = True
    # SPKI pins Chromium accepts despite an unknown issuer (trust.py): a private CA's servers, nothing else.
    pinned_keys: tuple[str, ...] = ()


class Browser:
    """A launched browser: the DrissionPage handle plus what is needed to take it down for certain."""

    def __init__(self, spec: BrowserSpec) -> None:
        self.spec = spec
        self.profile = Path(tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-"))
        self.port = _reserve_port()
        self.pid: int | None = None
        self.handle: Chromium | None = None
        self._close_lock = threading.Lock()  # close() may come from the job and from a service stop at once
        self._closed = False

    def launch(self) -> Chromium:
        # DrissionPage would fall back to whatever Chrome it finds; a configured path must mean that browser.
        if shutil.which(self.spec.path) is None:
            raise FileNotFoundError(f"no browser at {self.spec.path!r}: install chromium or set browser_path")
        from DrissionPage import (
            Chromium,  # imported on the first verification: ~8 MiB a headless run never needs
        )

        self.handle = Chromium(_options(self.spec, self.port, self.profile))
        self.pid = self.handle.process_id
        return self.handle

    def tree(self) -> list[psutil.Process]:
        """The browser's processes now (found by profile, so helpers that lost their parent count too)."""
        return _processes_using(str(self.profile))

    def close(self) -> None:
        """Idempotent; a second caller waits until the first one has finished."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._shut_down()

    def _shut_down(self) -> None:
        try:
            if self.handle is not None:
                with contextlib.suppress(Exception):  # a dead or hung browser: the kill below settles it
                    self.handle.quit(timeout=QUIT_SECONDS)
            _kill(self.tree())
            if self.pid is not None:
                _reap(self.pid)
            shutil.rmtree(self.profile, ignore_errors=True)
        finally:
            with _ports_lock:
                _ports_in_use.discard(self.port)


@contextlib.contextmanager
def open_browser(spec: BrowserSpec) -> Iterator[Browser]:
    """A running browser for the ``with`` body; quit, killed, reaped and its profile deleted afterwards."""
    browser = Browser(spec)
    try:
        browser.launch()
        yield browser
    finally:
        browser.close()


def _options(spec: BrowserSpec, port: int, profile: Path) -> ChromiumOptions:
    from DrissionPage import ChromiumOptions

    options = ChromiumOptions(read_file=False)  # ignore any DrissionPage ini lying around
    options.set_browser_path(spec.path)
    options.set_local_port(port)
    options.set_user_data_path(str(profile))
    options.set_user_agent(spec.user_agent)  # x5sec is bound to the UA: the account's, not Chromium's
    options.headless(spec.headless)
    options.set_retry(times=1, interval=0.5)
    # Navigation returns at once and the job polls the page itself (solve.py), checking for a stop between any
    # two calls. DrissionPage's own waits cannot be interrupted, and in a browser closed under them (the service
    # stopping mid-load) they never see the load end: a page-load wait would hold the job for its whole timeout
    # (twice, with the retry), and every element lookup waits up to `base` for the document first. Hence no load
    # wait at all, and a short base: a stop is seen within about a second.
    options.set_timeouts(base=1, page_load=20, script=10)
    options.set_load_mode("none")
    for argument in BASE_ARGUMENTS:
        options.set_argument(argument)
    if spec.pinned_keys:
        options.set_argument(f"--ignore-certificate-errors-spki-list={','.join(spec.pinned_keys)}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.set_argument("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    return options


def _reserve_port() -> int:
    with _ports_lock:
        while True:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            if port not in _ports_in_use:
                _ports_in_use.add(port)
                return port


def _processes_using(fragment: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            cmdline = process.info["cmdline"] or ()
            if any(arg.startswith("--user-data-dir=") and fragment in arg for arg in cmdline):
                found.append(process)
    return found


def _kill(processes: list[psutil.Process]) -> None:
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(processes, timeout=QUIT_SECONDS)


def _reap(pid: int) -> None:
    """Collect our child's exit status so it does not linger as a zombie (DrissionPage dropped its Popen)."""
    deadline = time.monotonic() + QUIT_SECONDS
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child, or already collected (subprocess reaps dropped Popens)
            return
        if done:
            return
        time.sleep(0.05)
    log.warning("browser process %d did not exit in time", pid)


def browsers_of(owner_pid: int) -> list[psutil.Process]:
    """Live browser processes started by ``owner_pid`` (zombies excluded): what a leak check looks for."""
    alive = []
    for process in _processes_using(f"{PROFILE_PREFIX}{owner_pid}-"):
        with contextlib.suppress(psutil.Error):
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
    return alive


def browsers_by_profile(owner_pid: int) -> dict[str, list[psutil.Process]]:
    """``browsers_of`` grouped per browser (its profile): one key per browser, however its processes come and go
    while it starts or quits."""
    groups: dict[str, list[psutil.Process]] = {}
    for process in browsers_of(owner_pid):
        profile = next(a for a in process.info["cmdline"] if a.startswith("--user-data-dir="))
        groups.setdefault(profile.partition("=")[2], []).append(process)
    return groups


def leftover_profiles(owner_pid: int) -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob(f"{PROFILE_PREFIX}{owner_pid}-*"))


def reap_stale() -> int:
    """Kill the browsers and delete the profiles of runs whose process is gone; returns how many browsers died.

    Only profiles with a dead owner are touched, so another instance running on the same machine keeps its own.
    """
    stale: list[psutil.Process] = []
    for process in _processes_using(PROFILE_PREFIX):
        with contextlib.suppress(psutil.Error):
            owner = _owner_of(" ".join(process.cmdline()))
            if owner is not None and owner != os.getpid() and not psutil.pid_exists(owner):
                stale.append(process)
    _kill(stale)
    for profile in Path(tempfile.gettempdir()).glob(f"{PROFILE_PREFIX}*"):
        owner = _owner_of(profile.name)
        if owner is not None and owner != os.getpid() and not psutil.pid_exists(owner):
            shutil.rmtree(profile, ignore_errors=True)
    if stale:
        log.warning("killed %d browser process(es) left over by a crashed run", len(stale))
    return len(stale)


def _owner_of(text: str) -> int | None:
    """The owner pid in ``…xianyu-slider-<pid>-…``, or None."""
    _, marker, rest = text.partition(PROFILE_PREFIX)
    digits = rest.split("-", 1)[0]
    return int(digits) if marker and digits.isdigit() else None


def display_available() -> bool:
    """Whether a headed browser can be shown (X11/Wayland on Linux; always on macOS and Windows)."""
    if os.name == "nt" or os.uname().sysname == "Darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
