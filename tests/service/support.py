"""Helpers for the service end-to-end tests: the simulator's control API, polling, accounts.yml, events.

Imported by tests/service/conftest.py (fixtures) and by the tests themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import requests
import yaml

from core import events as ev

T = TypeVar("T")

POLL = 0.05

# Fast settings: every timer of the service shrunk so a test finishes in seconds.
FAST_SETTINGS: dict[str, Any] = {
    "start_spread_seconds": 0,
    "heartbeat_interval": 1,
    "heartbeat_timeout": 1.5,
    "reconnect_backoff_base": 0.1,
    "reconnect_backoff_cap": 1,  # the schema minimum (the brief asked for 0.5)
    "debounce_seconds": 0,
    "connect_timeout": 3,
    "http_timeout": 3,
}


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, message: str | Callable[[], str] = "") -> T:
    """Poll ``predicate`` every 50 ms until it returns something truthy; return that value.

    Raises AssertionError (with ``message``, or the last value seen) when ``timeout`` passes first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"condition not met within {timeout:.1f}s: {text or predicate}; last={value!r}")
        time.sleep(POLL)


def stays(predicate: Callable[[], bool], duration: float) -> bool:
    """True when ``predicate`` holds at every poll for ``duration`` seconds (for "nothing happens" checks)."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        if not predicate():
            return False
        time.sleep(POLL)
    return predicate()


# --------------------------------------------------------------------------------------------- the simulator


class SimControl:
    """The simulator's control API (``<api>/_sim``) over HTTP, as any client would call it."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.base = urls["control"]
        self._verify: str | bool = urls.get("ca") or True
        self._http = requests.Session()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._http.post(f"{self.base}{path}", json=body, timeout=10, verify=self._verify)
        assert answer.status_code == 200, f"POST {path} {body} → {answer.status_code} {answer.text}"
        return answer.json()

    def _get(self, path: str, **query: Any) -> dict[str, Any]:
        answer = self._http.get(f"{self.base}{path}", params=query, timeout=10, verify=self._verify)
        assert answer.status_code == 200, f"GET {path} {query} → {answer.status_code} {answer.text}"
        return answer.json()

    def account(self, unb: str, nick: str = "") -> str:
        """Create (or log in again) a seller; returns its cookie."""
        return self._post("/accounts", {"unb": unb, "nick": nick or f"shop{unb[-3:]}"})["cookie"]

    def item(self, seller: str, item_id: str, title: str, price: str = "9.90", **extra: Any) -> None:
        self._post("/items", {"seller": seller, "item_id": item_id, "title": title, "price": price, **extra})

    def message(self, seller: str, buyer: str, text: str, item_id: str = "900000000001",
                buyer_nick: str | None = None) -> dict[str, Any]:
        body = {"seller": seller, "buyer": buyer, "item_id": item_id, "text": text}
        if buyer_nick:
            body["buyer_nick"] = buyer_nick
        return self._post("/messages", body)

    def order(self, **body: Any) -> dict[str, Any]:
        return self._post("/orders", body)

    def fault(self, seller: str, kind: str, count: int = 1, delay: float | None = None) -> None:
        body: dict[str, Any] = {"seller": seller, "kind": kind, "count": count}
        if delay is not None:
            body["delay"] = delay
        self._post("/faults", body)

    def seller_message(self, seller: str, cid: str, text: str) -> dict[str, Any]:
        return self._post("/seller_messages", {"seller": seller, "cid": cid, "text": text})

    def read(self, seller: str, cid: str) -> dict[str, Any]:
        return self._post("/read", {"seller": seller, "cid": cid})

    def typing(self, seller: str, cid: str) -> dict[str, Any]:
        return self._post("/typing", {"seller": seller, "cid": cid})

    def sent(self, seller: str, since: int = 0) -> list[dict[str, Any]]:
        return self._get("/sent", seller=seller, since=since)["messages"]

    def sent_in(self, seller: str, cid: str) -> list[dict[str, Any]]:
        return [m for m in self.sent(seller) if m["cid"] == cid]

    def state(self) -> dict[str, Any]:
        return self._get("/state")["accounts"]

    def qr_codes(self) -> list[dict[str, Any]]:
        """Every QR code the passport generated, oldest first."""
        return self._get("/qr")["codes"]

    def qr(self, t: str, action: str, **extra: Any) -> None:
        """What the seller does in the app to code ``t``: scan, confirm (unb, nick), cancel, expire, phone_check."""
        self._post("/qr", {"t": t, "action": action, **extra})

    def advance(self, ms: int) -> int:
        """Move the simulator's clock forward; its time now (epoch ms)."""
        return self._post("/clock", {"advance_ms": ms})["now_ms"]

    def now_ms(self) -> int:
        return self._get("/clock")["now_ms"]

    def account_state(self, unb: str) -> dict[str, Any]:
        return self.state()[unb]

    def online(self, unb: str) -> bool:
        return bool(self.account_state(unb)["online"])

    def fired(self, unb: str, kind: str) -> int:
        return int(self.account_state(unb)["faults"][kind]["fired"])


