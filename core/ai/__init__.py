"""AI replies: the model proposes, the program decides.

    buyer message ─► rule.py (AiReply, a slow rule of the reply chain, rank 30)
        ├─ gates: off / outside hours / chat paused / order paid / buyer wants a person (flagged) / daily cap
        ├─ pricing.py: the offer in the message → core.bargain decides accept / counter X / final (persisted)
        ├─ prompt.py: item facts, the chat's last turns, the shop's prompt, the exact price to say → messages
        ├─ model.py: one call through the openai package's sync client, on the slow-rule pool, with a timeout
        └─ checks.py: the draft's prices and contacts checked in code (rewritten or blocked) → Outcome
    every other reply ─► checks.py too (Answerer asks it before recording a reply, whatever rule wrote it)

usage.py counts calls and tokens per account and day (the cap, and the cost the dashboard shows); drafts.py
carries out suggest mode (send, edit, discard a waiting draft); probe.py is `xianyu.py ai test`. Every draft is
kept with what the checks made of it (table ai_draft), sent, suggested, blocked or discarded. It imports core.config, core.bargain, core.catalog,
core.events, core.replies.rules and storage; never textual or sim. `openai` is imported only when a call is made.
"""
