"""Many accounts and chats at once: every buyer message answered exactly once, in order within its chat."""

from __future__ import annotations

import time
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


def test_full_handlers_never_stall_the_sockets_that_answer_them(env: Env) -> None:
    # One handler and one message in flight: the handler waits for its send's answer, which only the account's
    # socket thread can read, while that thread receives more pushes than the bound admits. Blocking the socket
    # thread on the bound deadlocked the two until the send timed out; now it backlogs and keeps reading.
    ids = [f"shop-{n}" for n in range(3)]
    run = env.start([env.seller(i, default_reply="收到：{text}") for i in ids],
                    settings={"handler_threads": 1, "messages_in_flight": 1, "http_timeout": 30})
    unbs = [env.unb(i) for i in ids]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda k: env.ctl.message(unbs[k % 3], f"3300000002{k % 6:02d}", f"m{k}"), range(30)))
    wait_until(lambda: sum(len(env.ctl.sent(u)) for u in unbs) == 30, 10,
               lambda: f"{sum(len(env.ctl.sent(u)) for u in unbs)} of 30 answered")
    assert run.events.of(ev.ReplyFailed) == []
    assert all(run.state(i) == "online" for i in ids)


def test_a_session_waiting_for_a_free_handler_retries_less_and_less_often(env: Env) -> None:
    """While the handlers are full, a session offers its backlog again after 5 ms, then 10, 20 … up to
    100 ms: a hundred sessions retrying every 5 ms took the CPU the handlers needed to catch up."""
    a = env.seller("shop-a", default_reply="{item_title}：{text}")
    run = env.start([a], settings={"handler_threads": 1, "messages_in_flight": 1})
    unb = env.unb("shop-a")
    env.ctl.item(unb, "900000000007", "月卡")
    env.ctl.fault(unb, "slow_http", 1, delay=1.5)  # the one handler sits in a slow item fetch
    env.ctl.message(unb, "330000000300", "第一", item_id="900000000007")
    wait_until(lambda: env.ctl.account_state(unb)["faults"]["slow_http"]["fired"] == 1)
    session = run.svc.sessions.get("shop-a")
    offers: list[float] = []
    on_message = session._on_message

    def counting(s, event, stored):  # type: ignore[no-untyped-def]
        offers.append(time.monotonic())
        return on_message(s, event, stored)

    session._on_message = counting
    env.ctl.message(unb, "330000000301", "排队", item_id="900000000007")  # refused: goes to the backlog
    wait_until(lambda: len(offers) >= 1)
    time.sleep(1.0)  # the refusals themselves are what is counted: time is the condition here
    # 5 + 10 + 20 + 40 + 80 + 100 … ms: about 13 offers in the first second (every 5 ms would be ~200).
    assert len(offers) <= 20, len(offers)
    wait_until(lambda: len(env.ctl.sent(unb)) == 2, 10)  # and both are answered once the handler is free


def test_a_plain_reply_is_sent_by_the_socket_thread_while_every_handler_is_busy(env: Env) -> None:
    """A reply that needs no item fetch and no debounce is decided, recorded and sent on the socket thread,
    and the server's answer is taken when it comes: it does not wait for the one handler, which sits in a
    slow item fetch for another chat."""
    a = env.seller("shop-a", default_reply="{item_title}：{text}", keywords=[{"match": "价格", "reply": "现价 99"}])
    run = env.start([a], settings={"handler_threads": 1, "messages_in_flight": 1, "http_timeout": 10})
    unb = env.unb("shop-a")
    env.ctl.item(unb, "900000000007", "月卡")
    env.ctl.fault(unb, "slow_http", 1, delay=3)  # within the 10 s http_timeout
    slow = env.ctl.message(unb, "330000000500", "在吗", item_id="900000000007")["cid"]
    wait_until(lambda: env.ctl.account_state(unb)["faults"]["slow_http"]["fired"] == 1)
    quick = env.ctl.message(unb, "330000000501", "价格多少", item_id="900000000007")["cid"]
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(unb, quick)] == ["现价 99"], 1.5)
    assert env.ctl.sent_in(unb, slow) == []  # the handler is still fetching
    run.events.wait_for(ev.ReplySent, "shop-a", cid=quick)  # the server's answer was taken: marked sent
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(unb, slow)] == ["月卡：在吗"], 10)
    wait_until(lambda: {line.text: line.status for line in run.store.chats.history("shop-a", quick)
                        if line.direction == "out"} == {"现价 99": "sent"}, 2)