# --------------------------------------------------------------------------------------------- accounts.yml


def server_block(urls: dict[str, str]) -> dict[str, str]:
    block = {"ws": urls["ws"], "api": urls["api"], "passport": urls["passport"]}
    if urls.get("ca"):
        block["ca"] = urls["ca"]
    return block


def write_config(path: Path, urls: dict[str, str], accounts: Iterable[dict[str, Any]], *,
                 database: str | None = None, settings: dict[str, Any] | None = None,
                 notify: list[Any] | None = None) -> Path:
    """Write an accounts.yml pointing at the simulator, with the fast settings (overridable)."""
    document: dict[str, Any] = {
        "server": server_block(urls),
        "database": database or f"sqlite:///{path.parent / 'x.db'}",
        "settings": {**FAST_SETTINGS, **(settings or {})},
        "accounts": list(accounts),
    }
    if notify is not None:
        document["notify"] = notify
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    # Write then rename, so the config watcher never reads a half-written file.
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(text, encoding="utf-8")
    scratch.replace(path)
    return path


def leaked(secrets: Mapping[str, str], places: Mapping[str, str | bytes]) -> list[str]:
    """"NAME in PLACE" for every secret found in a place (text, or raw bytes such as a database file). Names
    only: an assertion on this list never prints a secret, as ``assert value not in blob`` would on failure."""
    found = []
    for where, content in places.items():
        for name, value in secrets.items():
            needle = value.encode() if isinstance(content, bytes) else value
            if needle in content:
                found.append(f"{name} in {where}")
    return found


# The cookie that is no secret: ``unb`` is the seller's user id, which every chat's ids and messages carry.
PUBLIC_COOKIES = frozenset({"unb"})


def cookie_secrets(cookie: str, prefix: str) -> dict[str, str]:
    """A Cookie header's secret values of 8 characters or more (shorter ones, like a flag "1", would match by
    chance), named ``PREFIX.cookie-name``."""
    pairs = (part.strip().split("=", 1) for part in cookie.split(";") if "=" in part)
    return {f"{prefix}.{name}": value for name, value in pairs if len(value) >= 8 and name not in PUBLIC_COOKIES}


# --------------------------------------------------------------------------------------------- events


class Recorder:
    """An event sink that keeps every event, for assertions (thread-safe)."""

    inline = True  # memory only: events are in the list when emit returns

    def __init__(self) -> None:
        self._events: list[ev.Event] = []
        self._lock = threading.Lock()

    def emit(self, event: ev.Event) -> None:
        with self._lock:
            self._events.append(event)

    def all(self) -> list[ev.Event]:
        with self._lock:
            return list(self._events)

    def of(self, event_type: type[Any], account_id: str | None = None, **fields: Any) -> list[Any]:
        return [e for e in self.all() if isinstance(e, event_type)
                and (account_id is None or e.account_id == account_id)
                and all(getattr(e, name) == value for name, value in fields.items())]

    def states(self, account_id: str) -> list[str]:
        return [e.state for e in self.of(ev.StateChanged, account_id)]

    def wait_for(self, event_type: type[Any], account_id: str | None = None, timeout: float = 5.0,
                 **fields: Any) -> Any:
        found = wait_until(lambda: self.of(event_type, account_id, **fields), timeout,
                           lambda: f"no {event_type.__name__} {account_id} {fields}; got {self.all()!r}")
        return found[0]


def snapshot_state(service: Any, account_id: str) -> str | None:
    for snap in service.manager.snapshots():
        if snap.account_id == account_id:
            return snap.state
    return None


def snapshot_of(service: Any, account_id: str) -> Any:
    for snap in service.manager.snapshots():
        if snap.account_id == account_id:
            return snap
    raise KeyError(account_id)


def chat_rows(store: Any, account_id: str, cid: str | None = None) -> list[Any]:
    """Stored inbound buyer messages (kind "chat"), newest first."""
    return [m for m in store.messages.recent(account_id, cid) if m.kind == "chat"]
