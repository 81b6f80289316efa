"""One chat's history from storage; reply by hand (a manual takeover: the bot pauses there), pause, resume.

With AI replies in suggest mode the chat's newest waiting draft is shown under the history, in full, with what
the program decided (``counter 90 (round 1 of 3)``): ``s`` sends it as is, ``e`` puts it into the edit line
(enter sends the edited text, escape leaves it), ``d`` discards it. A chat whose buyer asked for a person says
so in the header until the seller writes there; ``n`` clears the flag by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from core.inert import inert
from tui.backend import HistoryEntry
from tui.format import cell_text, clip, clock, left
from tui.model import Conversation, Flag, Suggestion
from tui.screens.common import TableScreen, TextScreen

COLUMNS = (("at", "Time", 8), ("who", "Who", 12), ("text", "Message", 60), ("note", "Rule / status", 18))
PAUSE_MINUTES = 60.0  # a pause from the dashboard when the account has no takeover_minutes
DRAFT_ACTIONS = frozenset({"send_draft", "edit_draft", "discard_draft"})


class ChatScreen(TableScreen):
    NAME, TABLE_ID, COLUMNS = "Chat", "history", COLUMNS
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "reply", "Reply by hand"),
        Binding("p", "pause", "Pause bot"),
        Binding("u", "resume", "Resume bot"),
        # Shown on the draft panel and the header, and in the palette: the footer keeps room for Quit.
        Binding("s", "send_draft", "Send AI draft as is", show=False),
        Binding("e", "edit_draft", "Edit AI draft", show=False),
        Binding("d", "discard_draft", "Discard AI draft", show=False),
        Binding("n", "clear_flag", "Clear “needs you”", show=False),
    ]

    def __init__(self, conversation: Conversation) -> None:
        super().__init__()
        self.conversation = conversation
        self._seen: Conversation | None = None
        self.draft: Suggestion | None = None  # the newest draft waiting in this chat, as shown
        self.flag: Flag | None = None
        self.editing: int | None = None  # the draft id whose text is in the edit line
        self._shown: tuple | None = None  # what the draft panel shows: (draft, drafts waiting, editing)
        self._busy: set[int] = set()  # drafts with a send or discard under way: one press, one call

    def above(self) -> Iterable[Widget]:
        yield Static(id="chat-head")

    def below(self) -> Iterable[Widget]:
        yield Static(id="draft")
        yield Input(id="draft-edit", placeholder="edit the draft; enter sends it, escape leaves it")

    def on_mount(self) -> None:  # before TableScreen.on_mount (Textual calls each class's handler in the MRO)
        self.query_one("#draft", Static).display = False
        self.query_one("#draft-edit", Input).display = False

    def refresh_data(self) -> None:
        app: Any = self.app
        c = self.conversation
        latest = app.model.conversations.get(c.key, c)
        if latest is not self._seen:  # something happened in this chat: read its history again
            self._seen = latest
            app.call(app.backend.history, c.account_id, c.cid, then=self.show_history)
        until = app.model.pauses.get((c.account_id, c.cid))
        paused = until is not None and until > app.clock()
        flag = app.model.needs_you.get(c.key)
        marks = (self.draft is not None, self.flag is not None)
        self.flag = flag
        head = Text.assemble(
            ("chat ", "dim"), cell_text(c.cid), ("  account ", "dim"), c.account_id, ("  buyer ", "dim"),
            cell_text(c.buyer_nick or c.buyer_id), ("  item ", "dim"), cell_text(c.item_id or "—"), "  ",
            (f"bot paused, {left(app.clock(), until)} left", "bold magenta") if paused else ("bot answering", "green"))
        if self.flag is not None:
            head.append_text(Text.assemble(
                "\n", (f"needs you: {inert(self.flag.reason)}", "bold reverse red"),
                (f"  since {clock(self.flag.since_ms)}" if self.flag.since_ms else "", "dim"),
                ("  n", "bold"), (" clear (a reply here clears it too)", "dim")))
        self.query_one("#chat-head", Static).update(head)
        self.show_draft(app.model.draft_for(c.account_id, c.cid),
                        len(app.model.drafts.get(c.key, ())))
        if marks != (self.draft is not None, self.flag is not None):
            self.refresh_bindings()  # the draft and flag keys are offered (palette) only when they apply

    def show_draft(self, draft: Suggestion | None, waiting: int) -> None:
        panel = self.query_one("#draft", Static)
        self.draft = draft
        if draft is None:
            panel.display = False
            self._shown = None
            if self.editing is not None:  # sent or discarded elsewhere: nothing left to edit
                self.stop_editing()
            return
        if self.editing is not None and self.editing != draft.draft_id:
            self.stop_editing()  # a newer draft came in: the edit line was for the old one
        shown = (draft, waiting, self.editing)
        if shown == self._shown:
            return
        self._shown = shown
        decision = f" · {inert(draft.decision)}" if draft.decision else ""
        panel.border_title = f"AI draft #{draft.draft_id}{decision} · {clock(draft.at_ms)}"
        parts: list[Any] = [Text(inert(draft.text, one_line=False))]
        if draft.checks:
            parts.append(Text(f"checks: {inert(draft.checks)}", style="dim"))
        if self.editing is not None:
            keys = Text.assemble(("enter", "bold"), " send the edited text   ", ("escape", "bold"), " leave the edit")
        else:
            keys = Text.assemble(("s", "bold"), " send as is   ", ("e", "bold"), " edit   ", ("d", "bold"), " discard")
        if waiting > 1:
            keys.append(f"   ({waiting - 1} older draft(s) waiting)", style="dim")
        parts.append(keys)
        panel.update(Group(*parts))
        panel.display = True

    def show_history(self, lines: list[HistoryEntry]) -> None:
        self.rows.sync((h.key, (clock(h.at_ms), clip(h.who, 12),
                                (clip(h.text, 60), "" if h.direction == "in" else "cyan"),
                                clip(h.note, 18)))
                       for h in lines)
        table = self.query_one(DataTable)
        table.move_cursor(row=table.row_count - 1)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in DRAFT_ACTIONS:
            return self.draft is not None
        if action == "clear_flag":
            return self.flag is not None
        return True

    # ---- keys --------------------------------------------------------------------------------------------

    def action_back(self) -> None:
        if self.editing is not None:
            self.stop_editing()
            self.refresh_data()
        else:
            self.app.pop_screen()

    def action_reply(self) -> None:
        c = self.conversation
        self.app.push_screen(TextScreen(f"Reply to {c.buyer_nick or c.buyer_id} (pauses the bot in this chat)"),
                             self.send)

    def send(self, text: str | None) -> None:
        if not text:
            return
        app: Any = self.app
        c = self.conversation

        def sent(ok: bool) -> None:
            if ok:
                app.notify("sent; the bot is paused in this chat", title="reply by hand", timeout=4)
                self._seen = None
                app.load_ai()  # writing here clears "needs you"
            else:
                app.notify(f"{c.account_id} is not online: nothing was sent", severity="error")
        app.call(app.backend.send_manual, c.account_id, c.cid, c.buyer_id, text, then=sent)

    def action_pause(self) -> None:
        app: Any = self.app
        c = self.conversation
        account = next((a for a in app.backend.config().accounts if a.id == c.account_id), None)
        minutes = (account.effective.takeover_minutes if account else 0) or PAUSE_MINUTES
        app.call(app.backend.pause, c.account_id, c.cid, minutes, done=f"bot paused here for {minutes:g} min")

    def action_resume(self) -> None:
        app: Any = self.app
        c = self.conversation
        app.call(app.backend.resume, c.account_id, c.cid, done="bot answers this chat again")

    def action_send_draft(self) -> None:
        if self.draft is not None:
            self.send_draft(self.draft.draft_id, None)

    def action_edit_draft(self) -> None:
        if self.draft is None:
            return
        edit = self.query_one("#draft-edit", Input)
        if self.editing != self.draft.draft_id:
            edit.value = self.draft.text
            edit.cursor_position = len(edit.value)
        self.editing = self.draft.draft_id
        edit.display = True
        edit.focus()
        self.refresh_data()

    def stop_editing(self) -> None:
        """Close the edit line (its text is dropped: ``e`` starts again from the draft)."""
        self.editing = None
        self._shown = None
        edit = self.query_one("#draft-edit", Input)
        edit.display = False
        self.query_one(DataTable).focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        if self.editing is not None:
            text = message.value.strip()
            if text:
                self.send_draft(self.editing, text)

    def send_draft(self, draft_id: int, text: str | None) -> None:
        """Send the draft (``text``: the seller's edit of it). A refusal is a notification; the edit is kept."""
        if draft_id in self._busy:
            return
        self._busy.add(draft_id)
        app: Any = self.app
        c = self.conversation

        def sent(ok: bool) -> None:
            if ok:
                app.model.drop_draft(draft_id)
                if self.editing == draft_id:
                    self.stop_editing()
                app.notify("edited draft sent; the bot is paused in this chat" if text is not None else "draft sent",
                           title="AI draft", timeout=4)
                self._seen = None
                self.refresh_data()
            else:
                app.notify(f"{c.account_id} is not online: nothing was sent; the draft still waits",
                           severity="error")
            app.load_ai()

        app.call(self._settled(draft_id, app.backend.send_suggestion), draft_id, text, then=sent)

    def action_discard_draft(self) -> None:
        draft = self.draft
        if draft is None or draft.draft_id in self._busy:
            return
        self._busy.add(draft.draft_id)
        app: Any = self.app

        def discarded(_: None) -> None:
            app.model.drop_draft(draft.draft_id)
            if self.editing == draft.draft_id:
                self.stop_editing()
            self.refresh_data()
            app.load_ai()

        app.call(self._settled(draft.draft_id, app.backend.discard_suggestion), draft.draft_id, then=discarded,
                 done=f"draft #{draft.draft_id} discarded")

    def _settled(self, draft_id: int, call: Any) -> Any:
        """``call`` in the worker; the draft may be pressed again once it returned or raised."""
        def run(*args: Any) -> Any:
            try:
                return call(*args)
            finally:
                self._busy.discard(draft_id)
        return run

    def action_clear_flag(self) -> None:
        app: Any = self.app
        c = self.conversation

        def cleared(_: None) -> None:
            app.model.clear_flag(c.account_id, c.cid)
            self.refresh_data()
            app.load_ai()

        app.call(app.backend.clear_needs_you, c.account_id, c.cid, then=cleared, done="“needs you” cleared")
