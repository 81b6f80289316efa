"""Key rotation: every account's sealed values opened with the current key and sealed with a new one, in one
transaction, then the new key put in place (``python xianyu.py rekey``; the caller holds the instance lock, so no
service writes with the old key meanwhile).

With a key file the order is what makes a stop anywhere safe: the new key is written to ``secret.key.new`` first
(both keys open values while it is there, keys.py), the rows are re-sealed and committed, the current key is
copied to ``secret.key.old`` (a backup of the database taken before the rotation needs it), and only then is
``secret.key.new`` renamed over ``secret.key``. A rotation stopped before that finishes with the same new key the
next time. With the key in ``XIANYU_SECRET_KEY`` the new one comes from ``XIANYU_NEW_SECRET_KEY``, and putting it
in place is the seller's (the environment is theirs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from storage.errors import SecretKeyError
from storage.keys import NEW_KEY_ENV, KeySource, parse_key, write_key_file
from storage.sealing import Sealer
from storage.store import Store


@dataclass(frozen=True)
class Rekeyed:
    accounts: int          # rows re-sealed
    source: KeySource      # where the key lives (now the new one, for a key file)
    backup: Path | None    # the previous key's copy (a key file's), None with the environment's key


def rekey(url: str, config_dir: Path | None) -> Rekeyed:
    """Re-seal every row with a new key and put the key in place. Raises SecretKeyError (nothing re-sealed) when
    the current key does not open the database or no new key is given for an environment key; StorageError."""
    with Store(url, config_dir) as store:  # opening checks the current key and seals any plain rows first
        source = store.keys
        new_key = _new_key(source)
        accounts = store.accounts.reseal(Sealer([new_key], source.shown))
        store.db.scrub()  # no page keeps a value sealed with the old key
    if source.path is None:
        return Rekeyed(accounts, source, None)
    return Rekeyed(accounts, source, source.promote())


def _new_key(source: KeySource) -> bytes:
    """The key to seal with from now on; for a key file written to ``secret.key.new`` before any row changes."""
    given = os.environ.get(NEW_KEY_ENV)
    if source.path is None:
        if not given:
            raise SecretKeyError(NEW_KEY_ENV, "not set: with the key in XIANYU_SECRET_KEY, give the new key in "
                                              f"{NEW_KEY_ENV} (make one with python -c 'from cryptography.fernet "
                                              "import Fernet; print(Fernet.generate_key().decode())')")
        return parse_key(given, NEW_KEY_ENV)
    keys = source.read() or []
    if len(keys) > 1:
        return keys[1]  # an interrupted rotation's key: rows may be sealed with it already
    key = parse_key(given, NEW_KEY_ENV) if given else Fernet.generate_key()
    write_key_file(source.pending, key, replace=True)  # type: ignore[arg-type]
    return key
