"""A buyer gets exactly one reply whatever moment the service is killed at (issue: crash-safe replies).

The service runs as `python xianyu.py --no-tui`, is killed with SIGKILL at each point of a reply's life and
started again on the same database; the simulator's record of what the seller sent is the judge. Points the
simulator answers too fast to hit by timing (a send in flight; the server's answer in, the "sent" mark not yet
written) are made by putting the rows back the way such a kill leaves them — the same rows, so the same recovery.
Each case runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from sqlalchemy import update
from sqlmodel import SQLModel

from bench.harness import ServiceProcess
from core.clock import now_ms
from core.replies.verdict import Decision, Verdict
from storage import Reply, ReplyStatus, Store, open_engine
from tests.service.conftest import BUYER, ITEM, Env
from tests.service.support import stays, wait_until

SELLER = "shop-a"
QUESTION = "这个还有吗"
ANSWER = "有的，亲"
T = TypeVar("T")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, env: Env) -> Iterator[str]:
    if request.param == "sqlite":
        yield env.db_url
        return
    url = request.getfixturevalue("postgres_url")  # one server for the session: start, and leave, it empty
    _drop_tables(url)
    yield url
    _drop_tables(url)


def _drop_tables(url: str) -> None:
    engine = open_engine(url)
    try:
        SQLModel.metadata.drop_all(engine)
    finally:
        engine.dispose()


class Harness:
    def __init__(self, env: Env, database: str, **settings: object) -> None:
        self.env = env
        self.db_url = database
        account = env.seller(SELLER, keywords=[{"match": "还有", "reply": ANSWER}])
        env.ctl.item(env.unb(SELLER), ITEM, "二手键盘")
        env.write([account], database=database, settings={"debounce_seconds": 0, **settings})
        self.service = ServiceProcess(env.config, env.dir / "service.log")

    def start(self) -> None:
        before = self.env.ctl.account_state(self.env.unb(SELLER))["connections"]
        self.service.start()
        wait_until(lambda: self.env.ctl.account_state(self.env.unb(SELLER))["connections"] > before, 30,
                   lambda: f"the service did not connect:\n{(self.env.dir / 'service.log').read_text()[-3000:]}")

    def kill(self) -> None:
        self.service.kill()

    def stop(self) -> None:
        self.service.stop()

    def ask(self) -> None:
        self.env.ctl.message(self.env.unb(SELLER), BUYER, QUESTION, item_id=ITEM)

    def answers(self) -> list[str]:
        return [m["text"] for m in self.env.ctl.sent(self.env.unb(SELLER)) if m["text"] == ANSWER]

    def replies(self) -> list[Reply]:
        """The reply rows answering the buyer's messages."""
        return self.rows(lambda store: [reply for _message, reply in store.chats.inbox("chat", SELLER)
                                        if reply is not None])

    def rows(self, read: Callable[[Store], T]) -> T:
        with Store(self.db_url) as store:
            return read(store)


@pytest.fixture
def harness(env: Env, database: str) -> Iterator[Harness]:
    made: list[Harness] = []

    def make(**settings: object) -> Harness:
        made.append(Harness(env, database, **settings))
        return made[-1]

    yield make  # type: ignore[misc]
    for h in made:
        h.stop()


def exactly_one_answer(h: Harness) -> None:
    wait_until(lambda: h.answers(), 20, lambda: (h.env.dir / "service.log").read_text()[-3000:])
    assert stays(lambda: len(h.answers()) == 1, 2.0), h.answers()
    wait_until(lambda: [r.status for r in h.replies()] == [ReplyStatus.SENT], 10, lambda: str(h.replies()))


def test_killed_after_recording_before_deciding(harness) -> None:  # type: ignore[no-untyped-def]
    h = harness(debounce_seconds=30)  # the message waits, recorded and undecided, for the burst to end
    h.start()
    h.ask()
    wait_until(lambda: h.rows(lambda s: s.messages.recent(SELLER)), 10)
    h.kill()
    assert h.rows(lambda s: [m.decision for m in s.messages.recent(SELLER)]) == [None]
    h.env.write([h.env.seller(SELLER, keywords=[{"match": "还有", "reply": ANSWER}])], database=h.db_url,
                settings={"debounce_seconds": 0})
    h.start()
    exactly_one_answer(h)


