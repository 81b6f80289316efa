"""What ``python xianyu.py check`` prints about a loaded config, with every password masked."""

from core.config.schema import AccountConfig, Config, Settings
from storage.errors import mask_url


def summary(config: Config) -> str:
    """What `python xianyu.py check` prints: enough to confirm the file says what the seller meant, with
    the cookie, proxy and database passwords masked."""
    server = config.server
    endpoints = "" if server.mode == "demo" else f"  ws {server.ws}  api {server.api}  passport {server.passport}"
    enabled = sum(account.enabled for account in config.accounts)
    lines = [
        f"config: {config.path}",
        f"server: {server.mode}{endpoints}" + (f"  ca {server.ca}" if server.ca else ""),
        f"database: {mask_url(config.database)}",
        f"accounts: {len(config.accounts)} ({enabled} enabled, {len(config.accounts) - enabled} disabled)",
    ]
    for account in config.accounts:
        lines += _account_summary(account, config.settings, demo=server.mode == "demo")
    lines += _notify_summary(config)
    return "\n".join(lines)


def _notify_summary(config: Config) -> list[str]:
    """The channels by name and scheme only: the rest of a URL may be its token."""
    channels = config.channels()
    if not channels:
        return ["notify: no channels (add notify: to hear about accounts that need you)"]
    lines = [f"notify: {len(channels)} channel(s)"]
    for channel in channels:
        source = f" from ${channel.url_env}" if channel.url_env else ""
        scope = f", only {channel.account}" if channel.account else ""
        lines.append(f"  - {channel.name}: {channel.url.partition('://')[0]}://…{source}, "
                     f"{len(channel.events)} kinds, min severity {channel.min_severity}{scope}")
    return lines


def _account_summary(account: AccountConfig, settings: Settings, demo: bool) -> list[str]:
    alias = f" ({account.alias})" if account.alias else ""
    source = f" from ${account.cookie_env}" if account.cookie_env else ""
    item_bound = sum(rule.item is not None for rule in account.keywords)
    default = "none"
    if account.default_reply:
        default = "once per chat" if account.default_reply.once else "every time"
    lines = [
        f"  - {account.id}{alias}: {'enabled' if account.enabled else 'disabled'}",
        f"    cookie: {account.masked()}{source}",
        f"    replies: keywords {len(account.keywords)} ({item_bound} item-bound), "
        f"item replies {len(account.item_replies)}, default reply {default}",
        f"    delivery rules: {len(account.delivery)}",
    ]
    lines += _ai_summary(account, demo)
    if account.proxy:
        lines.append(f"    proxy: {mask_url(account.proxy)}")
    if account.user_agent:
        lines.append(f"    user agent: {account.user_agent}")
    overrides = [f"{name}={value}" for name, value in account.effective.per_account()
                 if getattr(settings, name) != value]
    if overrides:
        lines.append(f"    overrides: {', '.join(overrides)}")
    return lines


def _ai_summary(account: AccountConfig, demo: bool) -> list[str]:
    ai = account.ai.ai
    if not ai.enabled:
        return []
    key = "written in the file (masked)" if ai.api_key else (f"from ${ai.api_key_env}" if ai.api_key_env else "none")
    floors = [f"{t.item_id}: {t.bargain.floor or 'no discount'}" for t in account.ai.items]
    return [
        f"    ai: {ai.mode} with {ai.model} at {ai.base_url or ('the demo model' if demo else 'api.openai.com')}, "
        f"key {key}, timeout {ai.timeout:g} s"
        + (f", {len(ai.hours)} time window(s)" if ai.hours else ""),
        f"    bargain: floor {account.ai.bargain.floor or 'none (no discount)'}, "
        f"{account.ai.bargain.max_rounds} rounds" + (f"; items {', '.join(floors)}" if floors else ""),
    ]
