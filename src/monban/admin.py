"""Operator commands that work on a data dir's database directly: revoking sessions, rotating the
master key (``monban rotate-master-key``, see ``store/master_key.py``) and the session keys
(``monban keys rotate``, see ``store/session_keys.py``: running servers need no restart).

Two ways, as the README documents ("Revoking sessions"):

- ``monban revoke-role-sessions ROLE`` — AWS's way (IAM User Guide, "Revoking IAM role temporary
  security credentials"): the role gets the inline policy ``AWSRevokeOlderSessions``, a Deny of
  ``*`` on ``*`` for every session whose ``aws:TokenIssueTime`` is before now. Sessions issued
  later are unaffected; the console does the same.
- ``monban revoke-session ASIA…`` — monban's own: one session, by its access key id, is refused
  from then on (``revoked_sessions``). Any session of any kind can be revoked that way.

Both take effect on every worker and node within ``settings.cache_seconds`` (1 s): a worker
re-reads the IAM generation and the revoked set at most that often. A running server on the same
database needs no restart.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monban.credentials.keyring import MASTER_KEY_FILE, MasterKeyError
from monban.settings import Settings, default_data_dir
from monban.store import session_keys
from monban.store.accounts import bump_generation
from monban.store.datadir import make_private
from monban.store.db import Database, sqlite_file
from monban.store.master_key import existing_key_ring, rotate
from monban.store.models import InlinePolicy, RevokedSession, Role

REVOKE_POLICY_NAME = "AWSRevokeOlderSessions"
# The longest any session lives (GetSessionToken: 129,600 s): a revoked id older than that can go.
LONGEST_SESSION = timedelta(seconds=129600)
SESSION_KEY = re.compile(r"^ASIA[A-Z2-7]{16}$")

Command = Callable[[argparse.Namespace], int]
DATA_DIR_HELP = (
    "the data dir: SQLite database, object bytes, master.key and the root credentials file "
    "(default: $MONBAN_DATA_DIR, else ~/.local/share/monban)"
)


class AdminError(Exception):
    """A command that cannot be carried out, with the message to print."""


def revoke_policy(cutoff: datetime) -> str:
    """The console's policy: deny everything to sessions issued before ``cutoff``."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")}},
            }
        ],
    }
    return json.dumps(document, indent=2)


def _cutoff(now: datetime) -> datetime:
    """The next whole second: aws:TokenIssueTime has second precision, so every session issued up
    to ``now`` (including earlier in the same second) is older than the cut-off."""
    return now.replace(microsecond=0) + timedelta(seconds=1)


def find_role(session: Session, role: str, account: str | None) -> Role:
    """A role by ARN, or by name (within ``account`` when given, else the only account that has
    a role of that name)."""
    if role.startswith("arn:"):
        rows = list(session.scalars(select(Role).where(Role.arn == role)))
    else:
        query = select(Role).where(Role.name_lower == role.lower())
        if account is not None:
            query = query.where(Role.account_id == account)
        rows = list(session.scalars(query))
    if not rows:
        raise AdminError(f"no role {role}" + (f" in account {account}" if account else ""))
    if len(rows) > 1:
        raise AdminError(f"role name {role} exists in several accounts: give --account or the role ARN")
    return rows[0]


def revoke_role_sessions(db: Database, role: str, account: str | None, now: datetime) -> tuple[str, datetime]:
    """Attach (or refresh) AWSRevokeOlderSessions on the role; returns its ARN and the cut-off."""
    cutoff = _cutoff(now)
    with db.transaction() as session:
        bump_generation(session)  # first: ordered after every other IAM writer (QueryCall.write)
        row = find_role(session, role, account)
        query = select(InlinePolicy).where(
            InlinePolicy.entity_type == "role",
            InlinePolicy.entity_id == row.id,
            InlinePolicy.name == REVOKE_POLICY_NAME,
        )
        policy = session.scalar(query)
        if policy is None:
            policy = InlinePolicy(
                account_id=row.account_id, entity_type="role", entity_id=row.id, name=REVOKE_POLICY_NAME
            )
            session.add(policy)
        policy.document = revoke_policy(cutoff)
        return row.arn, cutoff


def revoke_session(db: Database, access_key_id: str, now: datetime) -> datetime:
    """Refuse one session from now on; returns when the record may be forgotten."""
    if not SESSION_KEY.match(access_key_id):
        raise AdminError(f"{access_key_id} is not a temporary access key id (ASIA followed by 16 of A-Z2-7)")
    forget_at = now + LONGEST_SESSION
    with db.transaction() as session:
        session.execute(delete(RevokedSession).where(RevokedSession.expires_at < now))
        if session.get(RevokedSession, access_key_id) is None:
            session.add(RevokedSession(access_key_id=access_key_id, revoked_at=now, expires_at=forget_at))
    return forget_at


