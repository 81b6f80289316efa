"""`Sealer`: cookie jars and access tokens encrypted at rest, with Fernet (AES-128-CBC + HMAC-SHA256, from the
`cryptography` package; no cipher of our own).

A sealed value is ``fernet:`` + the Fernet token, so a row written before encryption existed (plain text, which
never starts so: a Cookie header starts with a cookie name, a token with its own characters) is told apart
safely and sealed in place when the database is opened (AccountStore.seal_plaintext). MultiFernet seals with the
first key and opens with any, which is what lets a rotation that stopped half-way lose nothing (keys.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from storage.errors import SecretKeyError

PREFIX = "fernet:"
WRONG_KEY = ("this database's cookies and tokens were sealed with another key: give the key it was sealed with "
             "(XIANYU_SECRET_KEY, or the secret.key from your backup; after a rekey the one before is "
             "secret.key.old); nothing was changed")


class Sealer:
    def __init__(self, keys: Sequence[bytes], source: str) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self.source = source  # where the keys came from, for the error a foreign value raises

    def seal(self, value: str | None) -> str | None:
        """``value`` sealed; nothing to hide ("" or None) stays as it is, and a sealed value is not sealed twice."""
        if not value or is_sealed(value):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, stored: str | None) -> str | None:
        """The plain value of a stored one (a legacy plain value as it is). A value sealed with another key raises
        SecretKeyError: the database belongs with another key."""
        if not stored or not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretKeyError(self.source, WRONG_KEY) from None

    def opens(self, stored: str | None) -> bool:
        try:
            self.open(stored)
        except SecretKeyError:
            return False
        return True


def is_sealed(value: str | None) -> bool:
    return bool(value) and value.startswith(PREFIX)  # type: ignore[union-attr]
