"""One notification channel: an apprise URL, sent to through apprise, with its tokens kept out of every line.

A URL such as ``dingtalk://TOKEN/`` or ``json://host/hook/TOKEN?secret=…`` is a credential. ``secret_parts``
finds the parts that may be one (user, password, a host that is no host name, long path segments, query
values); they are handed to ``core.redact.hide`` so no log line shows them, and every line apprise says about a
send is masked the same way before anyone sees it. ``shown`` is the channel as the dashboard and ``notify test``
print it: its name and apprise's own privacy form of the URL.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from core.config.notify_rules import load_apprise
from core.config.notify_schema import NotifyChannel
from core.goofish.cookies import mask
from core.inert import inert
from core.notify.errors import NotifyError
from core.redact import hide, redact

# apprise's message types: how a phone app colours the message.
_TYPES = {"info": "info", "warning": "warning", "error": "failure", "recovered": "success"}
_TOKEN_LIKE = re.compile(r"[0-9A-Z]")


def secret_parts(url: str) -> tuple[str, ...]:
    """The parts of *url* that may be credentials. A plain word of a path ("hook", "notify") is not one: masking
    it would mask that word in every log line; a token has digits or capitals, or is long."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return (url,)
    found = [parts.username or "", parts.password or ""]
    host = parts.hostname or ""
    if host and host != "localhost" and "." not in host and not _is_ip(host):
        found.append(host)  # dingtalk://TOKEN, tgram://BOTTOKEN: the "host" is the token
    found += [segment for segment in unquote(parts.path).split("/")]
    found += [value for _key, value in parse_qsl(parts.query, keep_blank_values=True)]
    found.append(parts.fragment)
    return tuple(sorted({p for p in found if _secret_like(p)} | {p for p in found[:2] if p}, key=len, reverse=True))


def _secret_like(part: str) -> bool:
    return len(part) >= 6 and (bool(_TOKEN_LIKE.search(part)) or len(part) > 16)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def masked(text: str, parts: tuple[str, ...]) -> str:
    """*text* with each of *parts* masked, then redacted like a log line, then made inert."""
    for part in parts:
        text = text.replace(part, mask(part))
    return inert(redact(text))


@dataclass(frozen=True)
class Outcome:
    """What one send did: ``ok``; ``detail``, apprise's warnings and the provider's answer (for the dashboard and
    the log); ``trace``, every line apprise said (for `notify test`). Both masked."""

    ok: bool
    detail: str
    trace: str = ""


class Channel:
    """A configured channel, ready to send. Building it registers its URL's secrets with the log filter; the
    apprise object is made on the first send (one per channel, used by that channel's sender thread)."""

    def __init__(self, config: NotifyChannel) -> None:
        self.config = config
        self.name = config.name
        self._secrets = secret_parts(config.url)
        hide(self._secrets)
        self._apprise: Any = None
        self._lock = threading.Lock()  # `notify test` and the sender never share one, but a reload may

    @property
    def shown(self) -> str:
        """``name (privacy URL)``: what the dashboard and `notify test` print; no token in it."""
        return f"{self.name} ({self._privacy_url()})"

    def _privacy_url(self) -> str:
        try:
            service = self._client()[0]
            return masked(service.url(privacy=True).split("?", 1)[0], self._secrets)
        except (NotifyError, IndexError):
            return masked(self.config.url.partition("://")[0] + "://…", self._secrets)

    def send(self, title: str, body: str, severity: str) -> Outcome:
        """Send one message (blocking: apprise's own connect and read timeouts, 4 s each, bound it)."""
        lines: list[str] = []
        with self._lock:
            client = self._client()
            try:
                result = client.notify(body=body, title=title, notify_type=_TYPES.get(severity, "info"),
                                       log_callback=lambda entry, _plugin: lines.append(str(entry)),
                                       log_level=logging.DEBUG)
            except Exception as exc:  # a plugin bug must not end the sender thread
                lines.append(f"ERROR - {type(exc).__name__}: {exc}")
                result = False
        said = [masked(_strip_stamp(line), self._secrets) for line in lines]
        telling = [line for line in said if line.startswith(("WARNING", "ERROR")) or "Response Details" in line
                   or "Exception" in line]
        detail = " | ".join(telling) or ("sent" if result else "apprise reported a failure")
        return Outcome(bool(result), detail, "\n".join(said))

    def _client(self) -> Any:
        if self._apprise is None:
            apprise = load_apprise()
            client = apprise.Apprise()
            if not client.add(self.config.url):
                raise NotifyError(f"channel {self.name}: apprise cannot send to this "
                                  f"{self.config.url.partition('://')[0]}:// URL")
            self._apprise = client
        return self._apprise


_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ - ")


def _strip_stamp(line: str) -> str:
    return _STAMP.sub("", line.strip())
