"""Incidents on a real SQLite database: one per account and cause, grouped across accounts, reminded, closed by
one follow-up, held in quiet hours, and neither lost nor repeated by a restart. The notifier is driven by hand
(``observe`` and ``tick`` with chosen times), and its senders post to a local webhook receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core import events as ev
from core.config import Config
from core.config.notify_schema import NotifyChannel, NotifyConfig, NotifySettings
from core.config.schema import AccountConfig
from core.notify.notifier import Notifier
from storage import Store
from tests.service.support import wait_until
from tests.webhooks import Receiver

S = ev.AccountState
T0 = int(time.mktime((2026, 12, 6, 12, 0, 0, 0, 0, -1)) * 1000)  # a past local noon: outside the quiet hours
MIN = 60_000


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'x.db'}") as opened:
        yield opened


def _config(tmp_path: Path, hook: Receiver, **policy: object) -> Config:
    channels = (NotifyChannel("phone", hook.url("json", "/hook/TOKEN12345")),
                NotifyChannel("quiet", hook.url("json", "/quiet"), events=frozenset({"login_required"})))
    accounts = tuple(AccountConfig(id=name, alias=f"Shop {name.upper()}" if name == "a" else None)
                     for name in ("a", "b", "c"))
    return Config(path=tmp_path / "accounts.yml", accounts=accounts,
                  notify=NotifyConfig(channels, NotifySettings(group_seconds=10, **policy)))  # type: ignore[arg-type]


def _notifier(store: Store, config: Config) -> Notifier:
    return Notifier(store, ev.EventBus(), lambda: config)


def _logged_out(account: str, at: int) -> ev.StateChanged:
    return ev.StateChanged(account, state=S.LOGIN_REQUIRED, previous=S.ONLINE, reason="login expired", at_ms=at)


def _online(account: str, at: int) -> ev.StateChanged:
    return ev.StateChanged(account, state=S.ONLINE, previous=S.STARTING, reason="registered", at_ms=at)


def _titles(hook: Receiver, path: str = "/hook/TOKEN12345") -> list[str]:
    return [m.title for m in hook.messages() if m.path == path]


def _settle(hook: Receiver, count: int, path: str = "/hook/TOKEN12345") -> list[str]:
    wait_until(lambda: len(_titles(hook, path)) >= count, 10, lambda: f"got {_titles(hook, path)}")
    time.sleep(0.3)  # and nothing more arrives
    return _titles(hook, path)


def test_incidents_of_one_cause_across_accounts_go_out_as_one_message(tmp_path: Path, hook: Receiver,
                                                                        store: Store) -> None:
    notifier = _notifier(store, _config(tmp_path, hook))
    for offset, account in enumerate("abc"):
        notifier.observe(_logged_out(account, T0 + offset * 1000))
    notifier.tick(T0 + 5000)  # inside the window: nothing yet
    assert store.notices.recent_messages() == []
    notifier.tick(T0 + 10_000)
    assert _settle(hook, 1) == ["3 accounts need a QR scan: Shop A, b, c"]
    assert _settle(hook, 1, "/quiet") == ["3 accounts need a QR scan: Shop A, b, c"]
    [body] = [m.message for m in hook.messages() if m.path == "/hook/TOKEN12345"]
    assert "python xianyu.py login a" in body and "python xianyu.py login c" in body
    notifier.close()


def test_a_repeated_event_and_a_restart_say_nothing_more(tmp_path: Path, hook: Receiver, store: Store) -> None:
    config = _config(tmp_path, hook)
    notifier = _notifier(store, config)
    notifier.observe(_logged_out("b", T0))
    notifier.tick(T0 + 10_000)
    assert _settle(hook, 1) == ["b is logged out: scan a QR code"]
    notifier.observe(_logged_out("b", T0 + 20_000))
    notifier.tick(T0 + 40_000)
    notifier.close()
    again = _notifier(store, config)  # the next run finds the account logged out again
    again.observe(_logged_out("b", T0 + 60_000))
    again.tick(T0 + 80_000)
    assert _settle(hook, 1) == ["b is logged out: scan a QR code"]
    again.observe(_online("b", T0 + 90_000))  # … and recovered: one follow-up, from the new run
    again.tick(T0 + 100_000)
    assert _settle(hook, 2)[1] == "b: back online after 1 min"
    assert _titles(hook, "/quiet") == ["b is logged out: scan a QR code"], "that channel takes no recoveries"
    again.close()


def test_a_recovery_before_the_message_went_out_says_nothing(tmp_path: Path, hook: Receiver, store: Store) -> None:
    notifier = _notifier(store, _config(tmp_path, hook))
    notifier.observe(_logged_out("a", T0))
    notifier.observe(_online("a", T0 + 3000))
    for at in (T0 + 10_000, T0 + 20_000):
        notifier.tick(at)
    time.sleep(0.5)
    assert hook.messages() == [] and store.notices.recent_messages() == []
    notifier.close()


def test_an_open_incident_is_reminded_at_growing_intervals(tmp_path: Path, hook: Receiver, store: Store) -> None:
    notifier = _notifier(store, _config(tmp_path, hook, reminders=(30, 120)))
    notifier.observe(ev.VerificationChanged("c", phase="failed", url="http://127.0.0.1/punish?x=1", detail="rejected",
                                            at_ms=T0))
    notifier.tick(T0 + 10_000)
    notifier.tick(T0 + 29 * MIN)
    assert _settle(hook, 1) == ["c needs a slider check"]
    notifier.tick(T0 + 31 * MIN)
    notifier.tick(T0 + 100 * MIN)
    notifier.tick(T0 + 121 * MIN)
    notifier.tick(T0 + 1000 * MIN)
    titles = _settle(hook, 3)
    assert titles[1:] == ["Still open (31 min): c needs a slider check", "Still open (2 h 1 min): c needs a slider check"]
    assert "http://127.0.0.1/punish?x=1" in hook.messages()[0].message
    notifier.close()


def test_quiet_hours_hold_a_warning_but_not_an_error(tmp_path: Path, hook: Receiver, store: Store) -> None:
    night = int(time.mktime((2026, 12, 8, 3, 0, 0, 0, 0, -1)) * 1000)
    morning = int(time.mktime((2026, 12, 8, 7, 0, 0, 0, 0, -1)) * 1000)
    notifier = _notifier(store, _config(tmp_path, hook, quiet_hours=((23 * 60, 7 * 60),)))
    notifier.observe(ev.StockLow("a", stock="vip", left=2, threshold=5, at_ms=night))
    notifier.observe(_logged_out("b", night))
    notifier.tick(night + 10_000)
    held = {m.kind: m.next_at_ms for m in store.notices.recent_messages() if m.channel == "phone"}
    assert held == {"low_stock": morning, "login_required": night + 10_000}
    notifier.close()


def test_a_buyer_asking_twice_within_the_hold_is_one_message(tmp_path: Path, hook: Receiver, store: Store) -> None:
    notifier = _notifier(store, _config(tmp_path, hook))
    for at in (T0, T0 + 5 * MIN):
        notifier.observe(ev.NeedsYou("a", cid="c1", reason="the buyer asked for a person", text="转人工", at_ms=at))
        notifier.tick(at + 10_000)
    notifier.tick(T0 + 70 * MIN)  # past the hour's hold: the next ask is news again
    notifier.observe(ev.NeedsYou("a", cid="c1", reason="the buyer asked for a person", text="人工", at_ms=T0 + 71 * MIN))
    notifier.tick(T0 + 72 * MIN)
    assert _settle(hook, 2) == ["Shop A: a buyer needs you"] * 2
    notifier.close()


def test_an_account_channel_hears_only_its_account(tmp_path: Path, hook: Receiver, store: Store) -> None:
    config = _config(tmp_path, hook)
    own = NotifyChannel("b/json#1", hook.url("json", "/b"), account="b")
    config = replace(config, accounts=tuple(replace(a, notify=(own,)) if a.id == "b" else a for a in config.accounts))
    notifier = _notifier(store, config)
    notifier.observe(_logged_out("a", T0))
    notifier.observe(_logged_out("b", T0))
    notifier.tick(T0 + 10_000)
    assert _settle(hook, 1, "/b") == ["b is logged out: scan a QR code"]
    assert _settle(hook, 1) == ["2 accounts need a QR scan: Shop A, b"]
    notifier.close()


def test_the_daily_summary_goes_out_once_a_day_also_across_a_restart(tmp_path: Path, hook: Receiver,
                                                                      store: Store) -> None:
    config = _config(tmp_path, hook)
    summary = NotifyChannel("summary", hook.url("json", "/summary"), events=frozenset({"daily_summary"}))
    config = replace(config, notify=replace(config.notify, channels=(*config.notify.channels, summary)))
    evening = int(time.mktime((2026, 12, 6, 21, 30, 0, 0, 0, -1)) * 1000)  # past: the sender runs on real time
    notifier = _notifier(store, config)
    notifier.tick(evening - 60 * MIN)  # before summary_at (21:00): nothing
    notifier.tick(evening)
    notifier.tick(evening + MIN)
    notifier.close()
    again = _notifier(store, config)
    again.tick(evening + 2 * MIN)
    assert _settle(hook, 1, "/summary") == ["2026-12-06: 0 messages, 0 replies, 0 orders, 0 delivered"]
    assert hook.messages()[0].message == "No activity." and _titles(hook) == [], "only the channel that lists it"
    again.close()


def test_an_offline_account_that_is_then_logged_out_is_not_called_back_online(tmp_path: Path, hook: Receiver,
                                                                              store: Store) -> None:
    notifier = _notifier(store, _config(tmp_path, hook, grace_seconds=60))
    notifier.observe(_online("a", T0))
    notifier.observe(ev.StateChanged("a", state=S.BACKOFF, previous=S.ONLINE, reason="connection closed",
                                     at_ms=T0 + 1000))
    notifier.tick(T0 + 62_000)
    notifier.tick(T0 + 72_000)
    assert _settle(hook, 1) == ["Shop A is offline"]
    notifier.observe(_logged_out("a", T0 + 80_000))
    notifier.tick(T0 + 90_000)
    notifier.tick(T0 + 100_000)
    assert _settle(hook, 2) == ["Shop A is offline", "Shop A is logged out: scan a QR code"]
    notifier.close()
