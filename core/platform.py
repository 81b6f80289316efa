"""Where the accounts' platform is and where a login's first cookie comes from: `Platform`.

The service is handed one and never asks what is behind it. A live or custom server (`server:` in accounts.yml)
is `configured_platform(...)`: its endpoints, and each account's cookie from the config. The demo marketplace is
wired outside core (`demo.py` beside xianyu.py starts the simulator and gives its endpoints and a cookie
provider through this same value), so core never knows a simulator exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.config import AccountConfig, ServerConfig
from core.errors import PlatformError
from core.goofish.endpoints import LIVE, Endpoints


def config_cookie(account: AccountConfig) -> str:
    return account.cookie or ""


def _nothing() -> None:
    return None


def _no_phone(account_id: str, code: str) -> None:
    return None


@dataclass(frozen=True)
class Platform:
    endpoints: Endpoints
    # The cookie an account's jar grows from (its configured one, or a login the platform handed out).
    cookie_for: Callable[[AccountConfig], str] = config_cookie
    label: str = "live"  # what the start-up line calls it ("server live", "demo marketplace")
    close: Callable[[], None] = field(default=_nothing)  # released after the service stopped
    # A marketplace that forgets everything when it stops (the demo's): what a run left unsent would only be sent
    # to chats the next one never had, so its own database starts afresh.
    scratch: bool = False
    # A marketplace that plays the seller's phone too (the demo's): told each login code shown (the account id, the
    # code's ``t``), it scans and confirms it, so the QR login can be tried with no phone and no account.
    phone: Callable[[str, str], None] = field(default=_no_phone)
    # An OpenAI-compatible /v1 endpoint the marketplace brings (the demo's own fake model): the AI rule of an
    # account whose ai.base_url is not set asks it, so the demo shows AI replies with no key and no network.
    model_url: str | None = None


def configured_platform(server: ServerConfig) -> Platform:
    """The platform a live or custom `server:` names. `server: demo` needs the demo marketplace, which only the
    program around core can start (`demo.open_platform`)."""
    if server.mode == "live":
        return Platform(LIVE, label="server live")
    if server.mode == "custom":
        assert server.ws and server.api and server.passport  # the loader requires all three
        return Platform(Endpoints(server.ws, server.api, server.passport, str(server.ca) if server.ca else None),
                        label=f"server {server.api}")
    raise PlatformError("server: demo runs the built-in simulator, which core does not start: open the platform "
                      "with demo.open_platform(config) (xianyu.py does)")
