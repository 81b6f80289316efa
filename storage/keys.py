"""Where the key that seals cookies and tokens comes from, and its file on disk.

The key is a Fernet key (32 random bytes, url-safe base64). It comes from:

- the environment variable ``XIANYU_SECRET_KEY``, when set (a container's secret, a systemd credential); else
- the key file ``secret.key`` beside the SQLite database, or for PostgreSQL beside the accounts.yml in use
  (the database server is the thing a key must not sit next to). It is created at the first run, 0600.

A key file that group or others may read is refused, not tightened: it may have been read already, so the
seller is told to tighten it and to rotate (``python xianyu.py rekey``), as ssh refuses a private key like it.

``secret.key.new`` is a rotation under way (rekey.py writes it before it re-seals the rows and moves it over
``secret.key`` after they were committed): while it is there both keys open values, so a rekey stopped between
the commit and the rename loses nothing; the next rekey finishes it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from storage.errors import SecretKeyError
from storage.files import FILE_MODE, private_dir

KEY_ENV = "XIANYU_SECRET_KEY"
NEW_KEY_ENV = "XIANYU_NEW_SECRET_KEY"  # rekey's new key when the current one comes from the environment
KEY_FILE = "secret.key"
PENDING_SUFFIX = ".new"
BACKUP_SUFFIX = ".old"


@dataclass(frozen=True)
class KeySource:
    """Where this database's key is read from: the environment (``path`` None) or a key file."""

    path: Path | None

    @property
    def shown(self) -> str:
        return KEY_ENV if self.path is None else f"key file {self.path}"

    @property
    def pending(self) -> Path | None:
        return None if self.path is None else self.path.with_name(self.path.name + PENDING_SUFFIX)

    @property
    def backup(self) -> Path | None:
        return None if self.path is None else self.path.with_name(self.path.name + BACKUP_SUFFIX)

    def read(self) -> list[bytes] | None:
        """The keys, the current one first (then a rotation's pending one); None when the key file does not exist
        yet. Raises SecretKeyError for a malformed key or a key file others may read."""
        if self.path is None:
            return [parse_key(os.environ.get(KEY_ENV, ""), KEY_ENV)]
        current = _read_file(self.path)
        if current is None:
            return None
        pending = _read_file(self.pending) if self.pending is not None else None
        return [current] if pending is None else [current, pending]

    def create(self) -> bytes:
        """A new key in a new key file (the first run). Another process creating it meanwhile wins: its key is
        the one returned."""
        assert self.path is not None, "the environment's key is never created"
        key = Fernet.generate_key()
        private_dir(self.path.parent, str(self.path))
        if write_key_file(self.path, key, replace=False):
            return key
        return self.read()[0]  # type: ignore[index]  (exists now: someone else's)

    def promote(self) -> Path:
        """A rotation's last step: the current key copied to ``secret.key.old``, then ``secret.key.new`` renamed
        over ``secret.key``; the backup's path."""
        assert self.path is not None and self.pending is not None and self.backup is not None
        current = self.read()
        assert current is not None, "a rotation starts from an existing key"
        write_key_file(self.backup, current[0], replace=True)
        os.replace(self.pending, self.path)
        _sync_dir(self.path.parent)
        return self.backup


def key_source(database_file: Path | None, config_dir: Path | None) -> KeySource:
    """The key's source for a database: the environment when XIANYU_SECRET_KEY is set, else ``secret.key``
    beside the SQLite file (``database_file``), else (PostgreSQL) beside accounts.yml (``config_dir``)."""
    if os.environ.get(KEY_ENV):
        return KeySource(None)
    folder = database_file.parent if database_file is not None else config_dir
    if folder is None:
        raise SecretKeyError(KEY_ENV, f"a PostgreSQL database needs the folder of accounts.yml for its "
                                      f"{KEY_FILE}, or {KEY_ENV} set")
    return KeySource(folder / KEY_FILE)


def parse_key(text: str | bytes, source: str) -> bytes:
    """``text`` as a Fernet key, or SecretKeyError naming ``source`` (never the value)."""
    key = text.strip().encode() if isinstance(text, str) else text.strip()
    try:
        Fernet(key)
    except ValueError:
        raise SecretKeyError(source, "not a key: expected 44 characters of url-safe base64 (make one with "
                                     "python -c 'from cryptography.fernet import Fernet; "
                                     "print(Fernet.generate_key().decode())')") from None
    return key


def write_key_file(path: Path, key: bytes, *, replace: bool) -> bool:
    """Write ``key`` to ``path`` whole or not at all, 0600 whatever the umask: a scratch file, synced, then
    renamed over ``path`` (``replace``) or linked to it (not: False when ``path`` exists, nothing changed)."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(scratch, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.write(fd, key + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if replace:
            os.replace(scratch, path)
        else:
            try:
                os.link(scratch, path)  # fails if it exists: two first runs cannot each write a key
            except FileExistsError:
                return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()
    _sync_dir(path.parent)
    return True


def _read_file(path: Path) -> bytes | None:
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SecretKeyError(f"key file {path}", f"readable by other users (mode {mode:04o}): chmod 600 {path}, "
                                                     "then rotate it (python xianyu.py rekey): it may have been read")
        return parse_key(path.read_bytes(), f"key file {path}")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecretKeyError(f"key file {path}", f"cannot read it: {exc.strerror}") from exc


def _sync_dir(directory: Path) -> None:
    # The rename itself must survive a power cut, or the database could outlive the key that opens it.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
