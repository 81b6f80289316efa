"""The dashboard app: screens as modes, one 4 Hz tick that drains service events, workers for every call.

    service threads ──emit──▶ EventFeed (deque) ─┐
    logging ─────────────────▶ LogLines (deque) ─┼─▶ tick (4 Hz, on the loop): drain into the Dashboard model;
                                                 │     redraw (1 Hz, or at once on a state change): snapshots,
                                                 │     then the visible screen writes the cells that changed
    keys ─▶ actions ─▶ worker thread ─▶ Backend (manager / service / store) ─▶ notification

Nothing on the loop waits on I/O: the loop only reads memory (snapshots, slider status, the punish URL);
everything that can block goes through ``call``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from core import events as ev
from core.ai.errors import SuggestionRefused
from core.control import Control
from core.errors import ConfigError, CookieRejected, CoreError, LoginFailed
from core.inert import inert
from core.redact import redact
from core.session.loop import Snapshot
from tui.backend import Backend, ServiceBackend
from tui.feed import EventFeed, LogLines
from tui.format import summary
from tui.model import CONVERSATIONS_KEPT, Dashboard, Suggestion, day_start
from tui.screens.accounts import AccountsScreen
from tui.screens.common import ConfirmScreen, SummaryBar
from tui.screens.inbox import InboxScreen
from tui.screens.log import LogScreen
from tui.screens.login import LoginScreen
from tui.screens.notifications import NotificationsScreen
from tui.screens.orders import OrdersScreen
from tui.screens.verification import VerificationScreen

TICK_SECONDS = 0.25
REDRAW_EVERY = 4  # ticks: snapshots and tables once a second
AI_POLL_EVERY = 20  # ticks: drafts and "needs you" flags read again every 5 s (events bring news sooner)
_REFUSALS = {ConfigError: "accounts.yml has errors; the running config stays",
             CookieRejected: "cookie not accepted; nothing changed", LoginFailed: "no login",
             SuggestionRefused: "draft not sent"}


class XianyuApp(App[None]):
    """The dashboard. ``backend`` is the service (or, in snapshot tests, fixed data); ``clock`` is ms."""

    CSS_PATH = "styles.tcss"
    TITLE = "xianyu"
    MODES = {"accounts": AccountsScreen, "inbox": InboxScreen, "verification": VerificationScreen,
             "orders": OrdersScreen, "log": LogScreen, "notifications": NotificationsScreen}
    BINDINGS = [
        Binding("1", "switch_mode('accounts')", "Accounts"),
        Binding("2", "switch_mode('inbox')", "Inbox"),
        Binding("3", "switch_mode('verification')", "Verify"),
        Binding("4", "switch_mode('orders')", "Orders"),
        Binding("5", "switch_mode('log')", "Log"),
        Binding("6", "switch_mode('notifications')", "Notify"),
        # accounts.yml is watched and reloads by itself: "now" is in the palette, the footer keeps room for Quit.
        Binding("ctrl+r", "reload", "Reload", show=False),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, backend: Backend, feed: EventFeed | None = None, log_lines: LogLines | None = None,
                 clock: Callable[[], int] = ev.now_ms, load_storage: bool = True,
                 handle_signals: bool = False) -> None:
        super().__init__()
        self.backend = backend
        self.feed = feed
        self.log_lines = log_lines
        self.clock = clock
        self.model = Dashboard(clock)
        self.snapshots: list[Snapshot] = backend.snapshots()
        self._load_storage = load_storage
        self._handle_signals = handle_signals
        self._ticks = 0
        self._ai_loading = False
        self._ai_again = False
        self._ai_failed = False

    # ---- lifecycle ---------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self._handle_signals:  # SIGTERM: the same clean exit as a confirmed quit
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit)
        if self._load_storage:
            self.call(self._read_history, then=self._apply_history)
            self.load_ai()
        self.switch_mode("accounts")
        self.set_interval(TICK_SECONDS, self.tick)

    def _read_history(self) -> tuple[int, dict[str, tuple[int, int]], list, list]:
        """Worker: today's counters, running pauses and recent chats from storage."""
        now = self.clock()
        since = day_start(now)
        return (since, self.backend.counters(since), self.backend.pauses(now),
                self.backend.conversations(CONVERSATIONS_KEPT * 2))

    def _apply_history(self, loaded: tuple[int, dict[str, tuple[int, int]], list, list]) -> None:
        since, counters, pauses, conversations = loaded
        self.model.load_counters(counters, since)
        self.model.load_pauses(pauses)
        self.model.load_conversations(conversations)
        self.redraw()

    def tick(self) -> None:
        """Drain what the service said since the last tick (4 Hz); redraw what changed (1 Hz, or now when an
        account changed state)."""
        moved = False
        if self.feed is not None:
            events = self.feed.drain()
            self.model.apply(events)
            self._notify(events)
            moved = any(isinstance(e, ev.StateChanged) for e in events)
        if self.log_lines is not None:
            self.model.add_log(self.log_lines.drain())
        self._ticks += 1
        if self.model.ai_stale or (self._ticks % AI_POLL_EVERY == 0 and self._ai_in_use()):
            self.load_ai()
        # A thousand snapshots cost milliseconds of GIL: read them and redraw once a second (ages are shown in
        # whole seconds), and at once when an account changed state.
        if moved or self._ticks % REDRAW_EVERY == 0:
            self.redraw()

    def redraw(self) -> None:
        """Fresh snapshots, then the visible screen writes the cells that changed."""
        self.snapshots = self.backend.snapshots()
        screen = self.screen
        for bar in screen.query(SummaryBar):
            bar.show(self)
        refresh = getattr(screen, "refresh_data", None)
        if refresh is not None and getattr(screen, "ready", False):  # mounted, its table has columns
            refresh()

    def header_summary(self) -> str:
        text = summary([s.state for s in self.snapshots])
        drafts, needs = sum(map(len, self.model.drafts.values())), len(self.model.needs_you)
        if drafts:
            text += f" · drafts {drafts}"
        if needs:
            text += f" · needs you {needs}"
        return text

    # ---- AI: drafts waiting and chats that need the seller ----------------------------------------------

    def _ai_in_use(self) -> bool:
        return bool(self.model.drafts or self.model.needs_you) or any(
            a.ai.ai.enabled for a in self.backend.config().accounts)

    def load_ai(self) -> None:
        """Read the waiting drafts and the "needs you" chats again (in a worker; one read at a time)."""
        self.model.ai_stale = False
        if self._ai_loading:
            self._ai_again = True
            return
        self._ai_loading = True
        self.run_worker(self._load_ai(), group="ai", exit_on_error=False)

    def _read_ai(self) -> tuple[list[Suggestion], list[tuple[str, str, str, int]]]:
        drafts = [Suggestion(d.id, d.account_id, d.cid, d.text, d.decision, d.checks, d.created_at_ms)
                  for d in self.backend.suggestions()]
        return drafts, self.backend.needs_you()

    async def _load_ai(self) -> None:
        try:
            drafts, flags = await asyncio.to_thread(self._read_ai)
        except Exception as exc:  # noqa: BLE001 - said once, not every five seconds
            if not self._ai_failed:
                self.notify(inert(redact(f"{type(exc).__name__}: {exc}"), one_line=False), markup=False,
                            title="AI drafts could not be read", severity="error", timeout=10)
            self._ai_failed = True
        else:
            self._ai_failed = False
            if not self._ai_again:  # a newer read is due: this one may already be out of date
                self.model.load_ai(drafts, flags)
                self.redraw()
        finally:
            self._ai_loading = False
            if self._ai_again:
                self._ai_again = False
                self.load_ai()

    def _notify(self, events: Iterable[ev.Event]) -> None:
        """What the seller must see wherever they are: config problems and reloads, stock running out."""
        for event in events:
            if isinstance(event, ev.ConfigInvalid):
                self.notify(inert("\n".join(event.errors), one_line=False), markup=False,
                            title="accounts.yml has errors; the running config stays", severity="error", timeout=20)
            elif isinstance(event, ev.ConfigReloaded) and (event.added or event.removed or event.changed):
                self.notify(f"added {len(event.added)}, removed {len(event.removed)}, changed "
                            f"{len(event.changed)}", title="accounts.yml reloaded")
            elif isinstance(event, ev.NeedsYou):
                said = f": “{event.text}”" if event.text else ""
                self.notify(inert(f"chat {event.cid}{said}", one_line=False), markup=False, severity="warning",
                            title=f"{event.account_id}: {event.reason or 'a chat needs you'}", timeout=15)
            elif isinstance(event, ev.StockLow):
                self.notify(f"{event.left} code(s) left (threshold {event.threshold})",
                            title=f"stock {event.stock!r} is low", severity="warning", timeout=15)

    # ---- calling the service -------------------------------------------------------------------------

    def call(self, fn: Callable[..., Any], *args: Any, done: str = "",
             then: Callable[[Any], None] | None = None) -> None:
        """Run a blocking backend call in a worker thread; report failures as notifications.

        ``then`` gets the result back here on the loop."""
        self.run_worker(self._call(fn, args, done, then), group="backend", exit_on_error=False)

    async def _call(self, fn: Callable[..., Any], args: tuple, done: str,
                    then: Callable[[Any], None] | None) -> None:
        try:
            result = await asyncio.to_thread(fn, *args)
        except (CoreError, SuggestionRefused) as exc:  # a deliberate refusal: its message is written to be shown (no secrets)
            self.notify(inert(str(exc), one_line=False), title=_REFUSALS.get(type(exc), "not done"), severity="error",
                        timeout=20, markup=False)
            return
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message, never a dead dashboard
            # A server's error body may carry brackets (no markup) and control characters (inert).
            self.notify(inert(redact(f"{type(exc).__name__}: {exc}"), one_line=False), title="failed",
                        severity="error", timeout=10, markup=False)
            return
        if then is not None:
            then(result)
        if done:
            self.notify(done, timeout=4)

    def open_login(self, account_id: str) -> None:
        """Start a QR login for ``account_id`` in the service and show its screen."""
        self.call(self.backend.start_login, account_id, then=lambda _: self.push_screen(LoginScreen(account_id)))

    # ---- app-wide actions ------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.call(self.backend.reload, then=lambda config: self.notify(
            f"{len(config.accounts)} account(s) in {config.path.name}", title="accounts.yml reloaded"))

    async def action_quit(self) -> None:
        online = sum(1 for s in self.snapshots if s.state == ev.AccountState.ONLINE)
        if not online:
            self.exit()
            return

        def answered(stop: bool | None) -> None:
            if stop:
                self.exit()
        self.push_screen(ConfirmScreen(f"{online} account(s) online. Stop them all and quit?"), answered)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette lists every key of the current screen, so nothing needs remembering."""
        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action in seen or not active.enabled:
                continue
            seen.add(binding.action)
            yield SystemCommand(binding.description, f"key: {key}",
                                partial(self.run_action, binding.action, active.node))
        yield from super().get_system_commands(screen)


def run_dashboard(service: Any, log_lines: LogLines) -> int:
    """Run the dashboard on a started service until the user quits (the caller stops the service)."""
    feed = EventFeed()
    service.bus.add(feed)
    app = XianyuApp(ServiceBackend(Control(service)), feed, log_lines, handle_signals=True)
    try:
        app.run()
    finally:
        service.bus.remove(feed)
    return app.return_code or 0
