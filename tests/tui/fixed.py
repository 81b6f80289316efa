"""A fixed backend for the snapshot tests: the same accounts, chats and rules every run, a frozen clock.

It is the dashboard's ``Backend`` surface with data instead of a service (every value below is made up),
and it records the control calls it gets.
"""

from __future__ import annotations

from pathlib import Path

from core import events as ev
from core.ai.usage import DayUsage
from core.config import Config, load_config
from core.orders.worker import OrderView, UnitView
from core.session.loop import Snapshot
from core.verification.pool import SliderStatus, VerificationOutcome
from storage import AiDraft, NotifyMessage
from tui.app import XianyuApp
from tui.backend import AccountDetail, HistoryEntry, RuleHits
from tui.model import Conversation

NOW = 1_764_300_000_000  # 2025-11-28 03:20:00 UTC
PUNISH = "http://127.0.0.1:40000/_____tmd_____/punish?x5secdata=xd1a2b3c4d5e6f&x5step=1"
SEC = 1000
CONFIG_TEXT = """\
server: demo
accounts:
  - id: shop-a
    alias: 数码小铺
    keywords:
      - match: 包邮
        reply: 包邮的，拍下就发
    default_reply: {text: 在的，有什么可以帮您？, once: true}
  - id: shop-b
    alias: 卡券专营
  - id: shop-c
  - id: shop-d
    alias: 二手书店铺
  - id: shop-e
    alias: Ｌｕｃｋｙ☆
  - id: shop-f
    enabled: false
"""


def snapshots() -> list[Snapshot]:
    return [
        Snapshot("shop-a", "数码小铺", "2200000000101", ev.AccountState.ONLINE, NOW - 3_723 * SEC, NOW - 4 * SEC,
                 NOW + 20 * 3600 * SEC, 57, 51, "", "healthy", NOW + 26 * 86_400 * SEC),
        Snapshot("shop-b", "卡券专营", "2200000000102", ev.AccountState.ONLINE, NOW - 95 * SEC, NOW - 12 * SEC,
                 NOW + 3 * 3600 * SEC, 8, 8, "", "login_expiring", NOW + 2 * 86_400 * SEC + 5 * 3600 * SEC),
        Snapshot("shop-c", "", "2200000000103", ev.AccountState.BACKOFF, NOW - 7 * SEC, None, NOW + 600 * SEC, 0, 0,
                 "connection closed; retry in 4.0s"),
        Snapshot("shop-d", "二手书店铺", "2200000000104", ev.AccountState.NEEDS_VERIFICATION, NOW - 300 * SEC, None, None, 2, 1,
                 "risk control (slider verification required)"),
        Snapshot("shop-e", "Ｌｕｃｋｙ☆", "2200000000105", ev.AccountState.LOGIN_REQUIRED, NOW - 86_500 * SEC, None, None, 0, 0,
                 "login expired: paste a fresh cookie for this account"),
        Snapshot("shop-f", "", "", ev.AccountState.DISABLED, 0, None, None, 0, 0, ""),
    ]


def conversations() -> list[Conversation]:
    return [
        Conversation("shop-a", "50000000001", "3300000000001", "爱吃草莓的熊", "900000000001", "包邮吗",
                     "m1", NOW - 300 * SEC, "replied", "包邮的，拍下就发", "keyword[0]", 412),
        Conversation("shop-b", "50000000002", "3300000000002", "tb_88392017", "900000000002", "还在吗",
                     "m2", NOW - 200 * SEC, "replied", "在的，有什么可以帮您？", "default", 1_003),
        Conversation("shop-a", "50000000003", "3300000000003", "小鱼儿爱淘宝", "900000000001",
                     "能便宜点吗？诚心要，今天就能拍下", "m3", NOW - 90 * SEC, "paused"),
        Conversation("shop-a", "50000000006", "3300000000006", "数码控阿杰", "900000000001", "90包邮可以吗",
                     "m6", NOW - 60 * SEC, "suggested"),
        Conversation("shop-d", "50000000004", "3300000000004", "Lucky星星", None, "成色怎么样", "m4",
                     NOW - 30 * SEC, "waiting"),
        Conversation("shop-b", "50000000005", "3300000000005", "老王在闲鱼", "900000000002", "怎么用",
                     "m5", NOW - 10 * SEC, "failed", "兑换码在「我的-卡券」里输入即可", "keyword[1]"),
        Conversation("shop-b", "50000000007", "3300000000007", "急性子", "900000000002", "转人工，我要退款",
                     "m7", NOW - 5 * SEC, "replied", "在的，有什么可以帮您？", "default", 655),
    ]


