"""The reply chain: rule objects in rank order, first hit wins, built from an account's config by a registry.

    item keyword (10) → keyword (20) → AI (30, core/ai) → item default (40) → account default (50)

A rule looks at a `Message` and passes (None) or gives an `Outcome`: a reply template, or "" to stay silent
(which still stops the chain — that is how a seller mutes a topic). A new kind of rule is one `RuleKind` given
to `register`: its rank places it in the chain, and nothing in the replies stage changes. A rule that waits on
something slow (a model, an API) says `slow = True`: the replies stage never runs it on a socket thread or inside
the messages-in-flight slots, but on its own bounded pool, and when it fails or the pool is full the chain goes
on with the next rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.config import AccountConfig, KeywordRule


@dataclass(frozen=True, slots=True)
class Message:
    """What a rule may look at."""

    account_id: str
    cid: str
    text: str
    item_id: str | None
    sender_nick: str = ""
    sender_id: str = ""
    received_ms: int = 0  # when it reached us (a slow rule: joined its queue); one that waited too long passes


@dataclass(frozen=True, slots=True)
class Outcome:
    rule_id: str
    template: str  # "" = stay silent
    once: bool = False
    literal: bool = False  # the text is final (a model's words): no {placeholders} are filled in
    checked: bool = False  # the rule ran the reply checks itself (core/ai/checks.py)
    suggest: bool = False  # a draft for the seller to approve (ai.mode: suggest): recorded, not sent
    # Bookkeeping the rule wants done once its reply is recorded and on its way (the AI rule's draft record), on
    # the same thread: off the reply's path, and no thread of its own.
    then: Callable[[], object] | None = field(default=None, compare=False)


class Rule(Protocol):
    rule_id: str
    slow: bool

    def decide(self, message: Message) -> Outcome | None: ...


@dataclass(frozen=True, slots=True)
class RuleKind:
    name: str
    rank: int  # place in the chain: lower asks first
    build: Callable[[AccountConfig], Sequence[Rule]]


@dataclass(frozen=True, slots=True)
class KeywordReply:
    keyword: KeywordRule
    slow: bool = False

    @property
    def rule_id(self) -> str:
        return self.keyword.rule_id

    def decide(self, message: Message) -> Outcome | None:
        if self.keyword.item is not None and self.keyword.item != message.item_id:
            return None
        if not self.keyword.matches(message.text):
            return None
        return Outcome(self.rule_id, self.keyword.reply)


@dataclass(frozen=True, slots=True)
class ItemDefault:
    item_id: str
    reply: str
    slow: bool = False

    @property
    def rule_id(self) -> str:
        return f"item_default[{self.item_id}]"

    def decide(self, message: Message) -> Outcome | None:
        return Outcome(self.rule_id, self.reply) if message.item_id == self.item_id else None


@dataclass(frozen=True, slots=True)
class AccountDefault:
    reply: str
    once: bool
    rule_id: str = "default"
    slow: bool = False

    def decide(self, message: Message) -> Outcome | None:
        return Outcome(self.rule_id, self.reply, once=self.once)


_KINDS: list[RuleKind] = [
    RuleKind("item_keyword", 10, lambda a: [KeywordReply(k) for k in a.keywords if k.item is not None]),
    RuleKind("keyword", 20, lambda a: [KeywordReply(k) for k in a.keywords if k.item is None]),
    RuleKind("item_default", 40, lambda a: [ItemDefault(r.item, r.reply) for r in a.item_replies]),
    RuleKind("default", 50, lambda a: [AccountDefault(a.default_reply.text, a.default_reply.once)]
             if a.default_reply is not None else []),
]


def register(kind: RuleKind) -> None:
    """Add a kind of rule to every chain built from now on (a kind of the same name is replaced)."""
    _KINDS[:] = sorted([k for k in _KINDS if k.name != kind.name] + [kind], key=lambda k: k.rank)


def rule_kinds() -> tuple[RuleKind, ...]:
    return tuple(_KINDS)


def build_chain(account: AccountConfig, extra: Sequence[RuleKind] = ()) -> tuple[Rule, ...]:
    """The account's chain from every registered kind and `extra` (kinds one service brings: its AI rule,
    bound to that service's model client and store)."""
    names = {kind.name for kind in extra}
    kinds = sorted([*(k for k in _KINDS if k.name not in names), *extra], key=lambda k: k.rank)
    return tuple(rule for kind in kinds for rule in kind.build(account))


def decide(chain: Sequence[Rule], message: Message) -> Outcome | None:
    """The first outcome of the chain, asking every rule (slow ones too: for callers off the socket thread)."""
    for rule in chain:
        outcome = rule.decide(message)
        if outcome is not None:
            return outcome
    return None
