"""Many accounts and chats at once: every buyer message answered exactly once, in order within its chat."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from core import events as ev
from tests.service.conftest import Env
from tests.service.support import stays, wait_until

ACCOUNTS = 5
BUYERS = 4
MESSAGES = 5


def test_parallel_chats_across_accounts_are_each_answered_once_in_order(env: Env) -> None:
    ids = [f"shop-{n}" for n in range(ACCOUNTS)]
    run = env.start([env.seller(i, default_reply="收到：{text}") for i in ids])
    unbs = [env.unb(i) for i in ids]

    def chat(seller: str, buyer: str) -> str:
        cid = ""
        for n in range(MESSAGES):
            cid = env.ctl.message(seller, buyer, f"{buyer[-2:]}-{n}", item_id="900000000009")["cid"]
        return cid

    with ThreadPoolExecutor(8) as pool:
        jobs = {(u, b): pool.submit(chat, u, f"33000000001{b:02d}") for u in unbs for b in range(BUYERS)}
        cids = {key: job.result() for key, job in jobs.items()}
    total = ACCOUNTS * BUYERS * MESSAGES
    wait_until(lambda: sum(len(env.ctl.sent(u)) for u in unbs) >= total, 20,
               lambda: f"{sum(len(env.ctl.sent(u)) for u in unbs)} of {total} answered")
    assert stays(lambda: sum(len(env.ctl.sent(u)) for u in unbs) == total, 0.5)
    for (unb, b), cid in cids.items():
        texts = [m["text"] for m in env.ctl.sent_in(unb, cid)]
        assert texts == [f"收到：{b:02d}-{n}" for n in range(MESSAGES)], (unb, cid, texts)
    assert run.events.of(ev.ReplyFailed) == []
    assert all(run.state(i) == "online" for i in ids)
    assert [env.ctl.account_state(u)["connections"] for u in unbs] == [1] * ACCOUNTS
