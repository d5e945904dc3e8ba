"""``monban audit``: the audit trail of a data dir, filtered, as a table or as JSON lines.

Filters: a time range (``--since``/``--until``, ISO 8601), a principal (an ARN, a principal id, an
access key id, or LookupEvents' user name), an event name, errors only. It reads the files only
(``DATA_DIR/audit/audit.log*``), oldest first, so it works while a server runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from monban.services.cloudtrail import event_time, username
from monban.settings import default_data_dir
from monban.store.audit_log import Record, audit_dir, read_records

COLUMNS = ("TIME", "SOURCE", "EVENT", "PRINCIPAL", "IP", "ERROR")


def instant(text: str) -> datetime:
    """A --since/--until value: ISO 8601, UTC when it names no zone."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: give a time like 2026-01-31T12:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _principal_names(record: Record) -> set[str]:
    identity = record.get("userIdentity") or {}
    names = {str(identity.get(k)) for k in ("arn", "principalId", "accessKeyId") if identity.get(k)}
    return names | {username(record)}


def select(
    records: Iterable[Record],
    since: datetime | None = None,
    until: datetime | None = None,
    principal: str | None = None,
    event_name: str | None = None,
    errors_only: bool = False,
) -> Iterator[Record]:
    """The records that pass every filter given."""
    for record in records:
        when = event_time(record)
        if (since or until) and when is None:
            continue
        if since is not None and when is not None and when < since:
            continue
        if until is not None and when is not None and when > until:
            continue
        if principal is not None and principal not in _principal_names(record):
            continue
        if event_name is not None and record.get("eventName") != event_name:
            continue
        if errors_only and not record.get("errorCode"):
            continue
        yield record


def _row(record: Record) -> tuple[str, ...]:
    identity = record.get("userIdentity") or {}
    return (
        str(record.get("eventTime", "")),
        str(record.get("eventSource", "")).removesuffix(".amazonaws.com"),
        str(record.get("eventName", "")),
        str(identity.get("arn") or identity.get("accessKeyId") or identity.get("type", "")),
        str(record.get("sourceIPAddress", "")),
        str(record.get("errorCode") or ""),
    )


def table(records: Iterable[Record]) -> str:
    rows = [COLUMNS, *(_row(record) for record in records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def audit_command(args: argparse.Namespace) -> int:
    folder = audit_dir(args.data_dir or default_data_dir())
    chosen = select(
        read_records(folder), args.since, args.until, args.principal, args.event_name, args.errors
    )
    if args.json:
        for record in chosen:
            sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    else:
        print(table(chosen))
    return 0


def add_audit_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], data_dir_help: str
) -> dict[str, Callable[[argparse.Namespace], int]]:
    p = sub.add_parser(
        "audit",
        help="show the audit trail (one CloudTrail-shaped record per API call), filtered",
        description="Print the audit trail of a data dir (DATA_DIR/audit/audit.log and its rotated "
        "files), oldest first, as a table or as JSON lines.",
    )
    p.add_argument("--data-dir", type=Path, default=None, metavar="DIR", help=data_dir_help)
    p.add_argument(
        "--since", type=instant, default=None, metavar="TIME", help="from this time (default: any)"
    )
    p.add_argument(
        "--until", type=instant, default=None, metavar="TIME", help="up to this time (default: any)"
    )
    p.add_argument(
        "--principal",
        default=None,
        metavar="WHO",
        help="only calls by this ARN, principal id, access key id or user name (default: anyone)",
    )
    p.add_argument(
        "--event-name", default=None, metavar="NAME", help="only this API, e.g. AssumeRole (default: all)"
    )
    p.add_argument("--errors", action="store_true", help="only calls that failed (default: all)")
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table (default: a table)")
    return {"audit": audit_command}