def test_killed_after_deciding_before_the_first_send(harness) -> None:  # type: ignore[no-untyped-def]
    h = harness(debounce_seconds=30)
    h.start()
    h.ask()
    wait_until(lambda: h.rows(lambda s: s.messages.recent(SELLER)), 10)
    h.kill()

    def decide(store: Store) -> None:  # what the killed run had written: the decision and its pending reply
        (message,) = store.messages.recent(SELLER)
        assert message.id is not None and message.sender_id is not None
        store.messages.decide(message.id, SELLER, message.cid, Verdict(
            Decision.REPLIED, now_ms(), "keyword[0]", reply_text=ANSWER, to_id=message.sender_id))

    h.rows(decide)
    h.start()
    exactly_one_answer(h)


def test_killed_after_a_failed_try_waiting_for_its_retry(harness) -> None:  # type: ignore[no-untyped-def]
    h = harness()
    h.start()
    h.env.ctl.fault(h.env.unb(SELLER), "send_error", 1)
    h.ask()
    wait_until(lambda: h.env.ctl.fired(h.env.unb(SELLER), "send_error") == 1, 10)
    h.kill()  # the retry was 2 s away
    assert h.answers() == []
    assert [r.status for r in h.replies()] == [ReplyStatus.PENDING]
    h.start()
    exactly_one_answer(h)


def test_killed_after_the_server_took_it_before_the_sent_mark(harness) -> None:  # type: ignore[no-untyped-def]
    """The send was in flight and the server took it, but the run died before its answer made the row "sent".
    (In flight and lost on the way leaves the rows of the case before the first send, and the server nothing.)"""
    h = harness()
    h.start()
    h.ask()
    wait_until(lambda: [r.status for r in h.replies()] == [ReplyStatus.SENT], 10)
    h.kill()
    engine = open_engine(h.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(update(Reply).where(Reply.account_id == SELLER)
                         .values(status=ReplyStatus.PENDING.value, sent_at_ms=None))
    finally:
        engine.dispose()
    h.start()
    exactly_one_answer(h)


def test_a_reply_left_unsent_too_long_is_marked_expired_not_sent(harness) -> None:  # type: ignore[no-untyped-def]
    h = harness(debounce_seconds=30, max_message_age=60)
    h.start()
    h.ask()
    wait_until(lambda: h.rows(lambda s: s.messages.recent(SELLER)), 10)
    h.kill()

    def decide_long_ago(store: Store) -> None:
        (message,) = store.messages.recent(SELLER)
        assert message.id is not None and message.sender_id is not None
        store.messages.decide(message.id, SELLER, message.cid, Verdict(
            Decision.REPLIED, now_ms() - 120_000, "keyword[0]", reply_text=ANSWER, to_id=message.sender_id))

    h.rows(decide_long_ago)
    h.start()
    wait_until(lambda: [r.status for r in h.replies()] == [ReplyStatus.EXPIRED], 15, lambda: str(h.replies()))
    (reply,) = h.replies()
    assert reply.error and "older than max_message_age" in reply.error
    assert stays(lambda: h.answers() == [], 1.5)


def test_a_dashboard_reply_killed_before_its_send_goes_out_once_and_pauses_the_chat(harness) -> None:  # type: ignore[no-untyped-def]
    """A reply typed in the dashboard is a pending row before its first try, like any: the same guarantee."""
    typed = "我手动回复一下"
    h = harness(takeover_minutes=10)
    h.start()
    h.ask()
    exactly_one_answer(h)
    h.kill()
    (message,) = h.rows(lambda s: s.messages.recent(SELLER))
    assert message.sender_id is not None
    h.rows(lambda s: s.replies.add(account_id=SELLER, cid=message.cid, to_id=message.sender_id, rule="manual",
                                   text=typed, decided_at_ms=now_ms()))
    h.start()
    wait_until(lambda: [m for m in h.env.ctl.sent(h.env.unb(SELLER)) if m["text"] == typed], 20)
    assert stays(lambda: len([m for m in h.env.ctl.sent(h.env.unb(SELLER)) if m["text"] == typed]) == 1, 1.5)
    assert h.answers() == [ANSWER]
    wait_until(lambda: [p.cid for p in h.rows(lambda s: s.chats.pauses(now_ms(), SELLER))] == [message.cid], 10)
