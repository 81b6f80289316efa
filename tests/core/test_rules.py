from pathlib import Path

from core.config import load_config
from core.replies.rules import Message, Outcome, RuleKind, build_chain, decide, register, rule_kinds

CONFIG = """\
server: demo
accounts:
  - id: shop
    keywords:
      - match: 价格
        reply: "通用价格"
      - match: 价格
        item: "111"
        reply: "111 的价格"
      - match: {regex: "^退.*款$"}
        reply: ""
      - match: {exact: 在吗}
        reply: "在的"
    item_replies:
      - item: "222"
        reply: "222 的默认"
    default_reply: {text: "默认回复", once: true}
"""


def chain(tmp_path: Path):
    path = tmp_path / "accounts.yml"
    path.write_text(CONFIG, encoding="utf-8")
    return build_chain(load_config(path, env={}).account("shop"))


def ask(rules, text, item=None):
    return decide(rules, Message("shop", "c1", text, item))


def test_item_keyword_beats_general_keyword_only_in_its_item(tmp_path):
    rules = chain(tmp_path)
    assert ask(rules, "价格多少", "111").template == "111 的价格"
    assert ask(rules, "价格多少", "999").template == "通用价格"
    assert ask(rules, "价格多少").template == "通用价格"


def test_silence_stops_the_chain(tmp_path):
    decision = ask(chain(tmp_path), "退一下款", "222")
    assert decision.template == "" and decision.rule_id.startswith("keyword")


def test_exact_needs_the_whole_message(tmp_path):
    rules = chain(tmp_path)
    assert ask(rules, " 在吗 ").template == "在的"
    assert ask(rules, "在吗？老板").template == "默认回复"


def test_item_default_then_account_default_once(tmp_path):
    rules = chain(tmp_path)
    assert ask(rules, "随便问问", "222").template == "222 的默认"
    decision = ask(rules, "随便问问", "333")
    assert (decision.template, decision.once, decision.rule_id) == ("默认回复", True, "default")


def test_order_is_item_keyword_keyword_item_default_default(tmp_path):
    kinds = [type(rule).__name__ for rule in chain(tmp_path)]
    assert kinds == ["KeywordReply", "KeywordReply", "KeywordReply", "KeywordReply", "ItemDefault",
                     "AccountDefault"]
    assert chain(tmp_path)[0].rule_id.startswith("item_keyword")


def test_a_registered_kind_takes_its_rank_in_the_chain_and_can_be_replaced(tmp_path):
    before = rule_kinds()

    class Thirty:
        rule_id = "ai"
        slow = True

        def decide(self, message):
            return Outcome(self.rule_id, "模型说：" + message.text)

    try:
        register(RuleKind("ai", 30, lambda account: [Thirty()]))
        rules = chain(tmp_path)
        assert [r.rule_id for r in rules].index("ai") == 4  # after both keyword kinds, before the item default
        assert ask(rules, "价格多少").template == "通用价格"  # a keyword still wins
        assert ask(rules, "随便问问", "222").template == "模型说：随便问问"  # ahead of the item default
        register(RuleKind("ai", 30, lambda account: []))
        assert "ai" not in [r.rule_id for r in chain(tmp_path)]
    finally:
        import core.replies.rules as module
        module._KINDS[:] = before
    assert rule_kinds() == before
