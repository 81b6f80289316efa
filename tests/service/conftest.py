"""Fixtures: an in-process simulator, accounts.yml writers, and running Services with an event recorder.

Everything binds 127.0.0.1. A test builds its world with ``env``:

    a = env.seller("shop-a", keywords=[{"match": "包邮", "reply": "包邮的"}])
    run = env.start([a])                   # writes accounts.yml, starts a Service, waits for "online"
    env.ctl.message(env.unb("shop-a"), BUYER, "包邮吗")
    wait_until(lambda: env.ctl.sent(env.unb("shop-a")))
    run = env.restart(run)                 # a new Service on the same database file
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.config import load_config
from core.service import Service
from sim.server import Simulator, start
from storage import KEY_ENV
from tests import pg_server
from tests.service.child import Child
from tests.service.support import Recorder, SimControl, snapshot_state, wait_until, write_config

BUYER = "3300000000001"
BUYER2 = "3300000000002"
ITEM = "900000000001"
ITEM2 = "900000000002"


@dataclass
class Running:
    """A started Service and the events it emitted since it started."""

    svc: Service
    events: Recorder
    stopped: bool = False

    @property
    def store(self) -> Any:
        return self.svc.store

    def state(self, account_id: str) -> str | None:
        return snapshot_state(self.svc, account_id)

    def stop(self) -> float:
        """Stop the service; returns how long stop() took."""
        if self.stopped:
            return 0.0
        began = time.monotonic()
        self.svc.stop()
        self.stopped = True
        return time.monotonic() - began


@dataclass
class Env:
    sim: Simulator
    ctl: SimControl
    dir: Path
    config: Path
    unbs: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict, repr=False)  # a failing test prints its arguments
    running: list[Running] = field(default_factory=list)
    _next_unb: int = 2200000000100

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.dir / 'x.db'}"

    def unb(self, account_id: str) -> str:
        return self.unbs[account_id]

    def seller(self, account_id: str, **account: Any) -> dict[str, Any]:
        """Create the seller in the simulator; returns its accounts.yml entry (with the sim's cookie)."""
        if account_id not in self.unbs:
            self._next_unb += 1
            self.unbs[account_id] = str(self._next_unb)
            self.cookies[account_id] = self.ctl.account(self.unbs[account_id], f"店铺{account_id}")
        return {"id": account_id, "cookie": self.cookies[account_id], **account}

    def write(self, accounts: list[dict[str, Any]], **options: Any) -> Path:
        options.setdefault("database", self.db_url)
        return write_config(self.config, self.sim.urls, accounts, **options)

    def launch(self, path: Path | None = None, db_url: str | None = None) -> Running:
        """Start a Service on the config file (no waiting)."""
        svc = Service(load_config(path or self.config), db_url)
        recorder = Recorder()
        svc.bus.add(recorder)
        running = Running(svc, recorder)
        self.running.append(running)
        svc.start()
        return running

    def start(self, accounts: list[dict[str, Any]] | None = None, *, online: bool = True,
              **options: Any) -> Running:
        """Write accounts.yml (when accounts are given), start a Service, wait until all enabled are online."""
        if accounts is not None:
            self.write(accounts, **options)
        running = self.launch()
        if online:
            self.wait_online(running)
        return running

    def restart(self, running: Running, *, online: bool = True) -> Running:
        running.stop()
        new = self.launch()
        if online:
            self.wait_online(new)
        return new

    def wait_online(self, running: Running, *account_ids: str, timeout: float = 8.0) -> None:
        """Online in the service's snapshot *and* in the simulator's state."""
        ids = account_ids or tuple(a.id for a in running.svc.config.accounts if a.enabled)

        def all_online() -> bool:
            state = self.ctl.state()
            return all(running.state(i) == "online" and state[self.unbs[i]]["online"] for i in ids)

        wait_until(all_online, timeout, lambda: f"not all online: {running.svc.manager.snapshots()}")


def _make_env(tmp_path: Path, **options: Any) -> Iterator[Env]:
    options.setdefault("ackdiff_wait", 0.5)
    simulator = start(**options)
    env = Env(simulator, SimControl(simulator.urls), tmp_path, tmp_path / "accounts.yml")
    try:
        yield env
    finally:
        for running in env.running:
            with contextlib.suppress(Exception):
                running.stop()
        simulator.stop()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from _make_env(tmp_path)


@pytest.fixture
def short_token_env(tmp_path: Path) -> Iterator[Env]:
    """IM tokens live 60 s (< the 5-minute reuse margin): every (re)connect calls the token API,
    so token-path faults armed on the simulator fire on the next reconnect."""
    yield from _make_env(tmp_path, token_ttl=60)


@pytest.fixture
def tls_env(tmp_path: Path) -> Iterator[Env]:
    yield from _make_env(tmp_path, tls=True)


@pytest.fixture
def make_env(tmp_path: Path) -> Iterator[Any]:
    """A factory for an env with custom simulator options (one per test)."""
    stack = contextlib.ExitStack()

    def make(**options: Any) -> Env:
        return stack.enter_context(contextlib.contextmanager(_make_env)(tmp_path, **options))

    with stack:
        yield make


@pytest.fixture
def postgres_url(postgres_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The session server's database, with the tests' key (pg_server.SECRET_KEY) in XIANYU_SECRET_KEY for this
    process and the services it starts: the tests share the database, not a folder for a key file."""
    monkeypatch.setenv(KEY_ENV, pg_server.SECRET_KEY)
    return postgres_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL server for this test session (tests/pg_server.py), as tests/storage uses it:
    missing server binaries fail the run with the package to install; XIANYU_SKIP_PG=1 skips instead."""
    if os.environ.get("XIANYU_SKIP_PG") == "1":
        pytest.skip("XIANYU_SKIP_PG=1: PostgreSQL tests skipped")
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(pg_server.running_postgres("xianyu_service"))
        except pg_server.PostgresNotInstalled as exc:
            pytest.fail(str(exc), pytrace=False)
        yield url


@pytest.fixture
def children() -> Iterator[list[Child]]:
    """The `xianyu.py` child processes a test starts (append them): killed at its end, whatever happened."""
    made: list[Child] = []
    yield made
    for child in made:
        child.end(kill=True)
