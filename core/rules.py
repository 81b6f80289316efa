"""The reply chain: an ordered list of rules, first hit wins.

    item keyword  →  keyword  →  item default  →  account default (optionally once per chat)

Each rule looks at a ``ReplyContext`` and either passes (None) or decides a reply. A decided empty
text means "stay silent" and still stops the chain — that is how a seller mutes a topic. The chain is
a plain tuple so later kinds of rule (an AI reply, an external API) slot in at a chosen position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.config import AccountConfig, KeywordRule


@dataclass(frozen=True)
class ReplyContext:
    account_id: str
    cid: str
    text: str
    item_id: str | None


@dataclass(frozen=True)
class ReplyDecision:
    rule_id: str
    template: str     # "" = stay silent
    once: bool = False


class Rule(Protocol):
    rule_id: str

    def decide(self, ctx: ReplyContext) -> ReplyDecision | None: ...


@dataclass(frozen=True)
class KeywordReply:
    keyword: KeywordRule

    @property
    def rule_id(self) -> str:
        return self.keyword.rule_id

    def decide(self, ctx: ReplyContext) -> ReplyDecision | None:
        if self.keyword.item is not None and self.keyword.item != ctx.item_id:
            return None
        if not self.keyword.matches(ctx.text):
            return None
        return ReplyDecision(self.rule_id, self.keyword.reply)


@dataclass(frozen=True)
class ItemDefault:
    item_id: str
    reply: str

    @property
    def rule_id(self) -> str:
        return f"item_default[{self.item_id}]"

    def decide(self, ctx: ReplyContext) -> ReplyDecision | None:
        return ReplyDecision(self.rule_id, self.reply) if ctx.item_id == self.item_id else None


@dataclass(frozen=True)
class AccountDefault:
    reply: str
    once: bool
    rule_id: str = "default"

    def decide(self, ctx: ReplyContext) -> ReplyDecision | None:
        return ReplyDecision(self.rule_id, self.reply, once=self.once)


def build_chain(account: AccountConfig) -> tuple[Rule, ...]:
    item_keywords = [KeywordReply(k) for k in account.keywords if k.item is not None]
    general = [KeywordReply(k) for k in account.keywords if k.item is None]
    item_defaults = [ItemDefault(r.item, r.reply) for r in account.item_replies]
    chain: list[Rule] = [*item_keywords, *general, *item_defaults]
    if account.default_reply is not None:
        chain.append(AccountDefault(account.default_reply.text, account.default_reply.once))
    return tuple(chain)


def decide(chain: tuple[Rule, ...], ctx: ReplyContext) -> ReplyDecision | None:
    for rule in chain:
        decision = rule.decide(ctx)
        if decision is not None:
            return decision
    return None
