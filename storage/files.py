"""The SQLite database on disk: private modes, and whether the path is still the file that was opened.

The database holds every account's cookies and tokens, so:

- a directory storage creates for it (``data/``) is 0700; one that exists already is the user's
  (``sqlite:////tmp/x.db``) and is left as it is;
- the database file is created here, 0600, before SQLite opens it (the mode set explicitly, whatever the
  umask). SQLite creates ``-wal`` and ``-shm`` itself, with the main file's permission bits (the unix VFS
  fchmods a new file to them, umask or not), so they are 0600 too, with no process-wide umask change, which
  would race every other thread creating a file. Existing files with group or world bits lose them, with one
  log line.

``FileIdentity`` is (st_dev, st_ino) of the path, taken when the database was opened: ``rm -rf data/`` (or a
restored backup moved over it) leaves the open connections writing to a file no one will find again, and only a
look at the path tells.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(directory: Path, raw_url: str) -> None:
    """Create ``directory`` 0700 (its missing parents as mkdir makes them). An existing one is not touched."""
    if directory.is_dir():
        return
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=DIR_MODE)
        directory.chmod(DIR_MODE)  # mkdir's mode is filtered by the umask
    except FileExistsError as exc:
        if directory.is_dir():  # made by someone else meanwhile: theirs
            return
        raise DatabaseUnavailable(raw_url, f"cannot create directory {directory}: {exc.strerror}") from exc
    except OSError as exc:
        raise DatabaseUnavailable(raw_url, f"cannot create directory {directory}: {exc.strerror}") from exc


def private_file(path: Path, raw_url: str) -> None:
    """The database file 0600 before SQLite opens it: created so when new, tightened when others may read it.

    A file that cannot be created here (a directory in its place, a directory not writable) is left for SQLite
    to fail on, with its own words ("unable to open database file")."""
    private_dir(path.parent, raw_url)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        _tighten(path)
    except OSError:
        return
    else:
        try:
            os.fchmod(fd, FILE_MODE)
        finally:
            os.close(fd)


def remove_database(path: Path, raw_url: str) -> None:
    """Delete the SQLite file ``path`` with its ``-wal`` and ``-shm``; what is not there is already gone."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            file.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise DatabaseUnavailable(raw_url, f"cannot remove {file}: {exc.strerror}") from exc


def _tighten(path: Path) -> None:
    loose = []
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = file.stat().st_mode & 0o777
            if mode & 0o077 and file.is_file():
                file.chmod(mode & FILE_MODE)  # a read-only file is not made writable
                loose.append(f"{file} {mode:04o} → {mode & FILE_MODE:04o}")
        except FileNotFoundError:
            continue
        except OSError as exc:  # not our file: SQLite will tell whether it can be used at all
            log.warning("cannot make %s private (%s): it holds cookies and tokens", file, exc.strerror)
    if loose:
        log.warning("database readable by other users, now private (it holds cookies and tokens): %s",
                    ", ".join(loose))


class FileIdentity(NamedTuple):
    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity | None:
        try:
            found = os.stat(path)
        except FileNotFoundError:
            return None
        return cls(found.st_dev, found.st_ino)
