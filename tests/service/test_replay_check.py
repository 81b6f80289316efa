"""A replayed buyer message is answered only when the chat shows no answer to it (issue: lost database).

When the database is lost (deleted, restored from an old copy), the next start asks the platform for the last
`max_message_age` of messages, and every buyer among them would be answered again. A message the platform
delivers more than `REPLAY_CHECK_MS` after writing it is checked against the chat's history on the server
first. Real simulator, real sockets, real SQLite files; the simulator's record of what the seller sent judges.
"""

from __future__ import annotations

import time
from pathlib import Path

from core.replies.answer import REPLAY_CHECK_MS
from core.replies.verdict import Decision
from tests.service.conftest import BUYER, ITEM, Env
from tests.service.support import stays, wait_until

ANSWER = "有的，亲"


def _delete_database(env: Env) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{env.dir / 'x.db'}{suffix}").unlink(missing_ok=True)


def _answers(env: Env) -> list[dict]:
    return [m for m in env.ctl.sent(env.unb("shop-a")) if m["text"] == ANSWER]


def _older_than_the_replay_check() -> None:
    time.sleep(REPLAY_CHECK_MS / 1000 + 1.0)


def test_a_lost_database_does_not_answer_the_replayed_buyers_again(env: Env) -> None:
    account = env.seller("shop-a", keywords=[{"match": "还有", "reply": ANSWER}])
    env.ctl.item(env.unb("shop-a"), ITEM, "二手键盘")
    run = env.start([account], settings={"debounce_seconds": 0})
    env.ctl.message(env.unb("shop-a"), BUYER, "这个还有吗", item_id=ITEM)
    wait_until(lambda: len(_answers(env)) == 1, 10)
    run.stop()
    _delete_database(env)
    _older_than_the_replay_check()

    run = env.start()
    wait_until(lambda: [m.decision for m in run.store.messages.recent("shop-a")] == [Decision.ANSWERED_BEFORE], 15,
               lambda: str(run.store.messages.recent("shop-a")))
    assert stays(lambda: len(_answers(env)) == 1, 1.5), _answers(env)


def test_a_replayed_burst_of_one_buyer_gets_every_answer_it_is_owed(env: Env) -> None:
    """Two messages written while the service was down, both replayed: the answer this run gives the first is
    its own, no sign that the second was answered."""
    account = env.seller("shop-a", keywords=[{"match": "还有", "reply": ANSWER}])
    env.ctl.item(env.unb("shop-a"), ITEM, "二手键盘")
    run = env.start([account], settings={"debounce_seconds": 0})
    run.stop()
    env.ctl.message(env.unb("shop-a"), BUYER, "这个还有吗", item_id=ITEM)
    env.ctl.message(env.unb("shop-a"), BUYER, "还有别的颜色吗", item_id=ITEM)
    _older_than_the_replay_check()

    run = env.start()
    wait_until(lambda: len(_answers(env)) == 2, 15, lambda: str(run.store.messages.recent("shop-a")))
    assert stays(lambda: len(_answers(env)) == 2, 1.5)
    assert [m.decision for m in run.store.messages.recent("shop-a")] == [Decision.REPLIED] * 2