DRAFT_CID, NEEDS_YOU_CID = "50000000006", "50000000007"
DRAFT_TEXT = ("亲，90有点低了哈，这台是九成新国行，电池健康95%，配件齐全。最低95元包邮给您，今天拍下今天就发顺丰，"
              "收到有任何问题都可以找我。")


def suggestions() -> list[AiDraft]:
    return [AiDraft(id=12, account_id="shop-a", cid=DRAFT_CID, to_id="3300000000006", item_id="900000000001",
                    draft="好的，90卖你", text=DRAFT_TEXT, decision="counter 95元 (round 1)",
                    checks="price 90 → 95 (the decided price)", status="suggested", created_at_ms=NOW - 58 * SEC,
                    updated_at_ms=NOW - 58 * SEC)]


def needs_you() -> list[tuple[str, str, str, int]]:
    return [("shop-b", NEEDS_YOU_CID, "the buyer asked for a person", NOW - 5 * SEC)]


USAGE = [DayUsage("2025-11-28", 41, 1, 38_210, 4_102, 0.06), DayUsage("2025-11-27", 130, 3, 120_554, 13_870, 0.19)]
AI_ROWS = (("enabled", "true"), ("mode", "suggest (drafts wait for you)"), ("model", "qwen2.5:7b"),
           ("endpoint", "http://127.0.0.1:11434/v1"), ("key", "from $SHOP_A_AI_KEY (set)"),
           ("hours", "09:00-23:00"), ("daily cap", "200,000 tokens"), ("timeout", "20s"),
           ("bargain", "floor 85%, 3 round(s)"))


def history(cid: str = "") -> list[HistoryEntry]:
    if cid == DRAFT_CID:
        return [HistoryEntry("in:6", NOW - 60 * SEC, "in", "数码控阿杰", "90包邮可以吗", "suggested")]
    if cid == NEEDS_YOU_CID:
        return [HistoryEntry("in:7", NOW - 5 * SEC, "in", "急性子", "转人工，我要退款", "default replied"),
                HistoryEntry("out:7", NOW - 4 * SEC, "out", "me", "在的，有什么可以帮您？", "default sent")]
    return [
        HistoryEntry("in:1", NOW - 600 * SEC, "in", "小鱼儿爱淘宝", "老板在吗", "default replied"),
        HistoryEntry("out:1", NOW - 597 * SEC, "out", "me", "在的，有什么可以帮您？", "default sent"),
        HistoryEntry("out:2", NOW - 120 * SEC, "out", "me", "今天能发货", "manual manual"),
        HistoryEntry("in:2", NOW - 90 * SEC, "in", "小鱼儿爱淘宝", "能便宜点吗？诚心要，今天就能拍下", "paused"),
    ]


LOG_LINES = [
    "03:10:00 INFO    demo marketplace running at http://127.0.0.1:40000 (simulated buyers)",
    "03:10:01 INFO    shop-a: stopped → starting (starting)",
    "03:10:01 INFO    shop-a: starting → online (registered)",
    "03:15:00 INFO    shop-a: ← 爱吃草莓的熊 [chat 50000000001 item 900000000001]: 包邮吗",
    "03:15:00 INFO    shop-a: → [chat 50000000001] 包邮的，拍下就发 (rule keyword[0], 412 ms)",
    "03:19:53 WARNING shop-c: online → backoff (connection closed; retry in 4.0s)",
    "03:19:55 WARNING shop-d: error: risk control: http://127.0.0.1:40000/punish?x5secdata=ab…(40)",
]


