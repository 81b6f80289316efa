"""What the model is told: the item's facts, the chat so far, the shop's prompt, and the exact price to say.

The floor is never in the prompt: the model only learns the price the program decided (a model told "not
below 80" can be talked below 80; one told "say 90" can only get 90 wrong, and checks.py catches that). The
buyer's words go in as the user's turns, never into the system prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from core.bargain.policy import PriceDecision
from core.catalog import Item
from core.config.ai_schema import AiSettings
from storage import ChatLine

_ROLE = ("你是闲鱼卖家的客服，替卖家回复买家。回复简短、口语化、友好，一般不超过60个字。"
         "不要提供或索要微信、QQ、电话、链接等任何联系方式，不要引导线下交易或平台外付款。"
         "价格只能按下面给出的价格说，不要自己让价，也不要说出任何别的价格。")
_JSON = ('只输出一个JSON对象，不要输出其他内容：{"intent": "price|question|chat|other", '
         '"price": 你在回复中说的价格（数字）或null, "reply": "发给买家的回复"}')
_DESC_CHARS = 600


def price_words(price: Decimal) -> str:
    text = f"{price:.2f}".rstrip("0").rstrip(".")
    return f"{text}元"


def _price_line(decision: PriceDecision | None, list_price: Decimal | None) -> str:
    if decision is None or decision.price is None:
        if list_price is None:
            return "不要报任何价格；买家问价时请他以商品页为准。"
        return f"如果买家问价格，就说标价{price_words(list_price)}；不要给任何优惠。"
    said = price_words(decision.price)
    if decision.action == "accept":
        return f"买家的出价可以接受：同意以{said}成交，回复里明确说出{said}，请买家直接拍下。"
    if decision.action == "counter":
        return f"不能按买家的价格卖。这一轮你的还价是{said}：回复里只报{said}这一个价格，语气真诚。"
    return f"价格已经是最低：{said}，不能再少了。礼貌地说明，回复里只报{said}。"


def system_prompt(settings: AiSettings, item: Item | None, decision: PriceDecision | None,
                  list_price: Decimal | None) -> str:
    parts = [_ROLE]
    if settings.prompt:
        parts.append(f"店铺说明：{settings.prompt}")
    if item is not None:
        if prompt := settings.item_prompt(item.item_id):
            parts.append(f"这个商品的说明：{prompt}")
        facts = [f"商品：{item.title}" if item.title else "",
                 f"标价：{price_words(list_price)}" if list_price is not None else "",
                 f"库存：{item.quantity}" if item.quantity is not None else "",
                 f"描述：{item.desc[:_DESC_CHARS]}" if item.desc else ""]
        parts.append("\n".join(fact for fact in facts if fact))
    parts.append(_price_line(decision, list_price))
    if settings.structured:
        parts.append(_JSON)
    return "\n\n".join(part for part in parts if part)


def build_messages(settings: AiSettings, item: Item | None, history: Sequence[ChatLine], text: str,
                   decision: PriceDecision | None, list_price: Decimal | None) -> list[dict[str, str]]:
    """System prompt, the last ``settings.history`` lines of the chat (buyer = user, seller = assistant, the
    seller's own typed replies included), and the buyer's message."""
    earlier = list(history)
    if earlier and earlier[-1].direction == "in" and earlier[-1].text == text:
        earlier.pop()  # the message being answered was recorded already
    turns = [{"role": "user" if line.direction == "in" else "assistant", "content": line.text}
             for line in earlier[-settings.history:] if line.text and settings.history > 0]
    return [{"role": "system", "content": system_prompt(settings, item, decision, list_price)}, *turns,
            {"role": "user", "content": text}]
