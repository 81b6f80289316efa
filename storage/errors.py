"""Every exception `storage` raises on purpose.

The tree::

    StorageError                  a query failed, or the database URL is not one we support
    ├── DatabaseUnavailable(url)  cannot connect, the file cannot be opened, or the database stayed locked
    ├── DatabaseInUse(url)        another service process holds this database's instance lock
    └── SecretKeyError(source)    the key sealing cookies and tokens is malformed, missing, readable by others,
                                  or not the one this database was sealed with

Messages name the database with its password masked and never carry row values: the engine is created with
`hide_parameters=True`, so not even a chained SQLAlchemy error can print a cookie jar or an access token.
Callers may log `str(exc)` freely.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class StorageError(Exception):
    """Base of everything raised on purpose by `storage`."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached or used right now; retrying later may help."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = mask_url(url)
        self.reason = reason
        super().__init__(f"database unavailable: {self.url}: {reason}")


class DatabaseInUse(StorageError):
    """Another ``xianyu.py`` runs on this database (two sessions of one account would fight over its login)."""

    def __init__(self, url: str, holder: str) -> None:
        self.url = mask_url(url)
        self.holder = holder  # "pid 4242 on host-a", or what is known of it
        super().__init__(f"another xianyu.py ({holder}) uses {shown_database(url)}")


class SecretKeyError(StorageError):
    """The key that seals cookies and tokens (storage/keys.py) cannot be used. ``source`` names where it came
    from (``XIANYU_SECRET_KEY`` or ``key file PATH``); the message never carries a key."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


def shown_database(url: str) -> str:
    """The database as a user names it: the file's path for SQLite (``data/xianyu.db``), else the masked URL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparsable database URL>"
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def mask_url(url: str) -> str:
    """`url` with any password replaced by ***; an unparsable URL is not echoed at all (it may hold one)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def first_line(exc: BaseException) -> str:
    """A driver error's first message line: says what failed (refused, locked, no such file), never the
    parameters (which follow on later lines)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