def _database(args: argparse.Namespace) -> Database:
    settings = Settings(data_dir=args.data_dir or default_data_dir(), database_url=args.database)
    if args.database is None and not (settings.data_dir / "monban.db").exists():
        raise AdminError(f"no monban database in {settings.data_dir} (give --data-dir or --database)")
    if args.database is None:  # the database is in the data dir
        make_private(settings.data_dir, sqlite_file(settings.database))
    return Database(settings.database)


def _run(args: argparse.Namespace, action: Callable[[Database], str]) -> int:
    try:
        db = _database(args)
        try:
            print(action(db))
        finally:
            db.dispose()
    except (AdminError, MasterKeyError) as exc:
        print(f"monban: {exc}", file=sys.stderr)
        return 1
    return 0


def _revoke_role_command(args: argparse.Namespace) -> int:
    def act(db: Database) -> str:
        arn, cutoff = revoke_role_sessions(db, args.role, args.account, datetime.now(UTC))
        return f"{arn}: sessions issued before {cutoff:%Y-%m-%dT%H:%M:%SZ} are denied ({REVOKE_POLICY_NAME})"

    return _run(args, act)


def _revoke_session_command(args: argparse.Namespace) -> int:
    def act(db: Database) -> str:
        revoke_session(db, args.access_key_id, datetime.now(UTC))
        return f"{args.access_key_id}: revoked (every worker refuses it within 1 s)"

    return _run(args, act)


def _rotate_master_key_command(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or default_data_dir()

    def act(db: Database) -> str:
        count = rotate(data_dir, db)
        return (
            f"{data_dir / MASTER_KEY_FILE}: a new master key; {count} secret access "
            f"key{'' if count == 1 else 's'} re-sealed under it. "
            "Back it up now (the old one opens nothing any more), copy it to every node that shares the "
            "database, then start them. Session tokens issued before keep working (the session keys are "
            "re-sealed too); encoded authorization messages issued before no longer decode"
        )

    return _run(args, act)


def rotate_session_keys(db: Database, data_dir: Path, now: datetime) -> session_keys.Rotation:
    """A new session key for the ring (the database migrated first: servers may not have yet)."""
    keyring = existing_key_ring(data_dir, db)
    db.migrate()
    with db.transaction() as session:
        return session_keys.rotate(session, keyring, now)


def _keys_rotate_command(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or default_data_dir()

    def act(db: Database) -> str:
        done = rotate_session_keys(db, data_dir, datetime.now(UTC))
        deleted = ", ".join(map(str, done.deleted)) or "none"
        return (
            f"session key {done.current} seals new sessions (every server within 1 s); key {done.retired} "
            f"retired: its sessions stay valid until they expire; keys deleted (retired over "
            f"{session_keys.RETIRED_KEY_LIFETIME.total_seconds() / 3600:.0f} h ago): {deleted}"
        )

    return _run(args, act)


def _database_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR", help=DATA_DIR_HELP)
    parser.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="SQLAlchemy URL of a shared database, e.g. PostgreSQL (default: monban.db in the data dir)",
    )


def add_admin_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> dict[str, Command]:
    """Add the operator subcommands to ``monban``; returns their handlers by name."""
    role = sub.add_parser(
        "revoke-role-sessions",
        help="deny every existing session of a role (AWS's AWSRevokeOlderSessions policy)",
        description="Attach AWS's inline policy AWSRevokeOlderSessions to the role: every session "
        "issued before now is denied; later ones work. Running servers apply it within 1 s.",
    )
    role.add_argument("role", metavar="ROLE", help="the role's ARN, or its name")
    role.add_argument(
        "--account",
        default=None,
        help="the role's account, when ROLE is a name (default: the only account with such a role)",
    )
    _database_args(role)
    one = sub.add_parser(
        "revoke-session",
        help="revoke one session by its ASIA… access key id",
        description="Refuse one temporary session from now on, by its access key id. Running "
        "servers apply it within 1 s.",
    )
    one.add_argument("access_key_id", metavar="ACCESS_KEY_ID", help="the session's key id (ASIA…)")
    _database_args(one)
    rotate_key = sub.add_parser(
        "rotate-master-key",
        help="replace the master key and re-seal every secret under the new one (servers stopped)",
    )
    _database_args(rotate_key)
    keys = sub.add_parser("keys", help="the session-key ring (keys that seal session tokens)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    keys_rotate = keys_sub.add_parser(
        "rotate",
        help="seal new sessions with a new key; earlier sessions stay valid until they expire",
        description="Add a new session key and retire the current one: every server sharing the "
        "database seals new session tokens with it within 1 s, without a restart; tokens sealed before "
        "keep working until they expire. Keys retired more than 37 hours ago (the longest session, 36 h, "
        "and a margin) are deleted.",
    )
    _database_args(keys_rotate)
    return {
        "revoke-role-sessions": _revoke_role_command,
        "revoke-session": _revoke_session_command,
        "rotate-master-key": _rotate_master_key_command,
        "keys": _keys_rotate_command,
    }
