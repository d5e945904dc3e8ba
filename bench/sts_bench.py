"""STS AssumeRole over HTTP at 32 connections: monban (--workers 1 and 2) vs moto's server (auth on),
in the same run; plus what issuing sessions does to the database (nothing: sessions are stateless).

wrk replays one request, signed once with botocore (header auth stays valid 15 minutes): every
replay is a real AssumeRole that authenticates alice, evaluates the trust policy and mints a new
sealed session token. Needs wrk (Debian: ``apt-get install -y wrk``); installs nothing itself.

    .venv/bin/python bench/sts_bench.py [--seconds 10]
"""

from __future__ import annotations

import sqlite3
import sys
import time
import urllib.parse
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Running,
    WrkResult,
    measure,
    monban,
    moto,
    root_key,
    row,
    signed_query,
    wrk_main,
)

TRUST_ROOT = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"%s"},'
    '"Action":"sts:AssumeRole"}]}'
)
ASSUME_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}'
)
LIBRARY_SESSIONS = 10_000


def body(role_arn: str) -> str:
    """The form body, percent-encoded as botocore sends it (moto re-encodes the parameters it
    parsed before it checks the signature, so a raw ``:`` or ``/`` would fail there)."""
    fields = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": role_arn}
    return urllib.parse.urlencode({**fields, "RoleSessionName": "bench"})


def client(service: str, endpoint: str, key: tuple[str, str]) -> object:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
    )


def monban_setup(running: Running) -> tuple[tuple[str, str], str]:
    """alice (no policies) and a role whose trust policy names her: same-account trust suffices."""
    root = root_key(running)
    iam = client("iam", running.endpoint, root)
    alice = iam.create_user(UserName="alice")["User"]
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=TRUST_ROOT % alice["Arn"])["Role"]
    return (key["AccessKeyId"], key["SecretAccessKey"]), role["Arn"]


def moto_setup(endpoint: str) -> tuple[tuple[str, str], str]:
    """Four unauthenticated set-up actions (INITIAL_NO_AUTH_ACTION_COUNT=4), then auth is on."""
    iam = client("iam", endpoint, ("AKIAIOSFODNN7EXAMPLE", "x" * 40))
    alice = iam.create_user(UserName="alice")["User"]
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    iam.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=ASSUME_POLICY)
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=TRUST_ROOT % alice["Arn"])["Role"]
    return (key["AccessKeyId"], key["SecretAccessKey"]), role["Arn"]


def check_once(endpoint: str, key: tuple[str, str], role_arn: str) -> None:
    """The replayed request must succeed, or the figures mean nothing."""
    answer = client("sts", endpoint, key).assume_role(RoleArn=role_arn, RoleSessionName="bench")
    if not answer["Credentials"]["AccessKeyId"].startswith("ASIA"):
        raise RuntimeError(f"AssumeRole at {endpoint} did not return temporary credentials")


def assume_role(endpoint: str, key: tuple[str, str], role_arn: str, who: str, seconds: int) -> WrkResult:
    check_once(endpoint, key, role_arn)
    return measure(signed_query(endpoint, "sts", body(role_arn), key), who, seconds)


def database_footprint(data_dir: Path) -> tuple[int, int]:
    """(bytes of monban.db and its WAL, rows in every table)."""
    files = [data_dir / "monban.db", data_dir / "monban.db-wal"]
    size = sum(f.stat().st_size for f in files if f.exists())
    with sqlite3.connect(f"file:{data_dir / 'monban.db'}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = sum(db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables)
    return size, rows


def library_sessions(data_dir: Path, role_arn: str, count: int) -> float:
    """Mint ``count`` role sessions with the same code AssumeRole uses; returns seconds taken."""
    from monban.credentials.keyring import KeyRing, load_master_key
    from monban.credentials.session import TokenKey
    from monban.services.sts.issue import RoleSessionSpec, find_role, role_session
    from monban.store.db import Database, sqlite_url

    key = TokenKey(0, KeyRing.from_master(load_master_key(data_dir)).sessions)  # no rotation yet: key 0
    db = Database(sqlite_url(data_dir))
    with db.transaction() as session:
        role = find_role(session, role_arn)
    db.dispose()
    assert role is not None
    start = time.perf_counter()
    for n in range(count):
        role_session(
            key, role, RoleSessionSpec(session_name=f"s{n}", issued_at=int(time.time()), duration=3600)
        )
    return time.perf_counter() - start


def run(seconds: int = 10) -> list[str]:
    with moto() as peer:
        key, role_arn = moto_setup(peer.endpoint)
        theirs = assume_role(peer.endpoint, key, role_arn, "moto", seconds)
    rows, notes = [], []
    for workers in (1, 2):
        with monban(None, "--workers", str(workers)) as server:
            assert server.data_dir is not None
            key, role_arn = monban_setup(server)
            before = database_footprint(server.data_dir)
            ours = assume_role(server.endpoint, key, role_arn, "monban", seconds)
            took = library_sessions(server.data_dir, role_arn, LIBRARY_SESSIONS) if workers == 1 else 0.0
            after = database_footprint(server.data_dir)
        rows.append(row(f"STS AssumeRole (authenticated), --workers {workers}", ours, theirs))
        if workers == 1:
            issued = int(ours.requests_per_second * seconds)
            notes.append(
                f"Database while issuing ~{issued:,} sessions over HTTP and {LIBRARY_SESSIONS:,} more via "
                f"the library ({LIBRARY_SESSIONS / took:,.0f}/s in one thread): rows {before[1]:,} → "
                f"{after[1]:,}; bytes (db + WAL) {before[0]:,} → {after[0]:,} (any change is alice's "
                "access-key last-used timestamp, rewritten in place at most once per interval). A session "
                "is a sealed token, not a row: 1,000,000 sessions add nothing either; only revoking one "
                "(`monban revoke-session`) writes a row."
            )
    return rows + notes


def main() -> int:
    return wrk_main(__doc__, lambda args: run(args.seconds))


if __name__ == "__main__":
    sys.exit(main())
