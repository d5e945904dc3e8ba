"""Listing and paging as data grows: S3 ListObjectsV2 with a delimiter over 10,000, 100,000 and
1,000,000 keys, and IAM ListRoles' first and last page of 10,000 and 100,000 roles, in ms per call.

The rows are written straight into the server's SQLite database with the store's row shapes
(``repo.object_values``, the ``Role`` model), a bucket or an account growing from one size to the
next; each figure is the median of ``CALLS`` signed requests sent one after another (after a few
not counted), the whole answer read. No peer: these figures show how the cost grows with the size.

    .venv/bin/python -m bench.scale_bench [--calls 20] [--largest 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3
from sqlalchemy import create_engine, insert, select

from bench.common import REGION, Replay, Running, monban, root_key, signed, signed_query, status_of
from monban.credentials import ids
from monban.services.iam.common import arn
from monban.services.iam.paging import encode_marker
from monban.services.s3.repo import ObjectInfo, object_values
from monban.services.s3.storage import inline
from monban.store.db import sqlite_url
from monban.store.models import Account, Role
from monban.store.s3_models import S3Object

CALLS = 20
WARMUP = 3
OBJECT_SIZES = (10_000, 100_000, 1_000_000)
ROLE_SIZES = (10_000, 100_000)
PREFIXES = 100  # the keys sit under d000/ … d099/
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
CHUNK = 20_000


def ms_per_call(replay: Replay, calls: int) -> float:
    """The median time of one call, in milliseconds, after ``WARMUP`` calls not counted."""
    times = []
    for index in range(WARMUP + calls):
        started = time.perf_counter()
        status = status_of(replay)
        elapsed = time.perf_counter() - started
        if not 200 <= status < 300:
            raise RuntimeError(f"{replay.method} {replay.url} answered HTTP {status}")
        if index >= WARMUP:
            times.append(elapsed * 1000)
    return statistics.median(times)


def _keys(start: int, stop: int) -> Iterator[str]:
    """Key number i sits under prefix i % PREFIXES: every prefix grows alike."""
    for index in range(start, stop):
        yield f"d{index % PREFIXES:03d}/k{index // PREFIXES:07d}"


def fill_objects(server: Running, bucket: str, start: int, stop: int) -> None:
    assert server.data_dir is not None
    engine = create_engine(sqlite_url(server.data_dir))
    when = datetime.now(UTC)
    empty = (inline(b""),)
    etag = '"d41d8cd98f00b204e9800998ecf8427e"'
    with engine.begin() as connection:
        batch = []
        for key in _keys(start, stop):
            info = ObjectInfo(
                bucket,
                key,
                empty,
                0,
                etag,
                when,
                "binary/octet-stream",
                {},
                [],
                None,
                None,
                None,
                None,
                "STANDARD",
            )
            batch.append(object_values(info))
            if len(batch) == CHUNK:
                connection.execute(insert(S3Object), batch)
                batch = []
        if batch:
            connection.execute(insert(S3Object), batch)
    engine.dispose()


def fill_roles(server: Running, start: int, stop: int) -> None:
    assert server.data_dir is not None
    engine = create_engine(sqlite_url(server.data_dir))
    with engine.begin() as connection:
        account = connection.scalar(select(Account.id))
        assert account is not None
        when = datetime.now(UTC)
        rows = []
        for index in range(start, stop):
            name = f"role{index:06d}"
            rows.append(
                {"id": ids.unique_id(ids.ROLE_PREFIX), "account_id": account, "name": name,
                 "name_lower": name, "path": "/", "arn": arn(account, "role", "/", name),
                 "trust_policy": TRUST, "max_session_duration": 3600, "created_at": when}
            )  # fmt: skip
            if len(rows) == CHUNK:
                connection.execute(insert(Role), rows)
                rows = []
        if rows:
            connection.execute(insert(Role), rows)
    engine.dispose()


def listing(server: Running, key: tuple[str, str], bucket: str, query: str) -> Replay:
    return signed("GET", f"{server.endpoint}/{bucket}?{query}", "s3", key)


def object_rows(server: Running, key: tuple[str, str], largest: int, calls: int) -> list[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
    )
    bucket = "scale-bench"
    s3.create_bucket(Bucket=bucket)
    lines = []
    done = 0
    for size in (s for s in OBJECT_SIZES if s <= largest):
        fill_objects(server, bucket, done, size)
        done = size
        top = listing(server, key, bucket, "delimiter=%2F&list-type=2")
        inside = listing(
            server, key, bucket, f"delimiter=%2F&list-type=2&max-keys=100&prefix={quote('d099/', safe='')}"
        )
        late = listing(server, key, bucket, "delimiter=%2F&list-type=2&start-after=d098%2F")
        lines.append(
            f"| {size:,} keys | {ms_per_call(top, calls):.1f} | {ms_per_call(inside, calls):.1f} "
            f"| {ms_per_call(late, calls):.1f} |"
        )
    return lines


def role_rows(server: Running, key: tuple[str, str], calls: int) -> list[str]:
    lines = []
    done = 0
    for size in ROLE_SIZES:
        fill_roles(server, done, size)
        done = size
        body = "Action=ListRoles&Version=2010-05-08&MaxItems=100"
        first = signed_query(server.endpoint, "iam", body, key)
        marker = quote(encode_marker((f"role{size - 101:06d}",)), safe="")
        last = signed_query(server.endpoint, "iam", f"{body}&Marker={marker}", key)
        lines.append(f"| {size:,} roles | {ms_per_call(first, calls):.1f} | {ms_per_call(last, calls):.1f} |")
    return lines


def run(calls: int = CALLS, largest: int = OBJECT_SIZES[-1]) -> list[str]:
    """Two markdown tables and their note."""
    with monban(None) as server:
        key = root_key(server)
        objects = object_rows(server, key, largest, calls)
        roles = role_rows(server, key, calls)
    return [
        "S3 ListObjectsV2 with `delimiter=/` (bench/scale_bench.py), ms per call (median of "
        f"{calls}); the keys are spread evenly under {PREFIXES} prefixes `d000/` … `d099/`:\n\n"
        "| bucket | whole bucket: 100 CommonPrefixes | `prefix=d099/&max-keys=100`: 100 keys "
        "| `start-after=d098/`: the last prefix |\n|---|---:|---:|---:|\n" + "\n".join(objects),
        f"IAM ListRoles, MaxItems=100, ms per call (median of {calls}; the last page's Marker names "
        "the 101st role from the end):\n\n"
        "| account | first page | last page |\n|---|---:|---:|\n" + "\n".join(roles),
        f"Scale figures: one client sending one request at a time, the answer read but not parsed; "
        f"{os.cpu_count()} CPUs, load average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}.",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--largest", type=int, default=OBJECT_SIZES[-1], help="the largest bucket, in keys")
    args = parser.parse_args()
    for table in run(args.calls, args.largest):
        print(f"\n{table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