class FixedBackend:
    def __init__(self, tmp: Path) -> None:
        path = tmp / "accounts.yml"
        path.write_text(CONFIG_TEXT, encoding="utf-8")
        self._config = load_config(path)
        self.calls: list[tuple] = []
        self.notices = notifications()  # a test may add rows or change their state

    def config(self) -> Config:
        return self._config

    def snapshots(self) -> list[Snapshot]:
        return snapshots()

    def start(self, account_id: str) -> None:
        self.calls.append(("start", account_id))

    def stop(self, account_id: str) -> None:
        self.calls.append(("stop", account_id))

    def restart(self, account_id: str) -> None:
        self.calls.append(("restart", account_id))

    def pause(self, account_id: str, cid: str, minutes: float) -> None:
        self.calls.append(("pause", account_id, cid, minutes))

    def resume(self, account_id: str, cid: str) -> None:
        self.calls.append(("resume", account_id, cid))

    def send_manual(self, account_id: str, cid: str, to_id: str, text: str) -> bool:
        self.calls.append(("send_manual", account_id, cid, to_id, text))
        return True

    def reload(self) -> Config:
        return self._config

    def counters(self, since_ms: int) -> dict[str, tuple[int, int]]:
        return {"shop-a": (120, 118), "shop-b": (9, 9), "shop-d": (2, 1)}

    def pauses(self, now_ms: int) -> list[tuple[str, str, int]]:
        return [("shop-a", "50000000003", NOW + 540 * SEC)]

    def conversations(self, limit: int) -> list[Conversation]:
        return conversations()

    def history(self, account_id: str, cid: str) -> list[HistoryEntry]:
        return history(cid)

    def suggestions(self, account_id: str | None = None) -> list[AiDraft]:
        return [d for d in suggestions() if account_id is None or d.account_id == account_id
                if ("discard", d.id) not in self.calls and ("send_suggestion", d.id, None) not in self.calls]

    def send_suggestion(self, draft_id: int, text: str | None = None) -> bool:
        self.calls.append(("send_suggestion", draft_id, text))
        return True

    def discard_suggestion(self, draft_id: int) -> None:
        self.calls.append(("discard", draft_id))

    def needs_you(self) -> list[tuple[str, str, str, int]]:
        return [f for f in needs_you() if ("clear_needs_you", f[0], f[1]) not in self.calls]

    def clear_needs_you(self, account_id: str, cid: str) -> None:
        self.calls.append(("clear_needs_you", account_id, cid))

    def ai_usage(self, account_id: str, days: int = 7) -> list[DayUsage]:
        return USAGE[:days] if account_id == "shop-a" else []

    def slider_status(self) -> SliderStatus:
        return STATUS

    def pending_verification(self, account_id: str) -> str | None:
        return PUNISH if account_id == "shop-d" else None

    def set_cookie(self, account_id: str, cookie: str) -> None:
        self.calls.append(("set_cookie", account_id))

    def orders(self, limit: int) -> list[OrderView]:
        return ORDERS[:limit]

    def notifications(self, limit: int = 100) -> list[NotifyMessage]:
        return self.notices[:limit]

    def retry_delivery(self, order_id: str) -> None:
        self.calls.append(("retry", order_id))

    def resend_delivery(self, order_id: str) -> None:
        self.calls.append(("resend", order_id))

    def detail(self, account_id: str) -> AccountDetail:
        return AccountDetail(
            account_id,
            settings=(("alias", "数码小铺"), ("cookie", "unb=2200…(13) (10 cookies)"), ("proxy", "none"),
                      ("heartbeat_interval", "15.0"), ("takeover_minutes", "10")),
            jobs=((f"heartbeat:{account_id}", NOW + 11 * SEC), (f"keepalive:{account_id}", NOW + 900 * SEC),
                  (f"token:{account_id}", NOW + 3000 * SEC)),
            rules=(RuleHits("keyword[0]", "contains '包邮' → '包邮的，拍下就发'", 42),
                   RuleHits("ai", "AI (qwen2.5:7b, suggest)", 17),
                   RuleHits("default", "anything else → '在的，有什么可以帮您？' (once per chat)", 9)),
            ai=AI_ROWS if account_id == "shop-a" else (),
            usage=tuple(self.ai_usage(account_id)),
        )


STATUS = SliderStatus(limit=2, busy=("shop-d",), queued=("shop-g",), recent=(
    VerificationOutcome("shop-c", True, "solved on attempt 1", 6.4, NOW - 3_000 * SEC, PUNISH),
    VerificationOutcome("shop-b", False, "rejected 3 time(s)", 21.9, NOW - 7_000 * SEC, PUNISH),
))


