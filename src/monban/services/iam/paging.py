"""IAM paging: ``MaxItems`` (1–1000, default 100) and ``Marker``, the opaque string the previous
page returned (IAM API reference, "Common parameters" / each List operation: "Use this parameter
only when paginating results and only after you receive a response indicating that the results
are truncated. Set it to the value of the Marker element in the response that you received").

monban's Marker is the sort key of the last item returned (base64url of a JSON list of strings).
The next page is read by key, not by position: ``sort key > marker ORDER BY sort key LIMIT
MaxItems + 1`` (one more row tells IsTruncated), so a page costs the same at the start and at
the end of a long list, and an item created or deleted between pages shifts nothing. A Marker is
only a position: every query still filters on the caller's account and entity, so a forged one
shows nothing it could not list anyway; one that does not decode is InvalidInput "Invalid
Marker." (400), as before.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError, validation_error
from monban.protocol.query import QueryParams
from monban.services.iam.common import Named, check_path_prefix
from monban.services.query import QueryCall

T = TypeVar("T")
Key = tuple[str, ...]

DEFAULT_ITEMS = 100
MAX_ITEMS = 1000


@dataclass(frozen=True)
class Window:
    """One request's page: at most ``size`` items with a sort key greater than ``after``."""

    size: int
    after: Key | None

    def later(self, key: Key) -> bool:
        return self.after is None or key > self.after


def name_key(row: Any) -> Key:
    """Users, groups, roles, instance profiles: by lower-case name (unique in an account)."""
    return (row.name_lower,)


def policy_key(row: Any) -> Key:
    """Managed policies: by lower-case name, then ARN (the same name may sit on two paths)."""
    return (row.name_lower, row.arn)


def tag_key(tag: dict[str, str]) -> Key:
    return (tag["Key"],)


def window(params: QueryParams, width: int = 1) -> Window:
    """MaxItems and Marker of a List call whose sort key has ``width`` parts."""
    size = params.integer("MaxItems", DEFAULT_ITEMS)
    if size is None or size < 1:
        raise validation_error(size, "maxItems", "have value greater than or equal to 1")
    if size > MAX_ITEMS:
        raise validation_error(size, "maxItems", "have value less than or equal to 1000")
    marker = params.get("Marker")
    return Window(size, decode_marker(marker, width) if marker else None)


def encode_marker(key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def decode_marker(text: str, width: int) -> Key:
    """The key a Marker holds: ``width`` strings a database can compare (UTF-8, no NUL), else
    InvalidInput "Invalid Marker."."""
    try:
        value = json.loads(base64.b64decode(text.encode(), altchars=b"-_", validate=True))
    except (ValueError, binascii.Error, UnicodeError):
        value = None
    if (
        isinstance(value, list)
        and len(value) == width
        and all(isinstance(part, str) and _storable(part) for part in value)
    ):
        return tuple(value)
    raise AwsError("InvalidInput", "Invalid Marker.")


def _storable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return "\x00" not in text


def after(columns: Sequence[Any], key: Key | None) -> ColumnElement[bool] | None:
    """SQL for ``(columns) > key`` in the columns' order (None for the first page), led by
    ``first >= key[0]`` so that an index on the columns seeks rather than scans."""
    if key is None:
        return None
    first: ColumnElement[Any] = columns[0]
    if len(columns) == 1:
        return first > key[0]
    terms = []
    for index, column in enumerate(columns):
        equal = [columns[i] == key[i] for i in range(index)]
        terms.append(and_(*equal, column > key[index]))
    return and_(first >= key[0], or_(*terms))


def keyed(
    window: Window,
    rows: Sequence[T],
    key: Callable[[T], Key],
    render: Callable[[T], Any],
    list_name: str,
) -> dict[str, Any]:
    """The answer from up to ``size + 1`` rows past the marker, in key order."""
    chunk = rows[: window.size]
    truncated = len(rows) > window.size
    out: dict[str, Any] = {list_name: [render(row) for row in chunk], "IsTruncated": truncated}
    if truncated:
        out["Marker"] = encode_marker(key(chunk[-1]))
    return out


def page(
    params: QueryParams,
    items: Iterable[T],
    render: Callable[[T], Any],
    list_name: str,
    key: Callable[[T], Key],
    width: int = 1,
) -> dict[str, Any]:
    """A page of a list held in memory (a user's access keys, an entity's tags, …), in key order."""
    chosen = window(params, width)
    later = sorted((item for item in items if chosen.later(key(item))), key=key)
    return keyed(chosen, later[: chosen.size + 1], key, render, list_name)


def by_path(model: Any, prefix: str) -> ColumnElement[bool] | None:
    """``path`` starts with ``prefix``, case-sensitively on every database (None for ``/``,
    which every path starts with)."""
    return None if prefix == "/" else func.substr(model.path, 1, len(prefix)) == prefix


def list_in_path(
    call: QueryCall,
    model: type[Named],
    action: str,
    kind: str | None,
    list_name: str,
    render: Callable[[Session, Named], dict[str, Any]],
) -> dict[str, Any]:
    """List{Users,Groups,Roles,InstanceProfiles}: the account's entities whose path starts with
    PathPrefix (case-sensitively, default ``/``), by lower-case name (names are unique
    case-insensitively), a page read by key. Authorized on ``arn:aws:iam::<acct>:<kind><PathPrefix>``
    (what AWS's AccessDenied shows), on ``*`` without a kind."""
    prefix = check_path_prefix(call.params.get("PathPrefix"))
    account = call.caller.account
    call.authorize(action, f"arn:aws:iam::{account}:{kind}{prefix}" if kind else "*")
    chosen = window(call.params)
    entity: Any = model
    conditions = [
        entity.account_id == account,
        by_path(entity, prefix),
        after([entity.name_lower], chosen.after),
    ]
    query = select(entity).where(*(c for c in conditions if c is not None))
    with call.read() as session:
        rows = session.scalars(query.order_by(entity.name_lower).limit(chosen.size + 1)).all()
        return keyed(chosen, rows, name_key, lambda row: render(session, row), list_name)
