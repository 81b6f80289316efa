"""`Control`: what a front end (the dashboard) may ask of a running service, typed, in one place.

The dashboard talks to this facade, never to the service's parts. Methods that touch the network, the database or
an account's lock block; `config`, `snapshots` and `slider_status` read memory. Refusals raise
`core.errors.CookieRejected` / `OrderActionError` with messages safe to show.
"""

from __future__ import annotations

from core.ai.usage import DayUsage
from core.config import Config
from core.config.ai_schema import AiSettings
from core.credentials.login_run import LoginProgress
from core.orders.worker import OrderView
from core.replies.rules import Rule
from core.service import Service
from core.session.loop import Snapshot
from core.verification.pool import SliderStatus
from storage import AiDraft, ChatLine, InboundMessage, NotifyMessage, Reply

CHAT_KIND = "chat"  # the buyers' messages among what is stored


class Control:
    def __init__(self, service: Service) -> None:
        self._service = service

    def _parts(self):  # the running service's parts (started: start() ran)
        service = self._service
        assert service.manager is not None and service.store is not None and service.replies is not None
        return service.manager, service.store, service.replies

    # -- accounts -----------------------------------------------------------------------------------------------

    def config(self) -> Config:
        return self._service.config

    def snapshots(self) -> list[Snapshot]:
        return self._parts()[0].snapshots()

    def start(self, account_id: str) -> None:
        self._parts()[0].start(account_id)

    def stop(self, account_id: str) -> None:
        self._parts()[0].stop(account_id)

    def restart(self, account_id: str) -> None:
        self._parts()[0].restart(account_id)

    def reload(self) -> Config:
        return self._service.reload()

    def rules(self, account_id: str) -> tuple[Rule, ...]:
        rules = self._service._account_rules(account_id)
        return rules.chain if rules is not None else ()

    def next_runs(self, account_id: str) -> list[tuple[str, int | None]]:
        assert self._service.jobs is not None
        return self._service.jobs.next_runs(account_id)

    # -- logins: start_login blocks for nothing (the login runs on its own thread); progress reads memory -------

    def start_login(self, account_id: str) -> None:
        """Raises LoginFailed for an id accounts.yml could not hold."""
        self._service.start_login(account_id)

    def login_progress(self, account_id: str) -> LoginProgress | None:
        return self._service.login_progress(account_id)

    def cancel_login(self, account_id: str) -> None:
        self._service.cancel_login(account_id)

    # -- chats --------------------------------------------------------------------------------------------------

    def pause(self, account_id: str, cid: str, minutes: float) -> None:
        self._parts()[2].takeover.pause(account_id, cid, minutes, "paused from the dashboard")

    def resume(self, account_id: str, cid: str) -> None:
        self._parts()[2].takeover.resume(account_id, cid)

    def send_manual(self, account_id: str, cid: str, to_id: str, text: str) -> bool:
        """Send a reply the seller typed; True once the server took it (the chat then pauses like a takeover)."""
        self._parts()
        return self._service.send_by_hand(account_id, cid, to_id, text)

    def counters(self, since_ms: int) -> dict[str, tuple[int, int]]:
        return self._parts()[1].chats.counters_by_account(CHAT_KIND, since_ms)

    def pauses(self, now_ms: int) -> list[tuple[str, str, int]]:
        return [(p.account_id, p.cid, p.until_ms) for p in self._parts()[1].chats.pauses(now_ms)]

    def inbox(self, limit: int) -> list[tuple[InboundMessage, Reply | None]]:
        return self._parts()[1].chats.inbox(CHAT_KIND, limit=limit)

    def history(self, account_id: str, cid: str) -> list[ChatLine]:
        return self._parts()[1].chats.history(account_id, cid)

    def rule_hits(self, account_id: str) -> dict[str, int]:
        return self._parts()[1].chats.rule_hits(account_id)

    # -- verification -------------------------------------------------------------------------------------------

    def slider_status(self) -> SliderStatus:
        return self._service.slider.status()

    def pending_verification(self, account_id: str) -> str | None:
        return self._service.pending_verification(account_id)

    def set_cookie(self, account_id: str, cookie: str) -> None:
        self._service.set_cookie(account_id, cookie)

    # -- orders -------------------------------------------------------------------------------------------------

    def orders(self, limit: int) -> list[OrderView]:
        assert self._service.orders is not None
        return self._service.orders.recent(limit=limit)

    def retry_delivery(self, order_id: str) -> None:
        assert self._service.orders is not None
        self._service.orders.retry(order_id)

    def resend_delivery(self, order_id: str) -> None:
        assert self._service.orders is not None
        self._service.orders.resend(order_id)

    # -- AI: suggestions waiting for the seller, chats that need the seller, usage --------------------------------

    def suggestions(self, account_id: str | None = None) -> list[AiDraft]:
        assert self._service.suggestions is not None
        return self._service.suggestions.waiting(account_id)

    def send_suggestion(self, draft_id: int, text: str | None = None) -> bool:
        """Send a suggested draft (or the seller's edit of it); raises SuggestionRefused with a line to show."""
        assert self._service.suggestions is not None
        return self._service.suggestions.send(draft_id, text)

    def discard_suggestion(self, draft_id: int) -> None:
        assert self._service.suggestions is not None
        self._service.suggestions.discard(draft_id)

    def needs_you(self) -> list[tuple[str, str, str, int]]:
        """(account, chat, reason, since ms) of the chats flagged for the seller and not answered by hand since."""
        assert self._service.assistant is not None
        assistant, store = self._service.assistant, self._parts()[1]
        return [(f.account_id, f.cid, f.reason, f.at_ms) for f in store.ai.flags()
                if assistant.needs_you(f.account_id, f.cid)]

    def clear_needs_you(self, account_id: str, cid: str) -> None:
        assert self._service.assistant is not None
        self._service.assistant.clear_needs_you(account_id, cid)

    def ai_usage(self, account_id: str, days: int = 7) -> list[DayUsage]:
        """The account's model calls, tokens and cost per day, newest first."""
        assert self._service.assistant is not None
        account = self._service.config.find(account_id)
        settings = account.ai.ai if account is not None else AiSettings()
        return self._service.assistant.usage.days(account_id, settings)[:days]

    # -- notifications ------------------------------------------------------------------------------------------

    def notifications(self, limit: int = 100) -> list[NotifyMessage]:
        """The latest messages of the notification outbox, newest first: one row per message and channel (its
        state: pending, sent or dead; ``last_error`` is masked)."""
        return self._parts()[1].notices.recent_messages(limit)

