"""What a Query-protocol handler (IAM, STS) receives, and the operation tables' shape.

A handler takes a ``QueryCall`` and returns the data of its ``…Result`` element (or None), or
raises ``AwsError``. It authorizes itself with ``call.authorize`` (the resource ARN depends on the
parameters), reads in ``call.read()`` and writes in ``call.write()`` — one transaction each, the
write bumping the IAM generation so that caches see it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monban.access.authz import authorize
from monban.access.principal import Caller, RequestInfo
from monban.access.state import AppState
from monban.policy import Decision, NamedPolicy
from monban.protocol.query import QueryParams
from monban.store.accounts import bump_generation

Result = Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class QueryCall:
    state: AppState
    caller: Caller
    info: RequestInfo
    action: str
    params: QueryParams

    def authorize(
        self,
        action: str,
        resource: str,
        *,
        resource_account: str | None = None,
        extra_context: Mapping[str, str | Sequence[str] | None] | None = None,
        resource_policy: NamedPolicy | None = None,
        is_trust_policy: bool = False,
    ) -> Decision:
        """Raise AccessDenied unless the caller may perform ``action`` on ``resource``."""
        return authorize(
            self.state,
            self.caller,
            self.info,
            action,
            resource,
            resource_account=resource_account,
            extra_context=extra_context,
            resource_policy=resource_policy,
            is_trust_policy=is_trust_policy,
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.state.db.transaction() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction; the IAM generation is bumped inside it, first: that takes the
        lock that orders every IAM writer of every node (``bump_generation``), so the handler's
        checks (the name is free, fewer than two keys, five versions) hold until it commits."""
        with self.state.write_lock, self.state.db.transaction() as session:
            bump_generation(session)
            yield session
        self.state.wrote()


Handler = Callable[[QueryCall], Result]


@dataclass(frozen=True, slots=True)
class Operation:
    handler: Handler
    anonymous: bool = False  # e.g. AssumeRoleWithWebIdentity: unsigned requests allowed
    inline: bool = False  # usually answered from the caches: tried on the event loop first

    def run(self, call: QueryCall) -> Result:
        """The handler on ``call``. A unique constraint that refused its write (a row another
        writer committed meanwhile, on this node or another) runs it once more: the second run sees
        that row and answers as AWS does (EntityAlreadyExists…). ``QueryCall.write`` orders IAM
        writers, so this is a safety net for writes outside it."""
        try:
            return self.handler(call)
        except IntegrityError:
            return self.handler(call)


def register(
    table: dict[str, Operation], name: str, *, anonymous: bool = False, inline: bool = False
) -> Callable[[Handler], Handler]:
    """Decorator adding a handler to an operation table under its AWS action name.

    ``inline``: the handler usually needs no database (what it reads comes from the caches of
    ``AppState``), so the front first runs it on the event loop; should it call ``read()`` or
    ``write()`` there, it is run again from the start on a database thread. Such a handler must do
    nothing before its first database access that a second run would repeat visibly.
    """

    def add(handler: Handler) -> Handler:
        table[name] = Operation(handler, anonymous, inline)
        return handler

    return add
