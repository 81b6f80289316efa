"""AI replies in the dashboard, on a real Service against the simulator and the fake OpenAI-compatible model.

Suggest mode: the draft shows on the chat screen and the Inbox marks the chat; ``s`` sends it as is, ``e`` then
enter sends the seller's edit (a refused edit is a notification and the text stays), ``d`` discards it. A buyer
who asks for a person marks the chat "needs you" until the seller writes there (or ``n``). What reached the buyer
is read from the simulator (``/_sim/sent``). And the API key is never on screen.
"""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

import pytest
from textual.widgets import Input, Static

from core.goofish.cookies import mask
from sim.llm import FakeModel
from tests.service.conftest import BUYER, BUYER2, Env
from tests.tui.pilot import cell, dashboard, notification_hook, select_row, text_of, until
from tests.tui.test_pilot import spy
from tui.model import conversation_key
from tui.screens.chat import ChatScreen
from tui.screens.common import TextScreen
from tui.screens.detail import DetailScreen
from tui.screens.inbox import InboxScreen

SIZE = (120, 40)
ITEM = "900052644277"
DEFAULT = "在的，有什么可以帮您？"


def start_shop(env: Env, model: FakeModel, ai: dict[str, Any] | None = None, **account: Any) -> Any:
    entry = env.seller("shop-a", ai={"enabled": True, **(ai or {})}, default_reply={"text": DEFAULT}, **account)
    running = env.start([entry], settings={"ai": {"base_url": model.base_url, "model": "sim-chat", "timeout": 3}})
    env.ctl.item(env.unb("shop-a"), ITEM, "索尼 A7M3 相机", price="100.00", desc="九成新，带原装电池", quantity=1)
    return running


def sent_texts(env: Env, cid: str) -> list[str]:
    return [m["text"] for m in env.ctl.sent_in(env.unb("shop-a"), cid)]


def draft_shown(app: Any) -> str:
    """The draft panel's text, "" while it is hidden."""
    if not isinstance(app.screen, ChatScreen):
        return ""
    panel = app.screen.query_one("#draft", Static)
    return text_of(app, "#draft") if panel.display else ""


