"""A buyer whose message waits on the model when the service is killed (SIGKILL) is answered once after the restart.

The message is recorded undecided before the model is asked (its push ACKed), so the kill loses nothing: the next
start's recover pass asks the chain again, the model answers this time, and the buyer gets exactly one reply.
"""

from __future__ import annotations

from bench.harness import ServiceProcess
from sim.llm import FakeModel
from tests.service.conftest import BUYER, ITEM, Env
from tests.service.support import stays, wait_until

ANSWER = "有的，九成新"


def test_a_message_waiting_on_the_model_survives_a_kill(env: Env, model: FakeModel) -> None:
    account = env.seller("shop-a", ai={"enabled": True}, default_reply={"text": "在的"})
    unb = env.unb("shop-a")
    env.ctl.item(unb, ITEM, "二手键盘", price="100.00")
    env.write([account], settings={"ai": {"base_url": model.base_url, "model": "sim-chat", "timeout": 20}})
    service = ServiceProcess(env.config, env.dir / "service.log")
    model.script(queue=[{"delay": 30}], default={"content": ANSWER})
    service.start()
    try:
        wait_until(lambda: env.ctl.online(unb), 30, lambda: (env.dir / "service.log").read_text()[-2000:])
        cid = env.ctl.message(unb, BUYER, "还有货吗", item_id=ITEM)["cid"]
        wait_until(lambda: model.requests(), 10, "the model was not asked")
        service.kill()  # the model is still thinking
        assert env.ctl.sent_in(unb, cid) == []
        service.start()
        [reply] = wait_until(lambda: env.ctl.sent_in(unb, cid), 30,
                             lambda: (env.dir / "service.log").read_text()[-2000:])
        assert reply["text"] == ANSWER
        assert stays(lambda: len(env.ctl.sent_in(unb, cid)) == 1, 2.0)
    finally:
        service.stop()
