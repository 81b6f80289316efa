"""The slot pool solving the simulator's slider page in real headless Chromium: retries, failures, time-outs,
stopping mid-job, and what ``status()`` reports."""

from __future__ import annotations

import threading
import time

from core import events as ev
from core.goofish.endpoints import DEFAULT_UA
from core.slider import SliderPool, SliderSettings
from tests.service.conftest import Env
from tests.service.support import Recorder, wait_until
from tests.slider.conftest import UNB, punish_url, token_with


def _pool(**settings) -> tuple[SliderPool, Recorder]:
    bus, recorder = ev.EventBus(), Recorder()
    bus.add(recorder)
    return SliderPool(SliderSettings(**settings), bus), recorder


def _phases(recorder: Recorder, account_id: str = "shop-a") -> list[tuple[str, int]]:
    return [(e.phase, e.attempt) for e in recorder.of(ev.VerificationChanged, account_id)]


def test_a_rejected_drag_is_retried_and_the_x5sec_unlocks_the_token(env: Env) -> None:
    url, jar = punish_url(env)
    env.ctl.fault(UNB, "slider_reject", 1)
    pool, recorder = _pool()
    earned = pool.verify("shop-a", url, DEFAULT_UA, dict(jar.items()))
    assert earned is not None and set(earned) == {"x5sec"}
    assert _phases(recorder) == [("queued", 0), ("running", 1), ("running", 2), ("solved", 0)]
    state = env.ctl.account_state(UNB)
    assert (state["slides_attempted"], state["slides_accepted"], state["x5sec_issued"]) == (2, 1, 1)
    jar.merge(earned)
    assert token_with(env, jar)
    [outcome] = pool.status().recent
    assert outcome.ok and outcome.account_id == "shop-a" and outcome.url == url and outcome.seconds > 0
    assert pool.status().busy == () and pool.status().queued == ()


def test_a_job_gives_up_when_no_slot_frees_in_time_and_stopping_ends_a_running_job(env: Env) -> None:
    url, jar = punish_url(env)
    env.ctl.fault(UNB, "slider_reject", -1)
    pool, recorder = _pool(slots=1, wait_timeout=0.5, tries=50)
    first = threading.Thread(target=pool.verify, args=("shop-a", url, DEFAULT_UA, dict(jar.items())))
    first.start()
    wait_until(lambda: recorder.of(ev.VerificationChanged, "shop-a", phase="running"), 30)
    assert pool.status().busy == ("shop-a",)
    assert pool.verify("shop-b", url, DEFAULT_UA) is None
    gave_up = recorder.of(ev.VerificationChanged, "shop-b", phase="gave_up")[0]
    assert gave_up.detail == "no browser slot free within 0.5s"
    began = time.monotonic()
    pool.close()
    first.join(10)
    assert not first.is_alive() and time.monotonic() - began < 5
    assert recorder.of(ev.VerificationChanged, "shop-a", phase="failed")[0].detail == "stopping"
    assert [o.account_id for o in pool.status().recent] == ["shop-a", "shop-b"]
