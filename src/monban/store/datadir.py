"""The data dir is its owner's alone: the folder 0700, every file in it 0600, whatever the umask.

It holds the master key, the root credentials, the database (whose access-key secrets are sealed,
but whose policies, users and tags are not) and every object's bytes: readable by another local
user, any of them would give away what IAM guards. So every process that works on a data dir
(``monban serve`` and its workers, the operator commands) first calls ``make_private``:

- its umask becomes 077, so every file it creates from then on — SQLite's ``-wal``, ``-shm`` and
  ``-journal``, the writers' lock, object files and their temporaries, folders under ``objects``,
  anything a later version adds — is born owner-only, whatever umask it was started with;
- the data dir is created 0700, or narrowed to 0700; monban's own files in it (``OWN_FILES``) are
  narrowed to 0600 at every start, and so are the ``audit`` folder (0700) and its files; if the
  data dir was wider (one made before this rule, or by hand) the ``objects`` tree too, once.
  Nothing else in the folder is touched;
- the database file (which may live outside the data dir) and its companions are narrowed to 0600:
  SQLite gives a new ``-wal``, ``-shm`` or ``-journal`` the mode of the database file.

``monban serve`` holds a shared lock on ``serve.lock`` while it runs (``serving``); a command that
needs the data dir to itself, as master key rotation does, takes it exclusively or stops
(``exclusive``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
SERVE_LOCK = "serve.lock"
DATABASE_COMPANIONS = ("", "-wal", "-shm", "-journal", ".lock")
# what monban writes at the top of a data dir: the default database and its companions, the master
# key (and a rotation's next one), the root credentials, the temporaries of ``write_private``
OWN_FILES = (
    *(f"monban.db{suffix}" for suffix in DATABASE_COMPANIONS),
    *(
        f"{name}{suffix}"
        for name in ("master.key", "master.key.next", "credentials")
        for suffix in ("", ".tmp")
    ),
    SERVE_LOCK,
)
OBJECTS = "objects"
AUDIT = "audit"  # the audit trail (store/audit_log.py): a few files, narrowed at every start


class DataDirBusy(Exception):
    """A server runs on the data dir, and the command needs it to itself."""


def make_private(data_dir: Path, database_file: str | None) -> None:
    """See the module docstring: umask 077, the data dir 0700 with its contents, the database 0600."""
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(data_dir.stat().st_mode) != DIR_MODE:
        data_dir.chmod(DIR_MODE)
        _narrow_tree(data_dir / OBJECTS)
    for name in OWN_FILES:
        _narrow(data_dir / name)
    _narrow_tree(data_dir / AUDIT)
    if database_file is not None:
        for suffix in DATABASE_COMPANIONS:
            _narrow(Path(database_file + suffix))


def _narrow_tree(root: Path) -> None:
    _narrow(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            _narrow(Path(folder, name))
        for name in files:
            _narrow(Path(folder, name))


def _narrow(path: Path) -> None:
    """Folders to 0700 and regular files to 0600; symbolic links are not followed (one may point
    out of the data dir), and a file that vanished meanwhile is no concern."""
    with contextlib.suppress(FileNotFoundError):
        info = path.lstat()
        if stat.S_ISDIR(info.st_mode):
            wanted = DIR_MODE
        elif stat.S_ISREG(info.st_mode):
            wanted = FILE_MODE
        else:
            return
        if stat.S_IMODE(info.st_mode) != wanted:
            path.chmod(wanted)


@contextlib.contextmanager
def serving(data_dir: Path) -> Iterator[None]:
    """Held by ``monban serve`` while it runs: a shared ``flock`` of ``serve.lock`` (several servers
    may share a data dir), which a command needing the data dir to itself (``exclusive``) cannot
    take meanwhile; it waits for such a command to end."""
    with _locked(data_dir, fcntl.LOCK_SH):
        yield


@contextlib.contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """The data dir to this process alone: DataDirBusy at once if a server runs on it."""
    with _locked(data_dir, fcntl.LOCK_EX | fcntl.LOCK_NB):
        yield


@contextlib.contextmanager
def _locked(data_dir: Path, how: int) -> Iterator[None]:
    data_dir.mkdir(DIR_MODE, parents=True, exist_ok=True)
    fd = os.open(data_dir / SERVE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, how)
        except BlockingIOError:  # LOCK_NB, and someone holds it
            raise DataDirBusy(str(data_dir)) from None
        yield
    finally:
        os.close(fd)  # lets the lock go
