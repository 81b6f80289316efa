"""One account's IM connection: a blocking WebSocket loop on its own pool thread.

    token → connect (timeout, shared SSLContext) → /reg → ackDiff(sync position) → recv loop
      ↑                                                                              │
      └──────────── jittered backoff ←── close / error / heartbeat timeout ──────────┘

Every item of a push is handed to the replies stage (`on_message`), and the push is ACKed once every item of it is
*recorded* (the stage calls back): a push whose items could not be stored (the disk is full, the database
gone) stays un-ACKed and its items are offered again with a growing delay, so nothing the platform delivered is
lost; the sync position only moves past pushes recorded in full. ``recv`` has a timeout so the loop notices its
stop Event and an overdue heartbeat; ``stop()`` also aborts the socket so a blocked ``recv`` returns at once. Heartbeats are *sent* by the scheduler (``heartbeat()``), the
reply is matched here. Risk control and a dead login leave the loop in a waiting state instead of
hammering the token API.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import websocket

from core import events as ev
from core.backoff import Backoff
from core.clock import now_ms
from core.credentials.account import AccountCredentials, LoginHealth
from core.credentials.renewal import CredentialState, fatigued_until
from core.errors import RegisterRejected, SendFailed
from core.goofish import frames
from core.goofish.decode import decode_item
from core.goofish.errors import FrameError, GoofishError, RiskControl, SessionExpired
from core.goofish.frames import Push, Response, parse_frame, push_items, sync_position
from core.goofish.messages import ImEvent
from core.session.answers import Answered, Answers, Waiter
from core.session.connection import Channel, WsOptions, open_socket
from core.session.receipts import Receipts, Stored

log = logging.getLogger(__name__)

# How long the loop may sit in recv with nothing to do. It needs no short tick: stop() aborts the socket, an
# unanswered heartbeat is caught by the heartbeat timer (heartbeat_check), and waiters with deadlines shorten the wait;
# a connected socket also hears the heartbeat's answer every interval. Every tick is a wake-up per account.
RECV_TICK = 60.0
# After risk control with no verifier, or a dead login, how long before trying the token API again.
RISK_RETRY = 600.0
# Login states a session that got online again has left behind.
_BLOCKED = frozenset({CredentialState.SESSION_EXPIRED, CredentialState.LONG_LOGIN_EXPIRED,
                      CredentialState.VERIFICATION_REQUIRED, CredentialState.TOKEN_EXPIRED})
# While events wait for a free handler, how often the socket loop offers them again.
BACKLOG_TICK = 0.005
BACKLOG_TICK_MAX = 0.1
BACKLOG_WARN_AT = frozenset({100, 1_000, 10_000})
# Items the replies stage could not record are offered again after 0.5 s, 1 s … up to every 30 s.
STORE_RETRY = Backoff(0.5, 30.0, jitter=0.2)
# After each failed verification round the breaker waits longer (10 min, 20, 40 … up to 4 h): no retry storm.
RISK_BACKOFF = Backoff(RISK_RETRY, 4 * 3600.0, jitter=0.0)


@dataclass(frozen=True)
class SessionTuning:
    heartbeat_timeout: float
    connect_timeout: float
    send_timeout: float
    max_message_age: float
    backoff: Backoff


@dataclass(frozen=True)
class Snapshot:
    """What the dashboard and the log see of one account, copied out under no lock."""

    account_id: str
    alias: str
    unb: str
    state: str
    since_ms: int
    last_heartbeat_ms: int | None
    token_expires_at_ms: int | None
    messages_in: int
    replies_out: int
    last_error: str
    login_state: str = "healthy"
    login_until_ms: int | None = None


class ImSession:
    def __init__(self, account_id: str, alias: str, auth: AccountCredentials, ws_options: WsOptions,
                 tuning: SessionTuning, bus: ev.EventBus,
                 on_message: Callable[[ImSession, ImEvent, Stored], bool],
                 on_synced: Callable[[ImSession, int], None],
                 verifier: Callable[[ImSession, RiskControl], bool] | None = None,
                 on_online: Callable[[ImSession], None] | None = None,
                 initial_sync_pts: int = 0) -> None:
        self.account_id = account_id
        self.alias = alias
        self.credentials = auth
        self._ws_options = ws_options
        self._tuning = tuning
        self._bus = bus
        self._on_message = on_message
        self._on_synced = on_synced
        self._verifier = verifier
        self.sync_pts = initial_sync_pts
        self._stop = threading.Event()
        self._online = threading.Event()
        self._went_online = False
        self._on_online = on_online
        self._ws: Channel | None = None
        self._ws_lock = threading.Lock()  # guards the _ws reference; Channel guards the socket's I/O
        self._answers = Answers(tuning.send_timeout)
        self._heartbeat_mid: str | None = None
        self._heartbeat_sent = 0.0
        self.state = ev.AccountState.STOPPED
        self.since_ms = now_ms()
        self.last_heartbeat_ms: int | None = None
        self.last_error = ""
        self.messages_in = 0
        self.replies_out = 0
        # Events the pipeline refused (its handlers were full), in arrival order, and the sync position
        # they belong to: the socket thread keeps reading (a handler may be waiting for a send's answer
        # on this very socket) and offers them again; the position waits for them.
        self._backlog: deque[tuple[ImEvent, Stored]] = deque()
        self._receipts = Receipts(self._ack, self._synced)
        self._store_failures = 0
        self._retry_at = 0.0  # monotonic: when items that could not be recorded are offered again
        self.verification_url: str | None = None  # the punish URL while risk control holds the account
        self._risk_rounds = 0

    # ---- lifecycle -------------------------------------------------------------------------------

    def run(self) -> None:
        """The pool thread's body: connect, serve, back off, until stop()."""
        attempt = 0
        self._set_state(ev.AccountState.STARTING, "starting")
        while not self._stop.is_set():
            self._went_online = False
            try:
                self._connect_and_serve()
                reason = "connection closed"
            except RiskControl as exc:
                if self._handle_risk(exc):
                    continue
                break
            except SessionExpired as exc:
                if self._login_dead():
                    self._set_state(ev.AccountState.LOGIN_REQUIRED,
                                    f"login expired: scan a QR code to log in again (l on the dashboard's "
                                    f"Accounts screen, or python xianyu.py login {self.account_id}), or paste a "
                                    "fresh cookie")
                    self._wait_for_login()
                    continue
                reason = f"{_describe(exc)}, but passport still knows the login"
            except (GoofishError, websocket.WebSocketException, OSError, SendFailed) as exc:
                reason = _describe(exc)
            except Exception as exc:  # a bug must cost one reconnect, not the account's thread
                log.exception("%s: unexpected error in the session loop", self.account_id)
                reason = f"internal error: {_describe(exc)}"
            if self._stop.is_set():
                break
            # A connection that got online starts the backoff over; one that never did climbs it.
            attempt = 1 if self._went_online else attempt + 1
            delay = self._tuning.backoff.next_delay(attempt)
            self._set_state(ev.AccountState.BACKOFF, f"{reason}; retry in {delay:.1f}s")
            self._stop.wait(delay)
        self._set_state(ev.AccountState.STOPPED, "stopped")

    def _login_dead(self) -> bool:
        """One expired answer from the gateway is not proof: the gateway answers it now and then for a live login.
        Passport's hasLogin is the judge; its "not logged in" is answered with the web SDK's silent login (a new
        session from the long login), and only when that cannot help either is the account parked."""
        credentials = self.credentials
        try:
            credentials.keepalive()
        except SessionExpired:
            return not self._revived()
        except (GoofishError, OSError) as exc:  # passport unreachable: cannot tell, so retry as for any failure
            log.info("%s: hasLogin failed (%s); retrying the connection", self.account_id, _describe(exc))
        return False

    def _revived(self) -> bool:
        """A new session from the long login, when ``sdkSilent`` allows one now; the login's health either way."""
        credentials = self.credentials
        # Only a refused silent login means the long login is gone; "not yet" (sdkSilent) or no answer is asked
        # again later.
        later = fatigued_until(credentials.jar, now_ms()) is not None
        try:
            if not later and credentials.revive():
                log.info("%s: the session had ended; a new one came from the long login", self.account_id)
                credentials.health = LoginHealth(CredentialState.HEALTHY, 0, "silentHasLogin: new session")
                return True
        except (GoofishError, OSError) as exc:
            log.info("%s: the silent login failed (%s)", self.account_id, _describe(exc))
            later = True
        state = CredentialState.SESSION_EXPIRED if later else CredentialState.LONG_LOGIN_EXPIRED
        credentials.health = LoginHealth(state, credentials.health.failures, "hasLogin: session gone")
        return False

    def _wait_for_login(self) -> None:
        """Parked until a new login restarts the account (the dashboard, ``xianyu.py login``, a pasted cookie):
        never polling the token API. While the long login may still give a session (``sdkSilent`` only said "not
        yet", or the passport could not be reached), the silent login is tried again once that time passed."""
        while self.credentials.health.state == CredentialState.SESSION_EXPIRED:
            tired = fatigued_until(self.credentials.jar, now_ms())
            wait = max(RISK_RETRY, (tired - now_ms()) / 1000) if tired is not None else RISK_RETRY
            if self._stop.wait(wait):
                return
            if self._revived():
                return
        self._stop.wait()
        return False

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        self.abort()

    def abort(self) -> None:
        """Drop the socket now (wakes a blocked recv); the run loop decides what happens next."""
        with self._ws_lock:
            ws = self._ws
        if ws is not None:
            ws.abort()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # ---- what other threads call ----------------------------------------------------------------

    def heartbeat(self) -> None:
        """Scheduler job: send /! (the reply is matched in the recv loop)."""
        with self._ws_lock:
            ws = self._ws
        if ws is None or self.state != ev.AccountState.ONLINE:
            return
        frame = frames.heartbeat_frame()
        mid = frame["headers"]["mid"]
        if self._heartbeat_mid is None:  # an older unanswered one keeps its deadline
            self._heartbeat_mid, self._heartbeat_sent = mid, time.monotonic()
        try:
            ws.send(frames.dumps(frame))
        except (websocket.WebSocketException, OSError):
            ws.abort()  # the reader sees the dead socket and reconnects

    def heartbeat_check(self) -> None:
        """Heartbeat timer, once a beat's timeout is up: no answer means a dead connection; drop it now (the socket
        loop, woken by the abort, says why and reconnects)."""
        if self._heartbeat_overdue():
            self.abort()

    def send_text(self, cid: str, to_id: str, text: str) -> Response:
        frame = frames.send_text_frame(cid, to_id, self.credentials.unb, text)
        return self.request(frame)

    def send_text_nowait(self, cid: str, to_id: str, text: str, on_answer: Answered) -> None:
        """Send without waiting for the answer: ``on_answer(None)`` once the server accepted it, or
        ``on_answer(SendFailed)`` when it refused, the connection dropped or no answer came within the
        send timeout. ``on_answer`` runs on this session's socket thread: it must not block. Raises
        SendFailed when the frame could not be written at all (then ``on_answer`` is never called)."""
        frame = frames.send_text_frame(cid, to_id, self.credentials.unb, text)
        self._send_request(frame, Waiter(on_answer, time.monotonic() + self._tuning.send_timeout))

    def request(self, frame: dict[str, Any]) -> Response:
        """Send one request frame and wait for the server's answer to its mid."""
        waiter = Waiter()
        return self._answers.wait(self._send_request(frame, waiter), waiter)

    def _send_request(self, frame: dict[str, Any], waiter: Waiter) -> str:
        with self._ws_lock:
            ws = self._ws
        if ws is None or self.state != ev.AccountState.ONLINE:
            raise SendFailed("account is not online")
        mid = frame["headers"]["mid"]
        self._answers.add(mid, waiter)
        try:
            ws.send(frames.dumps(frame))
        except (websocket.WebSocketException, OSError) as exc:
            self._answers.drop(mid)
            raise SendFailed(f"socket closed while sending: {_describe(exc)}") from exc
        return mid

    def wait_online(self, timeout: float) -> bool:
        return self._online.wait(timeout)

    def snapshot(self) -> Snapshot:
        credentials = self.credentials
        return Snapshot(self.account_id, self.alias, credentials.unb, self.state, self.since_ms,
                        self.last_heartbeat_ms, credentials.token_expires_at_ms, self.messages_in,
                        self.replies_out, self.last_error, credentials.health.state, credentials.login_until_ms)

    # ---- the loop ----------------------------------------------------------------------------------

    def _connect_and_serve(self) -> None:
        token = self.credentials.token()
        ws = Channel(open_socket(self._ws_options, self.credentials.jar.to_header(), self._tuning.connect_timeout))
        with self._ws_lock:
            self._ws = ws
        try:
            if self._stop.is_set():
                return
            self._register(ws, token.access_token)
            self._went_online = True
            self.verification_url, self._risk_rounds = None, 0
            if self.credentials.health.state in _BLOCKED:  # a login that works again (expiring stays said)
                self.credentials.health = LoginHealth()
            self._set_state(ev.AccountState.ONLINE, "registered")
            if self._on_online is not None:
                self._on_online(self)
            self._serve(ws)
        finally:
            with self._ws_lock:
                self._ws = None
            self._heartbeat_mid = None
            self._answers.fail_all()
            ws.close()

    def _register(self, ws: Channel, access_token: str) -> None:
        reg = frames.reg_frame(access_token, self.credentials.device_id, self._ws_options.im_user_agent)
        ws.send(frames.dumps(reg))
        deadline = time.monotonic() + self._tuning.connect_timeout
        while True:
            frame = self._recv(ws, deadline)
            if isinstance(frame, Response) and frame.mid == reg["headers"]["mid"]:
                break
            self._handle(ws, frame)
        if frame.code != 200:
            self.credentials.forget_token()
            body = frame.body if isinstance(frame.body, dict) else {}
            raise RegisterRejected(f"/reg answered {frame.code} {body.get('reason', '')}".strip())
        # Ask for everything after our persisted position; a fresh account asks for the last
        # max_message_age seconds (older messages would only be recorded, not answered).
        position = self.sync_pts or int((time.time() - self._tuning.max_message_age) * 1_000_000)
        ws.send(frames.dumps(frames.ack_diff_frame(position)))

    def _serve(self, ws: Channel) -> None:
        backlog_wait = BACKLOG_TICK
        while not self._stop.is_set():
            if self._heartbeat_overdue():
                raise self._no_heartbeat()
            tick = RECV_TICK
            if self._answers:
                self._answers.expire()
                tick = self._answers.wait_for(tick)
            self._take_back_unstored()
            if self._offer_backlog():
                # Handlers full: try again soon, then less and less often. A hundred sessions retrying
                # every 5 ms took the CPU the handlers needed to catch up, and the service never did.
                wait, backlog_wait = backlog_wait, min(backlog_wait * 2, BACKLOG_TICK_MAX)
            else:
                wait, backlog_wait = tick, BACKLOG_TICK
            if self._receipts.unstored_waiting():
                wait = max(0.0, min(wait, self._retry_at - time.monotonic()))
            try:
                raw = ws.recv(wait)
            except (websocket.WebSocketException, OSError) as exc:
                if self._heartbeat_overdue():  # aborted by heartbeat_check: that is the reason, not the abort
                    raise self._no_heartbeat() from exc
                raise
            if raw is None:
                continue
            if not raw:  # a close frame: the server ended the connection normally
                return
            try:
                frame = parse_frame(raw)
            except FrameError as exc:
                log.warning("%s: skipped a malformed frame: %s", self.account_id, exc)
                continue
            self._handle(ws, frame)

    def _no_heartbeat(self) -> SendFailed:
        return SendFailed(f"no heartbeat reply within {self._tuning.heartbeat_timeout:.0f}s")

    def _recv(self, ws: Channel, deadline: float) -> Response | Push:
        """One parsed frame before ``deadline`` (used while registering)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                raise SendFailed("no /reg answer in time")
            raw = ws.recv(min(left, RECV_TICK))
            if raw is None:
                continue
            if not raw:
                raise SendFailed("server closed the connection during /reg")
            try:
                return parse_frame(raw)
            except FrameError as exc:
                log.warning("%s: skipped a malformed frame: %s", self.account_id, exc)

    def _handle(self, ws: Channel, frame: Response | Push) -> None:
        if isinstance(frame, Response):
            self._on_response(frame)
            return
        if not isinstance(frame, Push):
            return
        events = []
        for item in push_items(frame):
            event = decode_item(item, me=self.credentials.unb)
            if event.kind == "invalid":
                log.warning("%s: skipped an undecodable push item: %s", self.account_id, event.error)
                continue
            events.append(event)
        # ACKed (and its position passed) once every item is recorded: at once when it has none to record.
        receipt = self._receipts.open(ws, frame, sync_position(frame), len(events))
        self._backlog.extend((event, self._receipts.item(receipt, event)) for event in events)
        self._offer_backlog()

    def _ack(self, ws: Channel, frame: Push) -> None:
        """Any thread: every item of `frame` is recorded. A socket that is gone gets no ACK: the platform
        delivers the push again on the next connection, and it is deduped there."""
        with contextlib.suppress(websocket.WebSocketException, OSError):
            ws.send(frames.dumps(frames.push_ack(frame)))

    def _synced(self, position: int) -> None:
        self._store_failures = 0
        self._on_synced(self, position)

    def _take_back_unstored(self) -> None:
        """Items the stage could not record go back to the front of the backlog, once their delay is over."""
        if not self._receipts.unstored_waiting() or time.monotonic() < self._retry_at:
            return
        unstored = self._receipts.take_unstored()
        self._backlog.extendleft(reversed(unstored))
        self._store_failures += 1
        self._retry_at = time.monotonic() + STORE_RETRY.next_delay(self._store_failures)

    def _offer_backlog(self) -> bool:
        """Hand backlogged events to the pipeline in order; True while some are still waiting."""
        backlog = self._backlog
        while backlog:
            event, stored = backlog[0]
            if not self._on_message(self, event, stored):
                if len(backlog) in BACKLOG_WARN_AT:
                    log.warning("%s: %d messages wait for a free handler (messages_in_flight is full)",
                                self.account_id, len(backlog))
                return True
            backlog.popleft()
        return False

    def _on_response(self, response: Response) -> None:
        if response.mid == self._heartbeat_mid:
            self._heartbeat_mid = None
            self.last_heartbeat_ms = now_ms()
            return
        self._answers.answer(response)

    def _heartbeat_overdue(self) -> bool:
        return (self._heartbeat_mid is not None
                and time.monotonic() - self._heartbeat_sent > self._tuning.heartbeat_timeout)

    def _handle_risk(self, exc: RiskControl) -> bool:
        """Circuit breaker: hand over to verification instead of retrying the token API."""
        self.verification_url = exc.url
        self.credentials.health = LoginHealth(CredentialState.VERIFICATION_REQUIRED, self.credentials.health.failures,
                                              "risk control")
        self._set_state(ev.AccountState.NEEDS_VERIFICATION, "risk control (slider verification required)")
        self._bus.emit(ev.AccountError(self.account_id, message=f"risk control: {exc.url or 'no url'}"))
        self._risk_rounds += 1  # rounds since the account was last online
        if self._verifier is not None and self._verifier(self, exc):
            if self._risk_rounds == 1:
                return True
            # Solved, yet blocked again before getting online: solving at once again would be a retry storm.
            reason = "the slider was solved but risk control came straight back"
        else:
            reason = "automatic verification failed: solve the slider by hand or paste a fresh cookie"
        delay = RISK_BACKOFF.ceiling(self._risk_rounds)
        if self._verifier is not None:
            self._set_state(ev.AccountState.NEEDS_VERIFICATION, f"{reason} (next automatic try in {delay / 60:.0f} min)")
        self._stop.wait(delay)
        return not self._stop.is_set()

    def _set_state(self, state: str, reason: str) -> None:
        previous = self.state
        if state in ev.TROUBLED:
            self.last_error = reason
        if state == previous and state != ev.AccountState.BACKOFF:
            return
        self.state = state
        self.since_ms = now_ms()
        if state == ev.AccountState.ONLINE:
            self._online.set()
        else:
            self._online.clear()
        self._bus.emit(ev.StateChanged(self.account_id, state=state, previous=previous, reason=reason))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, websocket.WebSocketBadStatusException):  # its str() dumps every header
        return f"handshake refused: HTTP {exc.status_code}"
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:197] + "…"
