"""The dashboard's AI bookkeeping without a service: draft and "needs you" marks from events and reads, the
Inbox filter, the rule's description and the AI settings rows (the key never in them)."""

from __future__ import annotations

from pathlib import Path

from core import events as ev
from core.ai.rule import AiReply
from core.config import load_config
from tui.backend import ai_rows, describe_rule
from tui.model import DRAFT, NEEDS_YOU, Conversation, Dashboard, Suggestion, conversation_key

NOW = 1_764_300_000_000


def chat(cid: str, status: str = "replied") -> Conversation:
    return Conversation("shop-a", cid, "b1", "buyer", None, "hi", f"m{cid}", NOW, status)


def test_events_mark_chats_and_a_read_of_the_service_replaces_the_marks() -> None:
    model = Dashboard(lambda: NOW)
    model.load_conversations([chat("1"), chat("2"), chat("3", "waiting")])
    model.apply([ev.DraftSuggested("shop-a", cid="1", draft_id=7, text="在的", decision="counter 90元 (round 1)"),
                 ev.NeedsYou("shop-a", cid="2", reason="the buyer asked for a person", text="转人工")])
    assert model.ai_stale  # the app reads the service again
    assert model.mark(conversation_key("shop-a", "1")) == DRAFT
    assert model.mark(conversation_key("shop-a", "2")) == NEEDS_YOU
    assert model.draft_for("shop-a", "1").decision == "counter 90元 (round 1)"
    # "unanswered" keeps the chats that wait for the seller, replied or not
    assert [c.cid for c in model.inbox(unanswered=True)] == ["1", "2", "3"]

    model.apply([ev.DraftSuggested("shop-a", cid="1", draft_id=8, text="newer")])
    assert [d.draft_id for d in model.drafts[conversation_key("shop-a", "1")]] == [8, 7]  # newest first
    model.drop_draft(8)
    assert model.draft_for("shop-a", "1").draft_id == 7

    model.load_ai([Suggestion(9, "shop-a", "3", "x")], [])
    assert model.mark(conversation_key("shop-a", "1")) == "" and model.mark(conversation_key("shop-a", "2")) == ""
    assert model.mark(conversation_key("shop-a", "3")) == DRAFT
    model.drop_draft(9)
    assert model.drafts == {} and [c.cid for c in model.inbox(unanswered=True)] == ["3"]


def test_a_reply_by_hand_in_a_marked_chat_asks_for_a_fresh_read() -> None:
    model = Dashboard(lambda: NOW)
    model.load_conversations([chat("1")])
    model.load_ai([], [("shop-a", "1", "the buyer asked for a person", NOW)])
    model.apply([ev.ReplySent("shop-a", cid="1", to_id="b1", text="auto", rule="default", latency_ms=1)])
    assert not model.ai_stale  # the bot's reply clears nothing
    model.apply([ev.ReplySent("shop-a", cid="1", to_id="b1", text="我来了", rule="manual", latency_ms=1)])
    assert model.ai_stale
    model.clear_flag("shop-a", "1")
    assert model.needs_you == {}


def test_the_ai_rule_and_settings_read_well_and_never_show_the_key(tmp_path: Path) -> None:
    secret = "sk-live-0123456789abcdef"
    path = tmp_path / "accounts.yml"
    path.write_text(f"""\
accounts:
  - id: shop-a
    cookie: "unb=2200000000101; _m_h5_tk=abc_1"
    ai: {{enabled: true, mode: suggest, model: "qwen2.5:7b", base_url: "http://127.0.0.1:11434/v1",
          api_key: "{secret}", hours: "09:00-23:00", daily_tokens: 200000}}
    bargain: {{floor: "85%", max_rounds: 2}}
""", encoding="utf-8")
    account = load_config(path).account("shop-a")
    assert describe_rule(AiReply(account, assistant=None)) == "AI (qwen2.5:7b, suggest)"  # type: ignore[arg-type]
    rows = dict(ai_rows(account))
    assert rows["mode"].startswith("suggest") and rows["model"] == "qwen2.5:7b"
    assert rows["endpoint"] == "http://127.0.0.1:11434/v1"
    assert rows["hours"] == "09:00-23:00" and rows["daily cap"] == "200,000 tokens"
    assert rows["bargain"] == "floor 85%, 2 round(s)"
    assert rows["key"].endswith("(written in accounts.yml)")
    assert all(secret[4:] not in value for value in rows.values())
