"""Engine, sessions and migrations.

SQLite (WAL mode) inside the data dir by default; a ``postgresql+psycopg://`` URL when several nodes
share one state. Every API call runs in one transaction (``Database.transaction``). The schema is
owned by Alembic: ``Database.migrate`` upgrades to every head at start-up.

SQLite writers of different processes (``--workers N``) take turns on a blocking ``flock`` of
``<database>.lock`` (``WriterLock``), taken by a connection before its first write statement and
released once its transaction has ended. Without it they meet in SQLite's busy handler, which polls
with sleeps of 1 to 100 ms; with it a waiting writer wakes the moment the other one commits. Within
one process ``AppState.write_lock`` orders the writers before they get here.

Hot paths may skip SQLAlchemy's execution machinery on SQLite: a ``DriverStatement`` is a Core
statement compiled once and run on the driver's cursor, in a ``Database.driver_transaction`` (a
write), through ``Database.loop_reader`` (a read the event loop may do itself: it never waits) or
in a ``Database.loop_writer`` transaction (a write the event loop may do when it need not wait,
else ``WouldBlock`` before anything is written).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Dialect, Engine, create_engine, event, exc, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 10000
CONNECT_TIMEOUT_S = 5  # PostgreSQL: how long a connection attempt may take before "unavailable"
MIGRATION_LOCK = 0x6D6F6E62  # "monb": the advisory lock PostgreSQL migrations take
RETRY_AFTER_S = 1  # what ``Retry-After`` tells a client refused for DatabaseUnavailable


class DatabaseUnavailable(Exception):
    """The database cannot answer now: PostgreSQL is unreachable, restarting, or gave up on the
    transaction (a serialization failure or deadlock); SQLite stayed busy beyond its timeout. The
    transaction did not commit. The fronts answer 503 ServiceUnavailable (or S3's) with
    ``Retry-After``, never 500; the pool reconnects by itself (``pool_pre_ping``)."""


def _busy(error: BaseException) -> bool:
    """SQLite's "database is locked" / "database table is locked" (SQLITE_BUSY, SQLITE_LOCKED)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_unavailable(error: BaseException) -> bool:
    """Whether a driver or pool error means "the database cannot answer now" (not a bug)."""
    if isinstance(error, DatabaseUnavailable | exc.TimeoutError):  # the pool had no connection
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        original = error.orig
        if isinstance(original, sqlite3.Error):
            return _busy(original)
        return isinstance(error, exc.OperationalError | exc.InterfaceError)  # PostgreSQL's transient
    return isinstance(error, sqlite3.OperationalError) and _busy(error)


@contextmanager
def unavailable_as_such() -> Iterator[None]:
    """Within the block, an error of the database that means "not now" becomes DatabaseUnavailable."""
    try:
        yield
    except Exception as error:
        if is_unavailable(error) and not isinstance(error, DatabaseUnavailable):
            raise DatabaseUnavailable(
                str(error).splitlines()[0] if str(error) else type(error).__name__
            ) from error
        raise


def sqlite_url(data_dir: Path) -> str:
    """The default database: ``monban.db`` in the data dir."""
    return f"sqlite:///{data_dir / 'monban.db'}"


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL; None for another backend or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


class WriterLock:
    """One process's share of the writers' ``flock``: taken when the first of its connections is
    about to write, released when the last of them has ended its transaction.

    Connections of one process share it (a thread never waits for its own process: their order is
    ``AppState.write_lock``'s business, and SQLite's). The file is opened per process, so workers
    forked from one parent do not share one lock.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._mutex = threading.Lock()
        self._holders = 0
        self._fd = -1
        self._pid = 0

    def _own_file(self) -> None:
        if self._pid != os.getpid():  # first use in this process: its own open file
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid, self._holders = os.getpid(), 0

    def acquire(self) -> None:
        with self._mutex:  # held while waiting: nobody in this process holds the lock meanwhile
            self._own_file()
            if self._holders == 0:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._holders += 1

    def try_acquire(self, patience: float) -> bool:
        """The lock for a writer that must not wait long: only when no other connection of this
        process writes (or waits to), and another process lets go of it within ``patience``
        seconds (polled, yielding the CPU in between: to that other process, on a busy machine)."""
        if not self._mutex.acquire(blocking=False):
            return False
        try:
            self._own_file()
            if self._holders or not _flock_within(self._fd, patience):
                return False
            self._holders = 1
            return True
        finally:
            self._mutex.release()

    def release(self) -> None:
        with self._mutex:
            self._holders -= 1
            if self._holders == 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def _flock_within(fd: int, patience: float) -> bool:
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            os.sched_yield()


_READ_STATEMENTS = ("SELECT", "PRAGMA", "EXPLAIN")


class LockingCursor(sqlite3.Cursor):
    """Takes the connection's share of the writers' lock before any statement but a read."""

    def execute(self, sql: str, parameters: Any = (), /) -> LockingCursor:
        cast("LockingConnection", self.connection).before(sql)
        super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, parameters: Any, /) -> LockingCursor:
        cast("LockingConnection", self.connection).before(sql)
        super().executemany(sql, parameters)
        return self

    def executescript(self, script: str, /) -> LockingCursor:
        cast("LockingConnection", self.connection).before(script)
        super().executescript(script)
        return self


class LockingConnection(sqlite3.Connection):
    """A SQLite connection that holds ``writer_lock`` from its first write until its transaction
    ends (commit, rollback — the pool rolls back every connection it takes back — or close)."""

    writer_lock: WriterLock | None = None
    _holding = False

    def cursor(self, factory: Any = LockingCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        cursor: LockingCursor = self.cursor()
        return cursor.execute(sql, parameters)

    def before(self, sql: str) -> None:
        lock = self.writer_lock
        if lock is None or self._holding or sql.lstrip()[:7].upper().startswith(_READ_STATEMENTS):
            return
        lock.acquire()
        self._holding = True

    def _ended(self) -> None:
        if self._holding:
            self._holding = False
            assert self.writer_lock is not None
            self.writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:  # a failed COMMIT leaves the transaction open
                self._ended()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            if not self.in_transaction:
                self._ended()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._ended()


_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class WouldBlock(Exception):
    """``LoopReader`` or ``LoopWriter`` could not go ahead at once (having written nothing): do
    the work on a thread."""


class _LoopConnection(ABC):
    """One SQLite connection (busy timeout 0) for the event loop, opened on first use: one user
    at a time, the others told ``WouldBlock`` rather than made to wait."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            self._prepare(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    @abstractmethod
    def _prepare(self, connection: sqlite3.Connection) -> None:
        """The settings of a new connection (each kind of loop connection has its own)."""

    def _connected(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._open()
        return self._connection

    def _drop(self, exc: sqlite3.Error) -> None:
        """A fresh connection next time, unless SQLite merely said it would have to wait."""
        if not isinstance(exc, sqlite3.OperationalError) or exc.sqlite_errorcode & 0xFF not in _BUSY:
            self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        with self._lock:
            self._close()


class LoopReader(_LoopConnection):
    """A read-only SQLite connection the event loop may use, because it never waits.

    In WAL mode a reader takes no lock a writer holds: each statement reads the last committed
    snapshot (so this worker reads its own writes). The rare moments SQLite would make a reader
    wait — another connection recovering the WAL after a crash, or closing the database as its last
    user — answer SQLITE_BUSY at once here (busy timeout 0), as does a second caller while the
    connection is in use: both raise ``WouldBlock`` for the caller to fall back to a thread, and
    so does any other failure of the driver (the thread's read reports it, if it persists).
    """

    def _prepare(self, connection: sqlite3.Connection) -> None:
        connection.execute("PRAGMA query_only=ON")

    def fetch(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        """The rows of one read statement, or WouldBlock."""
        if not self._lock.acquire(blocking=False):
            raise WouldBlock
        try:
            return self._connected().execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            self._drop(exc)
            raise WouldBlock from exc
        finally:
            self._lock.release()


class LoopWriter(_LoopConnection):
    """A SQLite connection the event loop may write with, because it never waits.

    ``transaction`` goes ahead only when it can at once: this connection free, no other writer in
    this process, the writers' ``flock`` free (``WriterLock.try_acquire``) and SQLite's write lock
    granted with busy timeout 0. Anything else raises ``WouldBlock`` before a statement ran, and so
    does any failure of the driver: nothing was committed, so the caller does the whole write
    again on a thread, where it waits its turn (and reports a failure that persists).

    Another worker's transaction on its own loop lasts some tens of microseconds, so the writers'
    lock is worth ``PATIENCE`` seconds of polling before giving up: without it, with two
    workers, a third of the PUTs fell back to a thread (and the thread's turn blocks the loop's
    next ones); with it, almost none (measured). Once it gave up (a long write elsewhere), the
    next ``PATIENCE * 10`` seconds do not poll: the loop is not spent on one wait after another.

    It never checkpoints itself (a checkpoint syncs the files: not on the loop); ``checkpoint_due``
    says, every ``CHECKPOINT_EVERY`` commits, that it is time to run ``Database.checkpoint`` on a
    thread.
    """

    CHECKPOINT_EVERY = 256
    PATIENCE = 0.0005

    def __init__(self, path: str, writer_lock: WriterLock) -> None:
        super().__init__(path)
        self._writer_lock = writer_lock
        self._commits = 0
        self._impatient_until = 0.0

    def _prepare(self, connection: sqlite3.Connection) -> None:
        _configure(connection, None)
        connection.execute("PRAGMA busy_timeout=0")
        connection.execute("PRAGMA wal_autocheckpoint=0")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """``Database.driver_transaction``, or WouldBlock; an exception of the block rolls back
        and propagates (a driver error as WouldBlock)."""
        if not self._lock.acquire(blocking=False):
            raise WouldBlock
        try:
            if not self._writer_lock.try_acquire(self._patience()):
                self._impatient_until = time.monotonic() + self.PATIENCE * 10
                raise WouldBlock
            try:
                yield from self._run()
            finally:
                self._writer_lock.release()
        finally:
            self._lock.release()

    def _patience(self) -> float:
        return self.PATIENCE if time.monotonic() >= self._impatient_until else 0.0

    def _run(self) -> Iterator[sqlite3.Cursor]:
        try:
            cursor = self._connected().cursor()
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._drop(exc)
            raise WouldBlock from exc
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                self._drop(exc)
                raise WouldBlock from exc
            raise
        self._commits += 1

    def _rollback(self) -> None:
        connection = self._connection
        if connection is not None and connection.in_transaction:
            try:
                connection.execute("ROLLBACK")
            except sqlite3.Error:
                self._close()

    def checkpoint_due(self) -> bool:
        if self._commits < self.CHECKPOINT_EVERY:
            return False
        self._commits = 0
        return True


Processor = Any  # a type's bind or result processor: a function of one value, or None


class DriverStatement:
    """A Core statement compiled once for a positional dialect (SQLite), run straight on a DBAPI
    cursor with its types' own conversions: the same SQL and stored values as Core's, without the
    execution machinery around a single-row statement (~6 µs rather than ~40)."""

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys or ()) or None)
        assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
        self.sql = compiled.string
        binds = compiled.binds
        self._names = tuple(compiled.positiontup)
        self._binds = _converting(
            binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self._names
        )
        columns = getattr(statement, "selected_columns", ())
        self._results = _converting(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )

    def parameters(self, values: dict[str, Any]) -> list[Any]:
        """The positional parameters, converted as Core would bind them."""
        return _convert([values[name] for name in self._names], self._binds)

    def row(self, raw: Sequence[Any]) -> list[Any]:
        """A result row, converted as Core would return it."""
        return _convert(list(raw), self._results)


def _converting(processors: Iterable[Processor]) -> tuple[tuple[int, Processor], ...]:
    """The (position, processor) of the values that need converting."""
    return tuple((index, fn) for index, fn in enumerate(processors) if fn is not None)


def _convert(values: list[Any], processors: tuple[tuple[int, Processor], ...]) -> list[Any]:
    for index, processor in processors:
        value = values[index]
        if value is not None:
            values[index] = processor(value)
    return values


def _configure(connection: sqlite3.Connection, writer_lock: WriterLock | None) -> None:
    """What every SQLite connection of monban runs with."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()
    if isinstance(connection, LockingConnection):
        connection.writer_lock = writer_lock


def _sqlite_connect(writer_lock: WriterLock | None) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        _configure(dbapi_connection, writer_lock)

    return on_connect


def make_engine(url: str, writer_lock: WriterLock | None = None) -> Engine:
    """An engine with the per-dialect settings monban relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10, "factory": LockingConnection},
        )
        event.listen(engine, "connect", _sqlite_connect(writer_lock))
        return engine
    connect_args = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT_S}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args)


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite_file = sqlite_file(url)
        self._writer_lock = WriterLock(f"{self.sqlite_file}.lock") if self.sqlite_file else None
        self.engine = make_engine(url, self._writer_lock)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # reads the event loop may do itself (SQLite files only: PostgreSQL is a network away)
        self.loop_reader = LoopReader(self.sqlite_file) if self.sqlite_file else None
        self.loop_writer = (
            LoopWriter(self.sqlite_file, self._writer_lock)
            if self.sqlite_file and self._writer_lock
            else None
        )
        self._writer: LockingConnection | None = None
        self._writer_mutex = threading.Lock()

    @contextmanager
    def driver_transaction(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction straight on the driver (SQLite files only), for ``DriverStatement``s:
        committed when the block ends, rolled back on any exception. It begins IMMEDIATE: it holds
        the write lock from the start, so nothing it reads changes before it writes. It runs on a
        connection kept for it (one transaction at a time), not one checked out of the pool."""
        assert self.sqlite_file is not None
        with unavailable_as_such(), self._writer_mutex:
            connection = self._writer
            if connection is None:
                connection = sqlite3.connect(
                    self.sqlite_file,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    check_same_thread=False,
                    factory=LockingConnection,
                )
                _configure(connection, self._writer_lock)
                self._writer = connection
            try:
                cursor = connection.cursor()
                cursor.execute("BEGIN IMMEDIATE")
                yield cursor
                connection.commit()
            except BaseException:
                connection.rollback()
                raise

    def migrate(self) -> None:
        """Bring the schema to every Alembic head (idempotent)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # nodes starting at once migrate in turn
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "heads")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any exception; an error
        that means the database cannot answer now raises DatabaseUnavailable."""
        with unavailable_as_such(), self._sessions.begin() as session:
            yield session

    @contextmanager
    def connection(self, *, begin: bool = False) -> Iterator[Connection]:
        """A Core connection (``begin``: in one transaction, committed when the block ends), with
        ``transaction``'s DatabaseUnavailable for an error that means "not now"."""
        with unavailable_as_such(), self.engine.begin() if begin else self.engine.connect() as connection:
            yield connection

    def checkpoint(self) -> None:
        """Copy the WAL's committed pages into the database file, without waiting for readers or
        writers (``LoopWriter`` leaves this to a thread)."""
        assert self.sqlite_file is not None
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def dispose(self) -> None:
        if self.loop_reader is not None:
            self.loop_reader.close()
        if self.loop_writer is not None:
            self.loop_writer.close()
        with self._writer_mutex:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self.engine.dispose()
