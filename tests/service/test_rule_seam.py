"""The reply chain's seam end to end: a new kind of rule is registered, not wired into the pipeline.

A slow rule (one that waits, like a model call) runs off the socket thread and outside the messages-in-flight
slots; when it fails, the chain falls through to the next rule and the buyer is answered anyway.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from core.replies import rules as chain_rules
from core.replies.rules import Message, Outcome, RuleKind
from tests.service.conftest import BUYER, Env
from tests.service.support import wait_until


@dataclass
class Slow:
    """A slow rule that answers "慢回复" for messages containing "慢", and fails on "坏"."""

    rule_id: str = "slow"
    slow: bool = True
    threads: list[str] | None = None
    release: threading.Event | None = None

    def decide(self, message: Message) -> Outcome | None:
        assert self.threads is not None and self.release is not None
        self.threads.append(threading.current_thread().name)
        self.release.wait(5)
        if "坏" in message.text:
            raise RuntimeError("the model is down")
        return Outcome(self.rule_id, "慢回复") if "慢" in message.text else None


@pytest.fixture
def slow_rule(monkeypatch: pytest.MonkeyPatch) -> Slow:
    rule = Slow(threads=[], release=threading.Event())
    monkeypatch.setattr(chain_rules, "_KINDS", list(chain_rules._KINDS))
    chain_rules.register(RuleKind("slow-test", 30, lambda account: [rule]))
    return rule


def test_a_registered_slow_rule_answers_off_the_socket_thread(env: Env, slow_rule: Slow) -> None:
    account = env.seller("shop-a", keywords=[{"match": "包邮", "reply": "包邮的"}],
                         default_reply={"text": "默认回复"})
    run = env.start([account], settings={"messages_in_flight": 1})
    unb = env.unb("shop-a")
    slow_cid = env.ctl.message(unb, BUYER, "慢慢说")["cid"]
    wait_until(lambda: slow_rule.threads, 5, "the slow rule was not asked")
    # While the slow rule waits, it holds no handler slot (messages_in_flight is 1): other chats are answered.
    quick = env.ctl.message(unb, "3300000000099", "包邮吗")["cid"]
    assert wait_until(lambda: env.ctl.sent_in(unb, quick), 5, "a keyword reply waited on the slow rule")
    assert env.ctl.sent_in(unb, slow_cid) == []
    slow_rule.release.set()
    [reply] = wait_until(lambda: env.ctl.sent_in(unb, slow_cid), 5, "no slow reply")
    assert reply["text"] == "慢回复"
    assert all(name.startswith("slow-rule") for name in slow_rule.threads), slow_rule.threads
    assert run.svc.sessions.get("shop-a") is not None


def test_a_failing_slow_rule_falls_through_to_the_next_rule(env: Env, slow_rule: Slow) -> None:
    slow_rule.release.set()
    account = env.seller("shop-a", default_reply={"text": "默认回复"})
    env.start([account])
    unb = env.unb("shop-a")
    cid = env.ctl.message(unb, BUYER, "坏了")["cid"]
    [reply] = wait_until(lambda: env.ctl.sent_in(unb, cid), 5, "the buyer was not answered")
    assert reply["text"] == "默认回复"
