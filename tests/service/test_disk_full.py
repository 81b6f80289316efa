"""The disk fills up under a running service: no buyer message is lost, none answered unrecorded, none twice.

The full disk is real, made without privileges: the service runs as a child process and its file-size limit
(RLIMIT_FSIZE, set from outside with prlimit) drops to 0, so every write to a regular file fails in the kernel
(EFBIG) — SQLite's database and WAL included — exactly where a full disk fails it. Its output goes to a pipe, which
the limit does not touch, so the test reads every line it logs. The simulator is the judge: what the seller sent,
and how many of the account's pushes are still un-ACKed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.child import Child
from tests.service.conftest import ITEM, Env
from tests.service.support import stays, wait_until

SELLER = "shop-a"
QUESTION = "这个还有吗"
ANSWER = "有的，亲"
OUTAGE_LINE = "cannot record buyer messages"



def children() -> Iterator[list[Child]]:
    made: list[Child] = []
    yield made
    for child in made:
        child.end(kill=True)


def start(env: Env, made: list[Child]) -> Child:
    before = env.ctl.account_state(env.unb(SELLER))["connections"]
    child = Child(env.config)
    made.append(child)
    wait_until(lambda: env.ctl.account_state(env.unb(SELLER))["connections"] > before, 30, child.log)
    wait_until(lambda: env.ctl.online(env.unb(SELLER)), 10, child.log)
    return child


def answers(env: Env) -> list[str]:
    return [m["text"] for m in env.ctl.sent(env.unb(SELLER)) if m["text"] == ANSWER]


def unacked(env: Env) -> int:
    return env.ctl.account_state(env.unb(SELLER))["unacked"]


def ask_while_full(env: Env, child: Child, prefix: str) -> list[str]:
    """Fill the disk, send one question from each of four buyers, and wait for the outage line."""
    buyers = [f"{prefix}{n:02d}" for n in range(4)]
    child.disk_full(True)
    for buyer in buyers:
        env.ctl.message(env.unb(SELLER), buyer, QUESTION, item_id=ITEM)
    wait_until(lambda: any(OUTAGE_LINE in line for line in child.lines), 15, child.log)
    return buyers


@pytest.fixture
def shop(env: Env) -> Env:
    account = env.seller(SELLER, keywords=[{"match": "还有", "reply": ANSWER}])
    env.ctl.item(env.unb(SELLER), ITEM, "二手键盘")
    env.write([account], settings={"debounce_seconds": 0})
    return env


def test_with_the_disk_full_nothing_is_answered_or_acked_and_all_is_answered_once_when_space_returns(
        shop: Env, children: list[Child]) -> None:
    env = shop
    child = start(env, children)
    buyers = ask_while_full(env, child, "33000000009")
    assert stays(lambda: answers(env) == [] and unacked(env) >= len(buyers), 3.0), (answers(env), unacked(env))
    assert env.ctl.online(env.unb(SELLER)), "the account stays online through the outage"

    child.disk_full(False)
    wait_until(lambda: len(answers(env)) == len(buyers), 40, child.log)
    assert stays(lambda: len(answers(env)) == len(buyers), 2.0)
    assert len({m["cid"] for m in env.ctl.sent(env.unb(SELLER))}) == len(buyers)  # one answer in each chat
    wait_until(lambda: unacked(env) == 0, 15, lambda: f"{unacked(env)} pushes left un-ACKed\n{child.log()}")
    outage_lines = [line for line in child.lines if OUTAGE_LINE in line]
    assert len(outage_lines) == 1, outage_lines  # reported once, not once per message or per retry
    assert any("writable again" in line for line in child.lines), child.log()


def test_messages_that_met_a_full_disk_are_answered_after_a_kill_and_restart(shop: Env,
                                                                            children: list[Child]) -> None:
    """The issue's case: 4 messages arrived while the disk was full, then the process died. They were never
    ACKed, so the next run gets them again from the platform and answers each once."""
    env = shop
    child = start(env, children)
    buyers = ask_while_full(env, child, "33000000008")
    child.end(kill=True)
    assert answers(env) == []

    child = start(env, children)  # a new process: no limit, the disk has room again
    wait_until(lambda: len(answers(env)) == len(buyers), 30, child.log)
    assert stays(lambda: len(answers(env)) == len(buyers), 2.0)
    assert len({m["cid"] for m in env.ctl.sent(env.unb(SELLER))}) == len(buyers)
