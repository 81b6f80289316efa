"""Hot reload of accounts.yml while the service runs: only what changed restarts; a broken edit is reported
with FILE:LINE and the running configuration stays."""

from __future__ import annotations

from core import events as ev
from tests.service.conftest import BUYER, BUYER2, Env
from tests.service.support import wait_until

ITEM = "900000000009"
RELOAD_TIMEOUT = 8.0  # the watcher polls every 2 s and acts on a content read twice the same


def _reply(env: Env, account_id: str, buyer: str, text: str) -> str:
    unb = env.unb(account_id)
    since = len(env.ctl.sent(unb))
    cid = env.ctl.message(unb, buyer, text, item_id=ITEM)["cid"]
    new = wait_until(lambda: [m for m in env.ctl.sent(unb, since) if m["cid"] == cid], 5,
                     f"{account_id} did not answer {text!r}")
    return new[0]["text"]


def test_reload_starts_stops_and_restarts_only_what_changed(env: Env) -> None:
    a = env.seller("shop-a", default_reply="A：{text}")
    b = env.seller("shop-b", keywords=[{"match": "价格", "reply": "旧价格"}])
    c = env.seller("shop-c", default_reply="C：{text}")
    e = env.seller("shop-e", default_reply="E：{text}", enabled=False)
    run = env.start([a, b, c, e])
    ua, ub, uc, ue = env.unb("shop-a"), env.unb("shop-b"), env.unb("shop-c"), env.unb("shop-e")
    assert run.state("shop-e") == "disabled" and env.ctl.account_state(ue)["connections"] == 0
    assert _reply(env, "shop-b", BUYER, "价格多少") == "旧价格"

    d = env.seller("shop-d", default_reply="D：{text}")
    b_new = {**b, "keywords": [{"match": "价格", "reply": "新价格 {text}"}]}
    env.write([a, b_new, d, {**e, "enabled": True}])
    reloaded = run.events.wait_for(ev.ConfigReloaded, timeout=RELOAD_TIMEOUT)
    assert (reloaded.added, reloaded.removed, reloaded.changed) == (("shop-d",), ("shop-c",), ("shop-b", "shop-e"))

    env.wait_online(run, "shop-b", "shop-d", "shop-e")
    wait_until(lambda: not env.ctl.online(uc), 5, "the removed account is still online in the simulator")
    assert [s.account_id for s in run.svc.manager.snapshots()] == ["shop-a", "shop-b", "shop-d", "shop-e"]
    assert _reply(env, "shop-e", BUYER, "启用了吗") == "E：启用了吗"
    assert run.svc.sessions.get("shop-c") is None
    assert _reply(env, "shop-b", BUYER2, "价格呢") == "新价格 价格呢"
    assert _reply(env, "shop-d", BUYER, "你好") == "D：你好"
    state = env.ctl.state()
    assert state[ub]["connections"] == 2, "the changed account was not restarted"
    assert state[ua]["connections"] == 1 and state[ua]["online"], "an unchanged account was restarted"
    assert run.events.states("shop-a") == ["starting", "online"]
    # A removed account's buyers get nothing any more.
    env.ctl.message(uc, BUYER, "还在吗", item_id=ITEM)
    assert env.ctl.account_state(uc)["queued"] == 1

    # A broken edit: reported as FILE:LINE: key.path, and the running configuration stays.
    text = env.config.read_text(encoding="utf-8")
    lines = text.splitlines()
    at = lines.index("- id: shop-a") + 1
    lines.insert(at, "  keywordz: []")
    env.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    invalid = run.events.wait_for(ev.ConfigInvalid, timeout=RELOAD_TIMEOUT)
    assert any(e.startswith(f"{env.config}:{at + 1}: accounts[0].keywordz: unknown key") for e in invalid.errors), \
        invalid.errors
    assert _reply(env, "shop-b", BUYER, "价格还是") == "新价格 价格还是"
    assert _reply(env, "shop-a", BUYER2, "你好") == "A：你好"
    state = env.ctl.state()
    assert [state[u]["connections"] for u in (ua, ub, env.unb("shop-d"))] == [1, 2, 1]
    assert len(run.events.of(ev.ConfigReloaded)) == 1
    assert all(run.state(i) == "online" for i in ("shop-a", "shop-b", "shop-d", "shop-e"))

    # Bad YAML is reported with its line too.
    env.config.write_text(text + "accounts: [\n", encoding="utf-8")
    wait_until(lambda: len(run.events.of(ev.ConfigInvalid)) == 2, RELOAD_TIMEOUT)
    errors = run.events.of(ev.ConfigInvalid)[1].errors
    assert any(e.startswith(f"{env.config}:") and ": (yaml): " in e for e in errors), errors
    assert _reply(env, "shop-a", BUYER, "还好吗") == "A：还好吗"
