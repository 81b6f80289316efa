"""``python xianyu.py notify test [NAME|URL]``: send a test message to every channel (or the one named, or a URL
given on the command line) and print what apprise said — the provider's own error when it refused (a DingTalk
keyword mismatch, a wrong Telegram chat), with every token masked."""

from __future__ import annotations

import sys
from pathlib import Path

from core.config import Config
from core.config.notify_rules import url_problem
from core.config.notify_schema import NotifyChannel
from core.notify.channels import Channel
from core.notify.errors import NotifyError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
TEST_TITLE = "xianyu.py: test notification"


def notify_test(config: Config, target: str | None) -> int:
    try:
        channels = _chosen(config, target)
    except NotifyError as exc:
        print(f"xianyu.py notify test: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    failed = 0
    for channel in channels:
        accounts = ", ".join(a.id for a in config.accounts if channel.config.account in (None, a.id)) or "none yet"
        body = (f"Notifications from xianyu.py ({Path(config.path).name}) reach the channel {channel.name}. "
                f"Accounts it hears about: {accounts}.")
        try:
            outcome = channel.send(TEST_TITLE, body, "info")
        except NotifyError as exc:
            print(f"{channel.name}: FAILED: {exc}")
            failed += 1
            continue
        print(f"{channel.shown}: {'OK' if outcome.ok else 'FAILED'}")
        if not outcome.ok:
            failed += 1
            for line in outcome.trace.splitlines():
                print(f"    {line}")
    return EXIT_OK if not failed else EXIT_FAILED


def _chosen(config: Config, target: str | None) -> list[Channel]:
    configured = config.channels()
    if target and "://" in target:
        problem = url_problem(target)
        if problem:
            raise NotifyError(problem)
        return [Channel(NotifyChannel("url", target))]
    if target:
        named = [c for c in configured if c.name == target]
        if not named:
            names = ", ".join(c.name for c in configured) or "none"
            raise NotifyError(f"no channel named {target!r} in {config.path} (channels: {names})")
        return [Channel(c) for c in named]
    if not configured:
        raise NotifyError(f"no notify: channels in {config.path}; add one (README, \"Notifications\") or give an "
                          "apprise URL: python xianyu.py notify test json://127.0.0.1:8080/hook")
    return [Channel(c) for c in configured]
