"""Where the Goofish services live, as one value, so the simulator can stand in by swapping it.

The client never hard-codes a host elsewhere: URL building lives here, and `Endpoints(ws, api, passport)`
pointing at 127.0.0.1 is all it takes to talk to `sim/` (with `ca` naming its private certificate under TLS).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

WEB_ORIGIN = "https://www.goofish.com"
"""The site the web client runs on: mtop wants it as origin and referer."""

DEFAULT_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/133.0.0.0 Safari/537.36"
)
"""The browser UA the public bots send on HTTP and the WebSocket handshake (spec §1.1)."""

_DINGTALK_TAGS = "DingTalk(2.1.5) OS(Windows/10) Browser(Chrome/133.0.0.0) DingWeb/2.1.5 IMPaaS DingWeb/2.1.5"


def im_user_agent(browser_ua: str) -> str:
    """The UA inside the `/reg` frame: the browser UA plus the DingTalk web SDK tags (spec §3.2).

    Built from the account's browser UA so an account configured with its own UA stays consistent.
    """
    return f"{browser_ua} {_DINGTALK_TAGS}"


DINGTALK_UA = im_user_agent(DEFAULT_UA)
"""The `/reg` UA for the default browser UA."""


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the IM socket, the mtop gateway and passport; `ca` is a PEM file to trust, if private."""

    ws: str
    api: str
    passport: str
    ca: str | None = None

    def __post_init__(self) -> None:
        for name, schemes in (("ws", ("ws", "wss")), ("api", ("http", "https")), ("passport", ("http", "https"))):
            url = getattr(self, name)
            parts = urlsplit(url)
            if parts.scheme not in schemes or not parts.netloc:
                raise ValueError(f"endpoint {name}={url!r}: expected a {'/'.join(schemes)} URL with a host")

    def mtop_url(self, api: str, version: str) -> str:
        """`<api base>/h5/<api>/<v>/`, the gateway's path for every mtop call."""
        return f"{self.api.rstrip('/')}/h5/{api}/{version}/"

    def has_login_url(self) -> str:
        """The passport check that the login cookies are still alive (spec §1.3)."""
        return f"{self.passport.rstrip('/')}/newlogin/hasLogin.do?appName=xianyu&fromSite=77"

    def silent_has_login_url(self) -> str:
        """The web SDK's silent re-login from the long login (spec §1.3, the ``xianyu_sdkSilent`` entrance)."""
        return (f"{self.passport.rstrip('/')}/newlogin/silentHasLogin.do?documentReferer="
                f"{quote('https://www.goofish.com/', safe='')}&appEntrance=xianyu_sdkSilent&appName=xianyu"
                "&fromSite=0&ltl=true")

    def set_login_settings_url(self) -> str:
        """Where the web client keeps its login settings; ``status=0`` renews the long login."""
        return f"{self.passport.rstrip('/')}/newlogin/setLoginSettings.do?appName=xianyu&fromSite=77"


LIVE = Endpoints("wss://wss-goofish.dingtalk.com/", "https://h5api.m.goofish.com", "https://passport.goofish.com")
"""The real Goofish services."""
