"""Process-wide state of one worker: settings, database, key ring, the caches, and where work runs.

Caches are keyed by the IAM generation (a counter every IAM write, and every bucket-level S3 write,
bumps in the same transaction). A worker re-reads the generation at most every
``settings.cache_seconds``, and at once after a write it made itself: read-your-writes on one
worker, every other worker and node within that bound.

Where work runs: a request is first tried on the event loop (``run_cached``), where the caches
usually answer it; the moment it reaches for the database (``state.db``) it raises
``NeedsThread`` and is run again from the start on one of a few database threads
(``run_blocking``). So the loop never waits on SQLite, and most reads never pay a thread hop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from typing import Generic, ParamSpec, TypeVar, cast

from sqlalchemy import select

from monban.access.audit import AuditCall, audit_facts
from monban.access.principal import OpenedToken
from monban.access.throttle import throttle_from
from monban.credentials.keyring import KeyRing, Sealer
from monban.credentials.session import TokenKey
from monban.settings import Settings
from monban.sigv4 import SigningKeyCache
from monban.store.accounts import read_generation
from monban.store.audit_log import AuditLog, audit_dir
from monban.store.db import Database, DatabaseUnavailable
from monban.store.models import Account, RevokedSession
from monban.store.session_keys import SessionKeySet, load_session_keys

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
P = ParamSpec("P")

# Database work runs on a few threads: SQLite serialises writers anyway and Python runs one thread
# at a time, so more threads only share the GIL more finely (measured: 4 threads serve GetUser ~10%
# slower than 2, with a longer tail). Each thread may hold two pooled connections at once (a cache
# refresh inside a transaction), well within the engine's pool (5 + 10 overflow); with the 40
# threads of Starlette's pool, 32 concurrent requests exhausted it and waited 30 s for connections.
DB_THREADS = 2

log = logging.getLogger("monban")

_ON_LOOP: ContextVar[bool] = ContextVar("monban_on_event_loop", default=False)


class NeedsThread(BaseException):
    """Code running on the event loop reached for the database: run it again on a thread.

    A BaseException, like ``asyncio.CancelledError``, so that no ``except Exception`` on the way
    (a handler's, or "never fail the request for bookkeeping") can swallow it.
    """


class _OnEventLoop:
    """``on_event_loop``'s block: a class rather than a ``contextmanager`` generator, a third of
    its cost (it brackets most requests, some twice)."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _ON_LOOP.set(True)

    def __exit__(self, *_exc: object) -> None:
        _ON_LOOP.reset(self._token)


def on_event_loop() -> _OnEventLoop:
    """Within this block, ``AppState.db`` raises NeedsThread instead of blocking the loop."""
    return _OnEventLoop()


def _log_failure(future: Future[object]) -> None:
    error = None if future.cancelled() else future.exception()
    if error is not None:
        log.error("background work failed", exc_info=error)


class LruCache(Generic[K, V]):
    """A small thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """Lock-free: each OrderedDict operation is atomic under the GIL (the keys are tuples of
        str and int, whose hashing runs no Python code); the lock orders only ``put``'s trim."""
        value = self._items.get(key)
        if value is not None:
            try:  # noqa: SIM105 - contextlib.suppress costs more than the lookup it guards
                self._items.move_to_end(key)
            except KeyError:  # trimmed by a put in another thread meanwhile
                pass
        return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Refreshing(Generic[V]):
    """A value re-read from its source at most every ``ttl`` seconds (or when invalidated).

    One thread reloads while the others wait for it (not one reload per waiting thread); a load
    that overlapped an ``invalidate`` is kept but not trusted, so a writer's next read reloads.
    While the database is unavailable the value last read is served for another ``ttl`` at a time
    (nothing can change in a database that cannot be written): requests the caches answer go on
    being served, and the next load after that tries the database again.
    """

    def __init__(self, ttl: float, load: Callable[[], V]) -> None:
        self._ttl = ttl
        self._load = load
        self._value: V | None = None
        self._at = 0.0
        self._epoch = 0
        self._lock = threading.Lock()

    def _fresh(self) -> V | None:
        value = self._value
        if value is not None and time.monotonic() - self._at <= self._ttl:
            return value
        return None

    def get(self) -> V:
        value = self._fresh()
        if value is not None:
            return value
        with self._lock:
            value = self._fresh()  # another thread may have reloaded it meanwhile
            if value is None:
                epoch, started = self._epoch, time.monotonic()
                try:
                    value = self._load()
                except DatabaseUnavailable:
                    if self._value is None:
                        raise
                    log.warning("database unavailable: serving what was last read from it")
                    self._at = started  # try again in ttl seconds, not on every request
                    return self._value
                self._value = value
                self._at = started if epoch == self._epoch else 0.0
        return value

    def invalidate(self) -> None:
        self._epoch += 1
        self._at = 0.0


def audit_writer(settings: Settings) -> list[str]:
    """The command line of a worker's audit writer process (``access/audit_writer.py``)."""
    command = [
        sys.executable,
        "-m",
        "monban.access.audit_writer",
        "--folder",
        str(audit_dir(settings.data_dir)),
    ]
    command += ["--max-bytes", str(settings.audit_max_bytes), "--files", str(settings.audit_files)]
    return [*command, "--stdout"] if settings.audit_stdout else command


class AppState:
    """Everything the request path shares within one worker."""

    def __init__(self, settings: Settings, db: Database, keyring: KeyRing) -> None:
        self.settings = settings
        self._db = db
        self.keyring = keyring
        ttl = settings.cache_seconds
        self.generation: Refreshing[int] = Refreshing(ttl, self._read_generation)
        self.revoked: Refreshing[frozenset[str]] = Refreshing(ttl, self._read_revoked)
        self.accounts: Refreshing[frozenset[str]] = Refreshing(ttl, self._read_accounts)
        self.entity_cache: LruCache[tuple[object, ...], object] = LruCache(10_000)
        self.session_tokens: LruCache[tuple[str, str], OpenedToken] = LruCache(2048)
        self.signing_keys = SigningKeyCache()
        self._session_keys: tuple[int, SessionKeySet] | None = None  # (generation, the ring)
        self._unknown_key_at = 0.0  # when a token named a key the ring lacked (monotonic)
        self.throttle = throttle_from(settings.throttle, settings.workers)  # None: no limits
        self._threads = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="monban-db")
        # The writers of one worker take turns here rather than in SQLite's busy handler, whose
        # back-off sleeps (up to 100 ms each) would make the tail latency of concurrent writes.
        self.write_lock = threading.RLock()
        self.audit_log = AuditLog(
            audit_writer(settings), enabled=settings.audit_files > 0 or settings.audit_stdout
        )

    def audit(self, call: AuditCall) -> None:
        """One API call's facts, queued for the worker's audit writer (``store/audit_log.py``); facts
        that cannot be written are logged, the answer still goes."""
        if not self.audit_log.enabled:
            return
        try:
            facts = audit_facts(call)
        except Exception:
            log.exception("audit record of %s %s could not be made", call.source, call.name)
            return
        self.audit_log.put(facts)

    @property
    def db(self) -> Database:
        """The database; on the event loop, NeedsThread instead (see ``run_cached``)."""
        if _ON_LOOP.get():
            raise NeedsThread
        return self._db

    def _read_generation(self) -> int:
        with self.db.transaction() as session:
            return read_generation(session)

    def _read_revoked(self) -> frozenset[str]:
        with self.db.transaction() as session:
            return frozenset(session.scalars(select(RevokedSession.access_key_id)))

    def _read_accounts(self) -> frozenset[str]:
        with self.db.transaction() as session:
            return frozenset(session.scalars(select(Account.id)))

    def _read_session_keys(self) -> SessionKeySet:
        with self.db.transaction() as session:
            return load_session_keys(session, self.keyring)

    def session_key_set(self) -> SessionKeySet:
        """The session-key ring, re-read when the IAM generation moved (``monban keys rotate``
        bumps it): a rotation reaches every worker and node within ``cache_seconds``."""
        generation = self.generation.get()
        held = self._session_keys
        if held is not None and held[0] == generation:
            return held[1]
        ring = self._read_session_keys()
        self._session_keys = (generation, ring)  # one attribute: threads never see a torn pair
        return ring

    def token_key(self) -> TokenKey:
        """The key that seals new session tokens."""
        return self.session_key_set().current

    def opening_key(self, key_id: int) -> Sealer | None:
        """The key ``key_id`` of the ring, to open a token with. A key this worker does not know
        (a rotation on another node, not seen yet) makes it re-read the generation at once, at
        most once per ``cache_seconds`` (a forged key id cannot make it read on every request)."""
        sealer = self.session_key_set().opening(key_id)
        now = time.monotonic()
        if sealer is None and now - self._unknown_key_at > self.settings.cache_seconds:
            self._unknown_key_at = now
            self.generation.invalidate()
            sealer = self.session_key_set().opening(key_id)
        return sealer

    def wrote(self) -> None:
        """Called after this worker committed an IAM change: see it at once."""
        self.generation.invalidate()
        self.revoked.invalidate()
        self.accounts.invalidate()

    def cached(self, key: tuple[object, ...], load: Callable[[], V]) -> V:
        """``load()`` memoised under ``key`` for the current IAM generation."""
        full = (self.generation.get(), *key)
        hit = self.entity_cache.get(full)
        if hit is None:
            hit = load()
            self.entity_cache.put(full, hit)
        return cast(V, hit)

    async def run_blocking(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn`` on a database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(fn, *args, **kwargs))

    def in_background(self, fn: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> None:
        """``fn`` on a database thread, not awaited: housekeeping no answer depends on (a failure
        is logged, and so is a pool that no longer takes work, at shut-down)."""
        try:
            self._threads.submit(fn, *args, **kwargs).add_done_callback(_log_failure)
        except RuntimeError:
            log.warning("background work dropped: the worker is shutting down")

    async def run_cached(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn`` on the event loop when the caches answer it, else from the start on a database
        thread. ``fn`` must have no effect before its first database access but on the caches."""
        try:
            with on_event_loop():
                return fn(*args, **kwargs)
        except NeedsThread:
            pass
        return await self.run_blocking(fn, *args, **kwargs)
