"""Reading ``notify:`` (service-wide and per account) and ``settings.notify:`` (the policy).

A channel is a string (an apprise URL) or a mapping ``{url | url_env, name, events, min_severity,
rate_per_minute}``. URLs carry tokens, so no message here quotes one: a URL apprise does not understand is
reported by its scheme only. apprise is imported only when a file has channels (it is heavy, and most have none).
"""

import logging
import re
from collections.abc import Mapping
from typing import Any

from yaml.nodes import Node, ScalarNode

from core.config.ai_rules import read_hours
from core.config.keys import allowed_keys
from core.config.nodes import NodeReader, given, join
from core.config.notify_schema import KINDS, NOTIFY_LIMITS, SEVERITIES, NotifyChannel, NotifySettings

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TIME = re.compile(r"\s*(\d{1,2}):(\d{2})\s*")


def read_channels(r: NodeReader, node: Node, path: str, doc_key: str, account: str | None,
                  names: dict[str, int]) -> tuple[NotifyChannel, ...]:
    """The channels listed at *node*; *names* (name → line) keeps them unique across the file."""
    channels = []
    for index, entry in enumerate(r.sequence(node, path)):
        channel = _channel(r, entry, f"{path}[{index}]", f"{doc_key}[]", account, index)
        if channel is not None and r.first_use(names, channel.name, entry, f"{path}[{index}]",
                                               f"duplicate channel name '{channel.name}'"):
            channels.append(channel)
    return tuple(channels)


def _channel(r: NodeReader, node: Node, path: str, doc_key: str, account: str | None,
             index: int) -> NotifyChannel | None:
    if isinstance(node, ScalarNode):
        url = r.text(node, path, url_problem, secret=True)
        return NotifyChannel(_default_name(url, account, index), url, account=account) if url else None
    values = r.mapping(node, path, allowed_keys(doc_key))
    if values is None:
        return None
    url, url_env = _url(r, values, node, path)
    if url is None:
        return None
    fields: dict[str, Any] = {}
    if (name := given(values, "name")) is not None:
        fields["name"] = r.text(name, join(path, "name"),
                                lambda v: None if re.fullmatch(r"[\w.#/-]{1,64}", v) else
                                "1-64 of letters, digits and _ . # / -")
    if (events := given(values, "events")) is not None:
        kinds = [r.text(n, f"{path}.events[{i}]", _kind_problem) for i, n in enumerate(r.sequence(events,
                                                                                                join(path, "events")))]
        fields["events"] = frozenset(kinds) if all(kinds) else None
    if (severity := given(values, "min_severity")) is not None:
        fields["min_severity"] = r.text(severity, join(path, "min_severity"), _severity_problem)
    if (rate := given(values, "rate_per_minute")) is not None:
        fields["rate_per_minute"] = _bounded(r, rate, join(path, "rate_per_minute"), int)
    if any(value is None for value in fields.values()):
        return None
    fields.setdefault("name", _default_name(url, account, index))
    return NotifyChannel(url=url, url_env=url_env, account=account, **fields)


def _url(r: NodeReader, values: Mapping[str, Node], node: Node, path: str) -> tuple[str | None, str | None]:
    url_node, env_node = given(values, "url"), given(values, "url_env")
    if url_node is not None and env_node is not None:
        r.report(env_node, join(path, "url_env"), "give url or url_env, not both")
        return None, None
    if url_node is not None:
        return r.text(url_node, join(path, "url"), url_problem, secret=True), None
    if env_node is None:
        r.report(node, join(path, "url"), "missing (an apprise URL such as json://host/path, or url_env: NAME)")
        return None, None
    name = r.text(env_node, join(path, "url_env"),
                  lambda v: None if _ENV_NAME.fullmatch(v) else f"not a variable name: {v!r}")
    if name is None:
        return None, None
    url = r.env.get(name, "").strip()
    problem = (f"environment variable {name} is {'empty' if name in r.env else 'not set'}" if not url
               else url_problem(url))
    if problem:
        r.report(env_node, join(path, "url_env"), problem)
        return None, None
    return url, name


def _default_name(url: str | None, account: str | None, index: int) -> str:
    scheme = (url or "").partition("://")[0] or "channel"
    return f"{account}/{scheme}#{index + 1}" if account else f"{scheme}#{index + 1}"


def read_notify_settings(r: NodeReader, node: Node, path: str) -> NotifySettings:
    values = r.mapping(node, path, allowed_keys("settings.notify")) or {}
    fields: dict[str, Any] = {}
    for key, kind in (("grace_seconds", float), ("fail_count", int), ("group_seconds", float), ("attempts", int),
                      ("retry_seconds", float)):
        if (number := given(values, key)) is not None and (value := _bounded(r, number, join(path, key), kind)) \
                is not None:
            fields[key] = value
    if (reminders := given(values, "reminders")) is not None:
        minutes = [_bounded(r, n, f"{path}.reminders[{i}]", float)
                   for i, n in enumerate(r.sequence(reminders, join(path, "reminders")))]
        if all(m is not None for m in minutes):
            fields["reminders"] = tuple(sorted(minutes))  # type: ignore[type-var]
    if (quiet := given(values, "quiet_hours")) is not None and (hours := read_hours(r, quiet, join(path, "quiet_hours"))):
        fields["quiet_hours"] = hours
    if (severity := given(values, "quiet_severity")) is not None and (
            level := r.text(severity, join(path, "quiet_severity"), _severity_problem)):
        fields["quiet_severity"] = level
    if (summary := given(values, "summary_at")) is not None:
        text = r.text(summary, join(path, "summary_at"))
        match = _TIME.fullmatch(text or "")
        if match and int(match[1]) < 24 and int(match[2]) < 60:
            fields["summary_at"] = int(match[1]) * 60 + int(match[2])
        elif text is not None:
            r.report(summary, join(path, "summary_at"), f"expected a time like 21:00, got {text!r}")
    return NotifySettings(**fields)


def _bounded(r: NodeReader, node: Node, path: str, kind: type) -> Any:
    value = r.number(node, path, kind)
    key = re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]
    low, high = NOTIFY_LIMITS[key]
    if value is not None and not low <= value <= high:
        r.report(node, path, f"must be between {low:g} and {high:g}, got {value:g}")
        return None
    return value


def load_apprise() -> Any:
    """The apprise module, imported on first use (it is heavy, and most files have no channels), with its logger
    cut off from ours: its lines may quote a URL's token, so what it says is taken per call through
    ``log_callback`` and masked (core/notify/channels.py)."""
    quiet = logging.getLogger("apprise")
    quiet.propagate = False
    quiet.setLevel(logging.DEBUG)  # each send takes its lines (the provider's answer is a debug line)
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    import apprise  # after the logger is cut off: it logs while importing

    return apprise


def url_problem(url: str) -> str | None:
    """Whether apprise can send to *url*; the message names the scheme only (the rest may be a token)."""
    apprise = load_apprise()
    url = url.strip()
    scheme = url.partition("://")[0] if "://" in url else ""
    if not scheme:
        return "expected an apprise URL such as json://host/path, dingtalk://token/ or ntfy://host/topic"
    if not apprise.Apprise().add(url):
        return (f"apprise cannot send to this {scheme}:// URL (unknown scheme or missing parts; "
                "see https://github.com/caronc/apprise/wiki)")
    return None


def _kind_problem(value: str) -> str | None:
    return None if value in KINDS else "one of " + ", ".join(KINDS)


def _severity_problem(value: str) -> str | None:
    return None if value in SEVERITIES else "one of " + ", ".join(SEVERITIES)
