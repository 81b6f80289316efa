"""The notification keys of accounts.yml: design.md §3.6's example loads, channels per account, the policy, and
mistakes named as FILE:LINE without ever quoting a URL (it carries a token)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config
from core.config.notify_schema import DEFAULT_EVENTS
from core.config.summary import summary
from core.errors import ConfigError

CONTRACT = """\
server: demo
notify:
  - url: "json://127.0.0.1:8080/hook"
    events: [needs_verification, login_required, login_expiring, delivery_failed, low_stock, needs_you,
             account_recovered]
    min_severity: warning
  - "dingtalk://d41d8cd98f00b204e9800998ecf8427e/"
  - {url_env: PHONE_URL, name: phone, events: [order_paid, daily_summary], rate_per_minute: 10}
settings:
  notify: {grace_seconds: 60, fail_count: 3, group_seconds: 20, reminders: [15, 60], quiet_hours: "23:00-07:30",
           quiet_severity: error, summary_at: "21:30", attempts: 5, retry_seconds: 2}
accounts:
  - id: shop-a
    notify: ["ntfy://127.0.0.1:8090/shop-a"]
  - id: shop-b
"""
ENV = {"PHONE_URL": "tgram://123456789:AAHsecretBOTtoken/987654321"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_contract_example_loads_with_its_policy_and_an_accounts_own_channel(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONTRACT), env=ENV)
    hook, robot, phone, own = config.channels()
    assert (hook.name, hook.min_severity, "offline" in hook.events) == ("json#1", "warning", False)
    assert robot.name == "dingtalk#2" and robot.events == DEFAULT_EVENTS and robot.min_severity == "info"
    assert phone.url == ENV["PHONE_URL"] and phone.url_env == "PHONE_URL" and phone.rate_per_minute == 10
    assert (own.name, own.account) == ("shop-a/ntfy#1", "shop-a") and config.account("shop-b").notify == ()
    policy = config.notify.settings
    assert (policy.grace_seconds, policy.fail_count, policy.group_seconds, policy.reminders) == (60, 3, 20, (15, 60))
    assert policy.quiet_hours == ((23 * 60, 7 * 60 + 30),) and policy.summary_at == 21 * 60 + 30
    assert (policy.attempts, policy.retry_seconds, policy.quiet_severity) == (5, 2, "error")


def test_no_url_is_quoted_in_reprs_summaries_or_errors(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONTRACT), env=ENV)
    shown = repr(config) + summary(config)
    assert "d41d8cd98f00b204e9800998ecf8427e" not in shown and "AAHsecretBOTtoken" not in shown
    assert "dingtalk#2: dingtalk://…" in summary(config) and "phone: tgram://… from $PHONE_URL" in summary(config)
    broken = CONTRACT.replace('"dingtalk://d41d8cd98f00b204e9800998ecf8427e/"', '"nosuch://d41d8cd98f00b204e98/"')
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, broken), env=ENV)
    assert "accounts.yml:7: notify[1]: apprise cannot send to this nosuch:// URL" in str(raised.value)
    assert "d41d8cd98f00b204e98" not in str(raised.value)


@pytest.mark.parametrize(("edit", "line", "message"), [
    (("min_severity: warning", "min_severity: loud"), 6, "notify[0].min_severity: one of info, warning, error"),
    (("low_stock, needs_you,", "low_stok, needs_you,"), 4, "notify[0].events[4]: one of needs_verification"),
    (("rate_per_minute: 10", "rate_per_minute: 0"), 8, "notify[2].rate_per_minute: must be between 1 and 600"),
    (("name: phone", "name: json#1"), 8, "notify[2]: duplicate channel name 'json#1'"),
    (("url_env: PHONE_URL", "url_env: NO_SUCH_VAR"), 8, "notify[2].url_env: environment variable NO_SUCH_VAR is "
                                                        "not set"),
    (("grace_seconds: 60", "grace_seconds: -1"), 10, "settings.notify.grace_seconds: must be between 0 and"),
    (('summary_at: "21:30"', 'summary_at: "9pm"'), 11, "settings.notify.summary_at: expected a time like 21:00"),
    (('quiet_hours: "23:00-07:30"', 'quiet_hours: "late"'), 10, "settings.notify.quiet_hours: expected a window"),
    (("  notify: {grace", "  notify: {graze: 1, grace"), 10, "settings.notify.graze"),
    (('notify: ["ntfy://127.0.0.1:8090/shop-a"]', "notify: [{name: x}]"), 14,
     "accounts[0].notify[0].url: missing"),
])
def test_mistakes_name_the_file_line_and_key(tmp_path: Path, edit: tuple[str, str], line: int, message: str) -> None:
    assert edit[0] in CONTRACT
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, CONTRACT.replace(*edit)), env=ENV)
    assert f"accounts.yml:{line}: {message}" in str(raised.value)
