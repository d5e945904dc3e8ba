"""What an S3 operation handler receives: the request, its caller and route, and shared helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from monban import sigv4
from monban.access.principal import Caller, RequestInfo
from monban.access.state import AppState
from monban.services.s3.routing import Route
from monban.services.s3.storage import ObjectStore
from monban.store.accounts import bump_generation

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


class ClientDisconnect(Exception):
    """The client went away before the end of its request body (raised by ``S3Call.body``)."""


@dataclass(frozen=True, slots=True)
class S3Call:
    """One authenticated S3 request (``caller`` is ANONYMOUS when it was unsigned). ``body`` is
    the request body as it arrives, read at most once; it raises ``ClientDisconnect``."""

    state: AppState
    body: AsyncIterator[bytes]
    http: sigv4.HttpRequest
    signed: sigv4.SignedRequest | None
    caller: Caller
    secret: str | None
    info: RequestInfo
    route: Route
    blobs: ObjectStore

    @property
    def bucket(self) -> str:
        assert self.route.bucket is not None
        return self.route.bucket

    @property
    def key(self) -> str:
        assert self.route.key is not None
        return self.route.key

    @property
    def query(self) -> dict[str, str]:
        return self.route.query

    @contextmanager
    def bucket_write(self) -> Iterator[Session]:
        """A transaction that changes a bucket itself (creation, deletion, policy). It bumps the
        generation that cached bucket facts are keyed by: this worker sees the change at once,
        the others within ``cache_seconds``."""
        with self.state.write_lock, self.state.db.transaction() as session:
            bump_generation(session)  # first: it orders the writers (``QueryCall.write``)
            yield session
        self.state.wrote()

    def header(self, name: str) -> str | None:
        """Header ``name``'s value as the signature covers it: repeated lines joined with commas
        (an attacker who splits a signed ``a,b`` into two lines must not make handlers read ``a``)."""
        return self.http.combined(name)

    def headers_with_prefix(self, prefix: str) -> list[tuple[str, str]]:
        """Headers whose lower-cased name starts with ``prefix`` (names lower-cased, first-seen
        order, repeated lines joined as ``header`` joins them)."""
        names = dict.fromkeys(k.lower() for k, _ in self.http.headers if k.lower().startswith(prefix))
        return [(name, self.http.combined(name) or "") for name in names]