ORDERS = [  # newest first, as Orders.recent returns them
    OrderView("shop-b", "3000000000000000003", "老王在闲鱼", "900000000002", "会员兑换码 月卡", "paid", "failed",
              "stock 'cards-b' is empty", NOW - 20 * SEC, ()),
    OrderView("shop-a", "3000000000000000002", "小鱼儿爱淘宝", "900000000001", "二手 iPad Air 4 64G", "paid",
              "pending", "", NOW - 40 * SEC, (), agreed_price="85.00"),
    OrderView("shop-a", "3000000000000000001", "爱吃草莓的熊", "900000000001", "会员兑换码 年卡", "shipped", "sent",
              "", NOW - 600 * SEC, (UnitView(1, "sent", "ABCD…(19)", 1, NOW - 598 * SEC),
                                    UnitView(2, "sent", "EFGH…(19)", 1, NOW - 598 * SEC))),
]


GROUPED_BODY = "Their logins ended. Scan a QR code for each: Accounts screen, select the account, press l.\na\nb\nc"
BUYER_QUOTE = "急性子 in chat 50000000007:\n“转人工，我要退款 [b]快[/b]\x1b[2J”\nAnswer on the Inbox screen (2)."


def notifications() -> list[NotifyMessage]:
    """Newest first, one row per message and channel, as Control.notifications returns them."""
    def row(id_: int, channel: str, kind: str, severity: str, accounts: str, title: str, body: str, state: str,
            attempts: int, created: int, **more: object) -> NotifyMessage:
        return NotifyMessage(id=id_, channel=channel, key=f"{kind}:{accounts}:{created}", kind=kind,
                             severity=severity, accounts=accounts, title=title, body=body, state=state,
                             attempts=attempts, created_at_ms=created, **more)
    return [
        row(6, "phone", "login_required", "error", "a,b,c", "3 accounts need a QR scan: a, b, c", GROUPED_BODY,
            "pending", 0, NOW - 2 * SEC, next_at_ms=NOW),
        row(5, "phone", "needs_you", "warning", "shop-b", "shop-b: a buyer asks for a person", BUYER_QUOTE,
            "sent", 1, NOW - 5 * SEC, sent_at_ms=NOW - 4 * SEC),
        row(4, "json#1", "delivery_failed", "error", "shop-b", "shop-b: order 3000000000000000003 not delivered",
            "stock 'cards-b' is empty\nbuyer 老王在闲鱼 paid for 会员兑换码 月卡\nFill the stock, then t on the Orders screen.",
            "pending", 2, NOW - 20 * SEC, next_at_ms=NOW + 40 * SEC, last_error="HTTP 502 Bad Gateway from 127.0.0.1:9999"),
        row(3, "phone", "offline", "warning", "shop-c", "shop-c is offline (reconnecting for 2 minutes)",
            "connection closed; retry in 4.0s\n5 failed connects in 2 minutes", "dead", 8, NOW - 900 * SEC,
            last_error="ntfy: 401 Unauthorized (token tk_a…(32))"),
        row(2, "json#1", "daily_summary", "info", "shop-a,shop-b", "Daily summary: 129 messages, 127 replies, 3 orders",
            "shop-a: 120 messages, 118 replies, 2 orders\nshop-b: 9 messages, 9 replies, 1 order", "sent", 1,
            NOW - (6 * 3600 + 20 * 60) * SEC, sent_at_ms=NOW - (6 * 3600 + 20 * 60 - 1) * SEC),
    ]


def fixed_app(tmp: Path) -> XianyuApp:
    app = XianyuApp(FixedBackend(tmp), clock=lambda: NOW)
    app.model.add_log(LOG_LINES)
    app.model.apply([
        ev.StateChanged("shop-a", state=ev.AccountState.STARTING, previous=ev.AccountState.STOPPED, reason="starting", at_ms=NOW - 3_724 * SEC),
        ev.StateChanged("shop-a", state=ev.AccountState.ONLINE, previous=ev.AccountState.STARTING, reason="registered", at_ms=NOW - 3_723 * SEC),
        ev.AccountError("shop-a", message="reply to chat 50000000009 failed: no answer within 10s", at_ms=NOW - 60 * SEC),
        ev.VerificationChanged("shop-d", phase="running", url=PUNISH, attempt=2, at_ms=NOW - 5 * SEC),
    ])
    return app
