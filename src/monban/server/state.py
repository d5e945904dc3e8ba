"""Process-wide state of one worker: settings, database, key ring and the caches.

Caches are keyed by the IAM generation (a counter every IAM write bumps in the same transaction).
A worker re-reads the generation at most every ``settings.cache_seconds``, and at once after a write
it made itself: read-your-writes on one worker, every other worker and node within that bound.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from sqlalchemy import select

from monban.credentials.keyring import KeyRing
from monban.settings import Settings
from monban.sigv4 import SigningKeyCache
from monban.store.accounts import read_generation
from monban.store.db import Database
from monban.store.models import Account, RevokedSession

K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A small thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
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
    """A value re-read from its source at most every ``ttl`` seconds (or when invalidated)."""

    def __init__(self, ttl: float, load: Callable[[], V]) -> None:
        self._ttl = ttl
        self._load = load
        self._value: V | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def get(self) -> V:
        now = time.monotonic()
        value = self._value
        if value is None or now - self._at > self._ttl:
            with self._lock:
                value = self._load()
                self._value, self._at = value, now
        return value

    def invalidate(self) -> None:
        self._at = 0.0


class AppState:
    """Everything the request path shares within one worker."""

    def __init__(self, settings: Settings, db: Database, keyring: KeyRing) -> None:
        self.settings = settings
        self.db = db
        self.keyring = keyring
        ttl = settings.cache_seconds
        self.generation: Refreshing[int] = Refreshing(ttl, self._read_generation)
        self.revoked: Refreshing[frozenset[str]] = Refreshing(ttl, self._read_revoked)
        self.accounts: Refreshing[frozenset[str]] = Refreshing(ttl, self._read_accounts)
        self.entity_cache: LruCache[tuple[object, ...], object] = LruCache(10_000)
        self.signing_keys = SigningKeyCache()

    def _read_generation(self) -> int:
        with self.db.transaction() as session:
            return read_generation(session)

    def _read_revoked(self) -> frozenset[str]:
        with self.db.transaction() as session:
            return frozenset(session.scalars(select(RevokedSession.access_key_id)))

    def _read_accounts(self) -> frozenset[str]:
        with self.db.transaction() as session:
            return frozenset(session.scalars(select(Account.id)))

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
