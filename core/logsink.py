"""The headless sink: one readable log line per service event (``python xianyu.py --no-tui``).

The TUI's Log screen shows the same lines, so this module owns the wording; ``format_event`` is a pure
function of the event. Every line is made inert (core/inert.py): what the platform supplied (a message, a nick,
an item title, an error body) can neither drive the terminal nor split or forge a line. A record's message is
always one line (``\n`` is shown as ``\n``); only a traceback keeps real line breaks, each continuation line
indented.
"""

from __future__ import annotations

import logging
import sys

from core import events as ev
from core.inert import inert, log_text
from core.redact import RedactFilter

log = logging.getLogger("xianyu")

_SHORT = 60


def _clip(text: str, limit: int = _SHORT) -> str:
    text = " ".join(inert(text).split())  # inert first: a line break is shown as \n, not lost in a space
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_event(event: ev.Event) -> str:
    """The event's log line: one line, inert (so any other sink may show it as it is)."""
    return inert(_describe(event))


def _describe(event: ev.Event) -> str:
    who = event.account_id
    match event:
        case ev.StateChanged():
            reason = f" ({event.reason})" if event.reason else ""
            return f"{who}: {event.previous} → {event.state}{reason}"
        case ev.MessageReceived():
            item = f" item {event.item_id}" if event.item_id else ""
            return f"{who}: ← {event.sender_nick or event.sender_id} [chat {event.cid}{item}]: {_clip(event.text)}"
        case ev.ReplySent():
            return f"{who}: → [chat {event.cid}] {_clip(event.text)} (rule {event.rule}, {event.latency_ms} ms)"
        case ev.ReplyFailed():
            return f"{who}: ✗ reply to chat {event.cid} failed after retries: {event.error}"
        case ev.MessageDecided():
            return f"{who}: · [chat {event.cid}] not answered: {event.decision}"
        case ev.ChatPaused():
            return f"{who}: ‖ chat {event.cid} paused ({event.reason})"
        case ev.ChatResumed():
            return f"{who}: ▶ chat {event.cid} resumed"
        case ev.NeedsYou():
            return f"{who}: ! chat {event.cid} needs you: {event.reason}: {_clip(event.text)}"
        case ev.DraftSuggested():
            decided = f" ({event.decision})" if event.decision else ""
            return (f"{who}: ? [chat {event.cid}] AI draft #{event.draft_id} waits for you{decided}: "
                    f"{_clip(event.text)}")
        case ev.OrderNotice():
            return f"{who}: ¥ order {event.order_id or '?'} {event.status or 'notice'} [chat {event.cid}]"
        case ev.VerificationChanged():
            return f"{who}: {_verification_line(event)}"
        case ev.OrderChanged():
            was = f"{event.previous} → " if event.previous else ""
            return f"{who}: ¥ order {event.order_id} {was}{event.status} (buyer {event.buyer_nick or '?'})"
        case ev.DeliveryChanged():
            code = f" code {event.code}" if event.code else ""
            reason = f": {event.reason}" if event.reason else ""
            return f"{who}: ⇒ order {event.order_id} unit {event.unit} {event.state}{code}{reason}"
        case ev.StockLow():
            return f"stock {event.stock!r} is low: {event.left} left (threshold {event.threshold})"
        case ev.AccountError():
            return f"{who}: error: {event.message}"
        case ev.NotificationChanged():
            error = f": {_clip(event.error)}" if event.error else ""
            return f"notification to {event.channel} {event.state}: {_clip(event.title)}{error}"
        case ev.ConfigReloaded():
            return (f"config reloaded: added {list(event.added)}, removed {list(event.removed)}, "
                    f"changed {list(event.changed)}")
        case ev.ConfigInvalid():
            return "config edit rejected, the running config stays: " + "; ".join(event.errors)
    return f"{who}: {type(event).__name__}"


def _verification_line(event: ev.VerificationChanged) -> str:
    match event.phase:
        case "queued":
            return f"slider verification queued (position {event.position})"
        case "running":
            return f"slider verification attempt {event.attempt}"
        case "solved":
            return f"slider solved in {event.seconds:.1f} s"
        case "failed":
            return f"slider verification failed ({event.detail}); solve it by hand: {event.url}"
    detail = f": {event.detail}" if event.detail else ""
    return f"slider verification {event.phase}{detail}"


_LEVELS = {ev.AccountError: logging.WARNING, ev.ReplyFailed: logging.WARNING,
           ev.ConfigInvalid: logging.ERROR, ev.NeedsYou: logging.WARNING, ev.MessageDecided: logging.DEBUG, ev.StockLow: logging.WARNING,
           ev.OrderNotice: logging.DEBUG}  # the raw notice; OrderChanged says what it changed


class LogSink:
    def emit(self, event: ev.Event) -> None:
        level = _LEVELS.get(type(event), logging.INFO)
        if isinstance(event, ev.StateChanged) and event.state in ev.TROUBLED:
            level = logging.WARNING
        elif isinstance(event, ev.NotificationChanged) and event.state != "sent":
            level = logging.ERROR if event.state == "dead" else logging.WARNING
        log.log(level, "%s", format_event(event))


class InertFormatter(logging.Formatter):
    """The line format, with what came from the platform (a message, a nick, an error body) made inert: no
    terminal control sequence and no forged line gets through, in the log or on the dashboard's Log screen.

    Whoever logged it and however (arguments, ``%r``, an exception's text), it is the *formatted* record that is
    made inert: its first line (time, level, message) as one line, the traceback or stack that may follow with
    its real line breaks, continuation lines indented (``log_text``). The record itself is not changed, so
    another handler (pytest's capture, say) still sees what was logged."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return inert(super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        # super().format is formatMessage (one line, inert) + "\n" + exc_text and stack_info, which may be
        # cached on the record by another handler's formatter: log_text covers them whoever formatted them.
        return log_text(super().format(record))


def log_formatter() -> logging.Formatter:
    """``12:00:00 INFO    shop-a: …`` — the one format of ``--no-tui`` lines and of the Log screen."""
    return InertFormatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S")


def setup_logging(level: str = "INFO", stream=None) -> None:
    """Root logging for the process: a plain line format, secrets masked on every handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(log_formatter())
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("apscheduler", "urllib3", "websocket", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
