"""Notifications end to end on a running Service and the simulator, posting to a local webhook receiver: a paid
order that cannot be delivered (one message with the order and the retry key, one follow-up once delivered, low
stock on the way), a flapping account (at most one offline message and its recovery), a receiver that fails
(retries, then dead with the provider's error) or hangs (buyers are answered meanwhile), and no token of the
channel's URL in any log line or stored row."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator

import pytest

from core import events as ev
from core.logsink import LogSink, setup_logging
from tests.orders.support import SELLER, fill_stock, place_paid, stock_seller, wait_delivered
from tests.service.conftest import BUYER, Env
from tests.service.support import stays, wait_until
from tests.webhooks import Receiver

TOKEN = "TOKENabc123456"  # the secret part of the channel's URL


def _hook_url(hook: Receiver) -> str:
    return hook.url("json", f"/robot/send/{TOKEN}")


def _titles(hook: Receiver) -> list[str]:
    return [m.title for m in hook.messages()]


def test_an_undeliverable_order_is_one_message_with_the_retry_key_and_one_when_delivered(env: Env) -> None:
    with Receiver() as hook:
        run = env.start([stock_seller(env, 0, low_stock=1)], notify=[_hook_url(hook)],
                        settings={"delivery_attempts": 2, "delivery_retry_seconds": 0.2,
                                  "notify": {"group_seconds": 0.5}})
        order_id = place_paid(env)
        wait_until(lambda: _titles(hook), 15, "no notification")
        assert stays(lambda: len(hook.messages()) == 1, 1.5)
        [failed] = hook.messages()
        assert failed.title == f"{SELLER}: an order could not be delivered" and failed.kind == "failure"
        assert order_id in failed.message and f"retry key order:{order_id}" in failed.message

        fill_stock(run, "cards", 2)  # the seller restocks and retries from the dashboard
        run.svc.orders.retry(order_id)
        wait_delivered(run, order_id)
        wait_until(lambda: len(hook.messages()) >= 3, 10, lambda: f"got {_titles(hook)}")
        time.sleep(1)
        kinds = sorted(m.kind for m in run.store.notices.recent_messages())
        assert kinds == ["account_recovered", "delivery_failed", "low_stock"]
        assert any(t.startswith(f"{SELLER}: order {order_id} delivered after ") for t in _titles(hook))


def test_a_flapping_account_is_at_most_one_offline_message_and_one_recovery(env: Env) -> None:
    with Receiver() as hook:
        run = env.start([env.seller("shop-a", default_reply="ok")], notify=[_hook_url(hook)],
                        settings={"notify": {"grace_seconds": 3, "fail_count": 4, "group_seconds": 0.5}})
        unb = env.unb("shop-a")
        began = time.monotonic()
        for _ in range(10):  # 10 disconnects in well under a minute
            env.ctl.fault(unb, "disconnect", 1)
            wait_until(lambda: run.events.states("shop-a")[-1] == "backoff", 5)
            env.wait_online(run, "shop-a")
        assert time.monotonic() - began < 60
        wait_until(lambda: len(hook.messages()) >= 2, 15, lambda: f"got {_titles(hook)}")  # stable for 3 s: over
        assert stays(lambda: len(hook.messages()) == 2, 2.0)
        offline, recovered = _titles(hook)
        assert offline == "shop-a is offline" and "disconnected" in hook.messages()[0].message
        assert recovered.startswith("shop-a: back online after ")


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """What the process writes to its log, as ``xianyu.py --no-tui --log-level DEBUG`` sets it up."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    written = io.StringIO()
    setup_logging("DEBUG", stream=written)
    try:
        yield written
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])


def test_a_failing_receiver_is_retried_then_given_up_with_the_providers_error(env: Env,
                                                                              service_log: io.StringIO) -> None:
    with Receiver() as hook:
        hook.mode = "fail"
        run = env.start([stock_seller(env, 0)], notify=[_hook_url(hook)],
                        settings={"delivery_attempts": 1, "notify": {"group_seconds": 0.2, "attempts": 3,
                                                                     "retry_seconds": 1}})
        run.svc.bus.add(LogSink())
        place_paid(env)
        wait_until(lambda: [m for m in run.store.notices.recent_messages() if m.state == "dead"], 20,
                   lambda: f"{run.store.notices.recent_messages()}")
        [dead] = run.store.notices.recent_messages()
        assert hook.attempts == 3 and dead.attempts == 3
        assert "keywords not in content" in dead.last_error and "error=500" in dead.last_error
        assert run.events.of(ev.NotificationChanged, state="dead")
        assert len(run.events.of(ev.NotificationChanged, state="retrying")) == 2
    logged = service_log.getvalue()
    assert "given up after 3 tries" in logged
    rows = " ".join(f"{m.title} {m.body} {m.last_error} {m.channel}" for m in run.store.notices.recent_messages())
    assert TOKEN not in logged and TOKEN not in rows, "the channel's token leaked"


def test_a_hanging_receiver_holds_up_no_buyer(env: Env) -> None:
    with Receiver() as hook:
        hook.mode = "hang"
        seller = {**stock_seller(env, 0, low_stock=0), "default_reply": "在的"}
        run = env.start([seller], notify=[_hook_url(hook)],
                        settings={"delivery_attempts": 1, "notify": {"group_seconds": 0.2, "retry_seconds": 1}})
        place_paid(env)
        wait_until(lambda: hook.attempts >= 1, 15, "apprise never reached the receiver")
        unb = env.unb(SELLER)
        sent_before = len(env.ctl.sent(unb))
        for n in range(5):
            env.ctl.message(unb, BUYER, f"在吗 {n}")
        wait_until(lambda: len(env.ctl.sent(unb)) >= sent_before + 5, 5, "buyers waited for the webhook")
        hook.release()
        hook.mode = "ok"
        wait_until(lambda: hook.messages(), 30, "the message never went out after the receiver recovered")
        [message] = wait_until(lambda: [m for m in run.store.notices.recent_messages() if m.state == "sent"], 5)
        assert message.attempts >= 2 and len(hook.messages()) == 1
