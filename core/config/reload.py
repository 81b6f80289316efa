"""Hot reload: ConfigWatcher notices a changed accounts.yml, diff_accounts says which accounts to restart."""

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.config.loader import parse, read_file
from core.config.schema import Config
from core.errors import ConfigError


@dataclass(frozen=True)
class AccountDiff:
    """Account ids by what a reload means for them: start, stop, restart, leave alone."""

    added: frozenset[str]
    removed: frozenset[str]
    changed: frozenset[str]
    unchanged: frozenset[str]


def diff_accounts(old: Config, new: Config) -> AccountDiff:
    """Compare two configs account by account, so a hot reload restarts only what it must.

    An account is changed when anything it was configured with differs (including enabled, the cookie and
    its per-account effective settings), or when the server changed, since every session must reconnect.
    Global-only settings (pool sizes, retention, log level) restart nothing.
    """
    before = {account.id: account for account in old.accounts}
    after = {account.id: account for account in new.accounts}
    common = before.keys() & after.keys()
    changed = frozenset(
        account_id for account_id in common
        if old.server != new.server
        or before[account_id] != after[account_id]
        or before[account_id].effective.per_account() != after[account_id].effective.per_account()
    )
    return AccountDiff(
        added=frozenset(after.keys() - before.keys()),
        removed=frozenset(before.keys() - after.keys()),
        changed=changed,
        unchanged=frozenset(common) - changed,
    )


# A write in the same clock tick as our read leaves mtime and size unchanged (the "racy git" problem), so a
# stamp this fresh is not trusted: the next poll reads the file again.
_RACY_NS = 2_000_000_000


class ConfigWatcher:
    """Reloads the config when its file changes. It has no thread: the scheduler calls poll() every ~2 s.

    A content is acted on once two polls in a row read it the same: an editor saving in place leaves a
    half-written file for a moment, and a truncated file can even be valid YAML with fewer accounts. So a
    save takes effect one poll later. A valid content calls on_change(config), possibly equal to the last
    one (after a comment edit, or a broken edit undone; diff_accounts tells what to restart). An invalid one
    calls on_error(err) once per distinct content, and ``config`` keeps the last good config. Nothing about
    the file makes poll() raise; exceptions from the callbacks are the caller's own.
    """

    def __init__(self, path: str | Path, on_change: Callable[[Config], None],
                 on_error: Callable[[ConfigError], None], *, env: Mapping[str, str] = os.environ) -> None:
        self.path = Path(path)
        self._on_change = on_change
        self._on_error = on_error
        self._env = env
        self._stamp: tuple[int, int] | None = None  # (mtime_ns, size) at the last read, when trustworthy
        self._pending: str | None = None  # a content read once, waiting to be read the same again
        content, self._handled = self._read()  # what is on disk now is what the service started with
        try:
            self.config: Config | None = self._load(content)
        except ConfigError:
            self.config = None

    def poll(self) -> None:
        stamp = self._stat()
        if stamp is not None and stamp == self._stamp and self._pending is None:
            return
        content, key = self._read()
        self._stamp = stamp if stamp is not None and time.time_ns() - stamp[0] > _RACY_NS else None
        if key == self._handled:
            self._pending = None
        elif key != self._pending:
            self._pending = key
        else:
            self._pending, self._handled = None, key
            try:
                config = self._load(content)
            except ConfigError as err:
                self._on_error(err)
                return
            self.config = config
            self._on_change(config)

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _read(self) -> tuple[bytes | ConfigError, str]:
        """The file's bytes, or why it cannot be read, and a key naming that outcome."""
        try:
            data = read_file(self.path)
        except ConfigError as err:
            return err, str(err)
        return data, hashlib.sha256(data).hexdigest()

    def _load(self, content: bytes | ConfigError) -> Config:
        if isinstance(content, ConfigError):
            raise content
        return parse(content, self.path, self._env)