def screen_text(app: Any) -> str:
    """Every character the terminal shows now (the screenshot's text, tags and entities undone)."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def open_chat(app: Any, pilot: Any, cid: str) -> None:
    if isinstance(app.screen, ChatScreen):
        await pilot.press("escape")
    await until(lambda: isinstance(app.screen, InboxScreen))
    key = conversation_key("shop-a", cid)
    await until(lambda: cell(app, "inbox", key, "status"), what="the chat in the Inbox")
    select_row(app, "inbox", key)
    await pilot.press("enter")
    await until(lambda: isinstance(app.screen, ChatScreen) and app.screen.conversation.cid == cid)


def test_suggested_drafts_are_sent_edited_or_discarded_from_the_chat_screen(env: Env, model: FakeModel) -> None:
    run = start_shop(env, model, ai={"mode": "suggest"}, takeover_minutes=10)
    unb = env.unb("shop-a")
    app = dashboard(run.svc)
    notes, hook = notification_hook()
    sends = spy(app.backend.control, "send_suggestion")
    model.script(queue=[{"content": "九成新，功能完好"}, {"content": "亲，带原装电池的"}, {"content": "在的，亲"}])

    async def drive() -> None:
        async with app.run_test(size=SIZE, message_hook=hook) as pilot:
            await pilot.press("2")
            cid = env.ctl.message(unb, BUYER, "几成新", item_id=ITEM, buyer_nick="爱吃草莓的熊")["cid"]
            key = conversation_key("shop-a", cid)
            await until(lambda: cell(app, "inbox", key, "status") == "draft", what="the Inbox marks the draft")
            assert cell(app, "inbox", key, "reply") == "九成新，功能完好"  # the draft, where the reply goes
            assert "drafts 1" in app.header_summary()
            assert sent_texts(env, cid) == []  # a draft is not sent

            # 1. send as is
            await open_chat(app, pilot, cid)
            shown = await until(lambda: draft_shown(app), what="the draft panel")
            assert "九成新，功能完好" in shown and "s send as is" in shown
            await pilot.press("s")
            await until(lambda: sent_texts(env, cid) == ["九成新，功能完好"], what="the draft reached the buyer")
            await until(lambda: not draft_shown(app), what="the panel goes once sent")
            assert [args[1:] for args in sends] == [(None,)]
            assert any("draft sent" in n for n in notes)

            # 2. edit: a refused edit is said and kept; the edited text is what goes out
            env.ctl.message(unb, BUYER, "有电池吗", item_id=ITEM)
            await until(lambda: "亲，带原装电池的" in draft_shown(app), what="the second draft on the open chat")
            await pilot.press("e")
            edit = app.screen.query_one("#draft-edit", Input)
            await until(lambda: edit.display and edit.has_focus)
            assert edit.value == "亲，带原装电池的"  # the draft, to edit
            await pilot.press("ctrl+u", *"加我微信聊", "enter")
            await until(lambda: any(n.startswith("draft not sent") for n in notes), what="the refusal shown")
            assert edit.display and edit.value == "加我微信聊"  # the text is kept
            assert draft_shown(app) and sent_texts(env, cid) == ["九成新，功能完好"]
            await pilot.press("ctrl+u", *"带原装电池放心用", "enter")  # (pilot types no full-width commas)
            await until(lambda: sent_texts(env, cid)[-1:] == ["带原装电池放心用"], what="the edit was sent")
            await until(lambda: not draft_shown(app) and not edit.display)
            assert sends[-1][1:] == ("带原装电池放心用",)
            assert "亲，带原装电池的" not in sent_texts(env, cid)

            # 3. discard (another buyer: the edit paused the first chat)
            other = env.ctl.message(unb, BUYER2, "在吗", item_id=ITEM)["cid"]
            await pilot.press("escape")
            await until(lambda: cell(app, "inbox", conversation_key("shop-a", other), "status") == "draft")
            await open_chat(app, pilot, other)
            await until(lambda: "在的，亲" in draft_shown(app))
            await pilot.press("d")
            await until(lambda: not draft_shown(app), what="the discarded draft goes")
            assert app.backend.control.suggestions() == []
            assert [d.text for d in run.store.ai.drafts("discarded")] == ["在的，亲"]
            assert sent_texts(env, other) == []

            await pilot.press("escape")
            await until(lambda: isinstance(app.screen, InboxScreen))
            await until(lambda: cell(app, "inbox", conversation_key("shop-a", other), "status") not in ("draft", ""))
            assert cell(app, "inbox", key, "status") != "draft"
            assert "drafts" not in app.header_summary()

    asyncio.run(drive())


def test_a_chat_that_needs_the_seller_is_marked_until_they_answer(env: Env, model: FakeModel) -> None:
    run = start_shop(env, model)
    unb = env.unb("shop-a")
    app = dashboard(run.svc)
    notes, hook = notification_hook()

    async def drive() -> None:
        async with app.run_test(size=SIZE, message_hook=hook) as pilot:
            await pilot.press("2")
            cid = env.ctl.message(unb, BUYER, "我要转人工", item_id=ITEM)["cid"]
            key = conversation_key("shop-a", cid)
            await until(lambda: cell(app, "inbox", key, "status") == "needs you", what="the Inbox mark")
            assert any("the buyer asked for a person" in n and cid in n for n in notes)  # said wherever one is
            assert "needs you 1" in app.header_summary()

            await open_chat(app, pilot, cid)
            await until(lambda: "needs you: the buyer asked for a person" in text_of(app, "#chat-head"))
            await pilot.press("r")
            await until(lambda: isinstance(app.screen, TextScreen))
            await pilot.press(*"我来了您说", "enter")
            await until(lambda: "我来了您说" in sent_texts(env, cid))
            await until(lambda: "needs you" not in text_of(app, "#chat-head"), what="a reply by hand clears it")
            await pilot.press("escape")
            await until(lambda: cell(app, "inbox", key, "status") not in ("needs you", ""))

            # ``n`` clears the flag without writing
            other = env.ctl.message(unb, BUYER2, "找真人客服", item_id=ITEM)["cid"]
            other_key = conversation_key("shop-a", other)
            await until(lambda: cell(app, "inbox", other_key, "status") == "needs you")
            await open_chat(app, pilot, other)
            await until(lambda: "needs you" in text_of(app, "#chat-head"))
            await pilot.press("n")
            await until(lambda: "needs you" not in text_of(app, "#chat-head"))
            assert app.backend.control.needs_you() == []
            await pilot.press("escape")
            await until(lambda: cell(app, "inbox", other_key, "status") != "needs you")
            assert "needs you" not in app.header_summary()

    asyncio.run(drive())


def test_the_api_key_is_never_on_screen(env: Env, model: FakeModel, monkeypatch: pytest.MonkeyPatch) -> None:
    written, from_env = "sk-live-7d3f9a2b6c1e4f80", "sk-env-b41c9e02d7a35f66"
    monkeypatch.setenv("SHOP_B_AI_KEY", from_env)
    shop_a = env.seller("shop-a", ai={"enabled": True, "mode": "suggest", "api_key": written,
                                      "hours": "09:00-23:00", "daily_tokens": 50000})
    shop_b = env.seller("shop-b", ai={"enabled": True, "api_key_env": "SHOP_B_AI_KEY"})
    run = env.start([shop_a, shop_b], settings={"ai": {"base_url": model.base_url, "model": "sim-chat"}})
    app = dashboard(run.svc)
    notes, hook = notification_hook()

    async def drive() -> None:
        async with app.run_test(size=SIZE, message_hook=hook) as pilot:
            await until(lambda: cell(app, "accounts", "shop-b", "state") == "online")
            for account, secret, says in (("shop-a", written, f"{mask(written)} (written in accounts.yml)"),
                                          ("shop-b", from_env, "from $SHOP_B_AI_KEY (set)")):
                select_row(app, "accounts", account)
                await pilot.press("d")
                await until(lambda: isinstance(app.screen, DetailScreen))
                shown = await until(lambda: (t := text_of(app, "#static")) and "AI replies" in t and t)
                assert says in shown
                assert "sim-chat" in shown and model.base_url in shown and "AI (sim-chat," in shown
                if account == "shop-a":
                    assert "suggest" in shown and "09:00-23:00" in shown and "50,000 tokens" in shown
                seen = ""
                for _ in range(6):  # every part of the screen, scrolled through
                    on_screen = screen_text(app)
                    assert secret not in on_screen and secret[4:] not in on_screen
                    seen += on_screen
                    await pilot.press("pagedown")
                assert says in seen  # what was read is the screen, the key's line included
                assert all(secret not in text_of(app, f"#{part}") for part in ("static", "live"))
                await pilot.press("escape")
            assert all(written not in n and from_env not in n for n in notes)

    asyncio.run(drive())
