"""The notification policy's pure parts: retry delays, reminders, quiet hours, the rate limit, which events open
which incident, when disconnects become an offline incident, and which URL parts are secrets."""

from __future__ import annotations

from core import events as ev
from core.config.notify_schema import NotifyChannel, NotifySettings
from core.notify.channels import masked, secret_parts
from core.notify.flaps import Flaps
from core.notify.outbox import RateLimit
from core.notify.signals import signals

S = ev.AccountState


def test_retry_delays_double_up_to_ten_minutes() -> None:
    policy = NotifySettings(retry_seconds=5)
    assert [policy.retry_delay(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert policy.retry_delay(20) == 600


def test_reminders_come_at_the_listed_minutes_then_stop() -> None:
    policy = NotifySettings(reminders=(30, 120))
    assert [policy.reminder_after(n) for n in (0, 1, 2)] == [30, 120, None]


def test_quiet_hours_hold_what_is_below_the_quiet_severity_until_the_window_ends() -> None:
    policy = NotifySettings(quiet_hours=((23 * 60, 7 * 60),), quiet_severity="error")
    assert policy.quiet_until(3 * 60, "warning") == 4 * 60  # 03:00 → 07:00
    assert policy.quiet_until(23 * 60 + 30, "info") == 7 * 60 + 30
    assert policy.quiet_until(3 * 60, "error") is None, "an error still gets through"
    assert policy.quiet_until(12 * 60, "info") is None


def test_the_rate_limit_lets_a_burst_through_then_paces() -> None:
    now = [0.0]
    limit = RateLimit(20, clock=lambda: now[0])
    assert [limit.wait_seconds() for _ in range(20)] == [0.0] * 20
    assert 2.9 < limit.wait_seconds() <= 3.0  # 20 a minute: one every 3 s
    now[0] += 3.0
    assert limit.wait_seconds() == 0.0


def test_a_channel_hears_its_kinds_at_or_above_its_severity_and_only_its_account() -> None:
    channel = NotifyChannel("c", "json://h/p", events=frozenset({"offline", "order_paid"}), min_severity="warning",
                            account="a")
    assert channel.wants("offline", "warning", "a")
    assert not channel.wants("order_paid", "info", "a"), "below min_severity"
    assert not channel.wants("offline", "warning", "b"), "another account's"
    assert not channel.wants("low_stock", "warning", "a"), "a kind it does not list"


def test_final_states_open_at_once_and_online_closes_them() -> None:
    [opened] = signals(ev.VerificationChanged("a", phase="failed", url="http://p/punish", detail="rejected"))
    assert (opened.kind, opened.opens, opened.detail["url"]) == ("needs_verification", True, "http://p/punish")
    assert signals(ev.VerificationChanged("a", phase="running", url="u")) == []
    [login] = signals(ev.StateChanged("a", state=S.LOGIN_REQUIRED, previous=S.ONLINE))
    assert login.kind == "login_required" and login.opens
    closing = signals(ev.StateChanged("a", state=S.ONLINE, previous=S.STARTING))
    assert {(s.cause, s.opens) for s in closing} == {("needs_verification", False), ("login_required", False)}
    assert signals(ev.StateChanged("a", state=S.BACKOFF, previous=S.ONLINE)) == [], "flapping is Flaps' business"
    [failed] = signals(ev.DeliveryChanged("a", order_id="o1", unit=0, state="failed", reason="no stock"))
    assert failed.cause == "delivery_failed:o1" and failed.opens
    [delivered] = signals(ev.DeliveryChanged("a", order_id="o1", unit=1, state="sent"))
    assert delivered.cause == "delivery_failed:o1" and not delivered.opens
    assert signals(ev.DeliveryChanged("a", order_id="o1", unit=0, state="retrying")) == []


def _state(flaps: Flaps, state: ev.AccountState, previous: ev.AccountState, at: int) -> None:
    flaps.observe(ev.StateChanged("a", state=state, previous=previous, reason="connection closed", at_ms=at))


def test_disconnects_become_offline_only_past_the_grace_period_or_k_of_them() -> None:
    flaps = Flaps(lambda: NotifySettings(grace_seconds=60, fail_count=5))
    _state(flaps, S.ONLINE, S.STARTING, 0)
    for at in range(1000, 5000, 1000):  # 4 quick drops and reconnects: not yet
        _state(flaps, S.BACKOFF, S.ONLINE, at)
        _state(flaps, S.ONLINE, S.STARTING, at + 100)
    assert flaps.offline(5000) == {}
    _state(flaps, S.BACKOFF, S.ONLINE, 5000)  # the fifth within the grace period: flapping
    assert "disconnected 5 times" in flaps.offline(5001)["a"]
    _state(flaps, S.ONLINE, S.STARTING, 5200)
    assert not flaps.stable("a", 30_000), "a drop within the grace period"
    assert flaps.stable("a", 5200 + 60_000)
    assert flaps.offline(5200 + 60_000) == {}, "the drops slid out of the window"


def test_an_account_down_for_the_grace_period_is_offline_and_a_parked_one_is_not() -> None:
    flaps = Flaps(lambda: NotifySettings(grace_seconds=10, fail_count=100))
    _state(flaps, S.ONLINE, S.STARTING, 0)
    _state(flaps, S.BACKOFF, S.ONLINE, 1000)
    _state(flaps, S.BACKOFF, S.BACKOFF, 3000)
    assert flaps.offline(10_000) == {}
    assert "offline for 10 s" in flaps.offline(11_000)["a"]
    _state(flaps, S.NEEDS_VERIFICATION, S.BACKOFF, 12_000)
    assert flaps.offline(30_000) == {}, "risk control speaks for itself"


def test_the_parts_of_a_url_that_may_be_tokens_are_masked_and_plain_words_are_not() -> None:
    url = "json://127.0.0.1:8080/hook/SECRETTOKEN123?access_token=abcdef12345&mode=x"
    parts = secret_parts(url)
    assert set(parts) == {"SECRETTOKEN123", "abcdef12345"}
    assert "d41d8cd98f00b204e9800998ecf8427e" in secret_parts("dingtalk://d41d8cd98f00b204e9800998ecf8427e/")
    assert set(secret_parts("mailto://me:pw@example.com")) == {"me", "pw"}
    shown = masked(f"POST {url} failed", parts)
    assert "SECRETTOKEN123" not in shown and "abcdef12345" not in shown and "/hook/" in shown
