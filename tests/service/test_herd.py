"""The platform restarts and forgets every socket at once (issue 12 §4 A): 30 accounts come back on their own,
spread out by the reconnect backoff's jitter, without asking for a single new token.

The restart is the simulator's ``disconnect`` on ``"*"`` (every socket cut, no close frame) with ``refuse_connect``
on ``"*"`` (the first handshake of each account answers 503: the platform is still down). The times are read
from the simulator's own counters (``refuse_connect`` fired: the first reconnect attempt; ``connections``: the
accepted ``/reg``), sampled every 50 ms.

What the design promises, and so what is asserted (``core/backoff.py``, ``ImSession.run``):

* a connection that was online and drops waits ``next_delay(1)``, uniform in ``[(1 - jitter)·base, base]`` (the
  default jitter 0.5: ``[base/2, base]``), before its first attempt; after a refused one ``next_delay(2)`` in
  ``[base, 2·base]``. So no first attempt comes before ``base/2`` after the cut, every account is back within
  ``3·base`` (plus the time a connect takes), and the first attempts of 30 accounts are spread over most of a
  ``base/2`` band: the range of 30 uniform draws is below 60 % of their band (``0.3·base``) with probability
  ``30·0.6^29 ≈ 1e-5``. Queueing on a slow machine delays attempts; it cannot bring a late draw forward, and
  ``base`` (2 s) is large against the 50 ms sampling.
* the IM token is kept with its expiry (``AccountCredentials.token``) and only a ``/reg`` answered 401 forgets it;
  a refused handshake does not. The tokens live 24 h here: the recovery makes no token call at all.
"""

from __future__ import annotations

import time

from core.backoff import Backoff
from tests.service.conftest import Env
from tests.service.support import POLL, wait_until

ACCOUNTS = 30
BASE = 2.0  # reconnect_backoff_base, seconds
CAP = 8.0
JITTER = Backoff().jitter  # the policy's default, which the service uses
SETTINGS = {"reconnect_backoff_base": BASE, "reconnect_backoff_cap": CAP, "heartbeat_interval": 1,
            "heartbeat_timeout": 1.5, "start_spread_seconds": 0}


def test_a_platform_restart_brings_every_account_back_spread_out_and_with_its_token(env: Env) -> None:
    ids = [f"shop-{n:02d}" for n in range(ACCOUNTS)]
    accounts = [env.seller(i, default_reply="收到：{text}") for i in ids]
    run = env.start(accounts, online=False, settings=SETTINGS)
    env.wait_online(run, timeout=30)
    unbs = [env.unb(i) for i in ids]
    before = env.ctl.state()

    env.ctl.fault("*", "refuse_connect", 1)  # the platform is still down for each account's first try ...
    cut = time.monotonic()
    env.ctl.fault("*", "disconnect", 1)      # ... after every socket is cut at once
    first_try: dict[str, float] = {}
    back: dict[str, float] = {}
    deadline = cut + (Backoff(BASE, CAP).ceiling(1) + Backoff(BASE, CAP).ceiling(2)) + 10
    while len(back) < ACCOUNTS and time.monotonic() < deadline:
        state = env.sim.state.snapshot()["accounts"]
        at = time.monotonic() - cut
        for unb in unbs:
            now, was = state[unb], before[unb]
            if unb not in first_try and now["faults"]["refuse_connect"]["fired"] > was["faults"]["refuse_connect"]["fired"]:
                first_try[unb] = at
            if unb not in back and now["online"] and now["connections"] > was["connections"]:
                back[unb] = at
        time.sleep(POLL)

    assert len(back) == ACCOUNTS, f"{ACCOUNTS - len(back)} accounts not back within {deadline - cut:.0f} s"
    assert len(first_try) == ACCOUNTS  # each was refused once first, then came back
    env.wait_online(run, timeout=5)  # the service agrees

    after = env.ctl.state()
    tokens = sum(after[u]["tokens_issued"] - before[u]["tokens_issued"] for u in unbs)
    assert tokens == 0, f"{tokens} token calls: a reconnect must reuse the kept, valid token"
    assert all(after[u]["connections"] == before[u]["connections"] + 1 for u in unbs), "a reconnect was cut again"

    tries = sorted(first_try.values())
    floor = (1 - JITTER) * BASE
    assert tries[0] >= floor, f"a first reconnect {tries[0]:.2f} s after the cut, before the backoff's {floor} s"
    spread = tries[-1] - tries[0]
    assert spread >= 0.3 * BASE, (
        f"first reconnects of {ACCOUNTS} accounts within {spread:.2f} s (< 30 % of the {BASE} s first delay): "
        f"a herd; at {[round(t, 2) for t in tries]}")
    # Liveness, not timing: every account came back after its two backoff delays, within their ceilings + 10 s.
    assert max(back.values()) < deadline - cut
    wait_until(lambda: all(run.state(i) == "online" for i in ids), 5)
