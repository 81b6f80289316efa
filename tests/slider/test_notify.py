"""Notifications end to end, on a running Service, the simulator and real headless Chromium: risk control that the
slider cannot solve → exactly one notification carrying the punish URL and the manual steps; the manual path
brings the account back → exactly one follow-up."""

from __future__ import annotations

import time

from core import events as ev
from tests.service.conftest import Env
from tests.service.support import wait_until
from tests.slider.conftest import RULES, SOLVE_SECONDS, manual_x5sec
from tests.webhooks import Receiver

NOTIFY_FAST = {"notify": {"group_seconds": 0.5}}


def test_an_unsolvable_slider_is_one_notification_and_its_recovery_one_more(env: Env) -> None:
    with Receiver() as hook:
        ua = env.seller("shop-a", **RULES) and env.unb("shop-a")
        env.ctl.fault(ua, "risk_control", 1)
        env.ctl.fault(ua, "slider_reject", -1)
        run = env.start([env.seller("shop-a", alias="Shop A", **RULES)], online=False,
                        settings={"slider_tries": 1, **NOTIFY_FAST}, notify=[hook.url("json", "/hook/TOKEN98765")])
        failed = run.events.wait_for(ev.VerificationChanged, "shop-a", SOLVE_SECONDS, phase="failed")
        wait_until(lambda: hook.messages(), 10, "no notification arrived")
        time.sleep(2)  # the breaker holds; nothing else may arrive
        [opened] = hook.messages()
        assert opened.title == "Shop A needs a slider check" and opened.kind == "failure"
        assert failed.url in opened.message and "python xianyu.py verify shop-a" in opened.message

        env.ctl.fault(ua, "slider_reject", 0)
        fresh = env.ctl.account(ua, "店铺shop-a")
        x5sec = manual_x5sec(env, run.svc.pending_verification("shop-a"))
        run.svc.set_cookie("shop-a", f"{fresh}; x5sec={x5sec}")
        env.wait_online(run, "shop-a", timeout=10)
        wait_until(lambda: len(hook.messages()) == 2, 10, lambda: f"got {hook.messages()}")
        time.sleep(1)
        assert [m.title for m in hook.messages()][1].startswith("Shop A: back online after ")
        assert len(hook.messages()) == 2 and hook.messages()[1].kind == "success"
        [sent, recovered] = sorted(run.store.notices.recent_messages(), key=lambda m: m.id or 0)
        assert (sent.state, recovered.state, recovered.kind) == ("sent", "sent", "account_recovered")
