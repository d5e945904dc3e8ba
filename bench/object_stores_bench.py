"""Object bytes where they live: PutObject and GetObject throughput (MiB/s) of 1 MiB, 64 MiB and
512 MiB objects through monban on PostgreSQL with ``--object-store database`` (1 MiB chunks in the
database) and with ``--object-store files`` (the data dir), and on SQLite (files) for reference.

One client (boto3, one request per object, bodies streamed from and to a temporary file), one
server worker, on the same machine as PostgreSQL; each figure is the median of a few transfers.
Nothing here is a pass/fail threshold. Needs a PostgreSQL server that may create databases:

    MONBAN_TEST_POSTGRES_URL=postgresql+psycopg://user:pass@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/object_stores_bench.py [--sizes 1,64,512]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.server import drop_database

from bench.common import REGION, monban, root_key

MiB = 1024 * 1024


@contextmanager
def postgres(admin: str) -> Iterator[str]:
    """A fresh database, dropped afterwards; its URL."""
    import psycopg

    plain = admin.replace("postgresql+psycopg://", "postgresql://")
    name = f"monban_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        drop_database(plain, name)


def _client(endpoint: str, key: tuple[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}, read_timeout=600),
    )


def transfers(
    endpoint: str, key: tuple[str, str], source: Path, size_mib: int, rounds: int
) -> tuple[float, float]:
    """Median PutObject and GetObject MiB/s of ``source``."""
    s3 = _client(endpoint, key)
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    puts, gets = [], []
    for n in range(rounds):
        with source.open("rb") as handle:
            started = time.perf_counter()
            s3.put_object(Bucket=bucket, Key=f"k{n}", Body=handle)
            puts.append(size_mib / (time.perf_counter() - started))
        started = time.perf_counter()
        got = 0
        for chunk in s3.get_object(Bucket=bucket, Key=f"k{n}")["Body"].iter_chunks(MiB):
            got += len(chunk)
        gets.append(size_mib / (time.perf_counter() - started))
        assert got == size_mib * MiB
        s3.delete_object(Bucket=bucket, Key=f"k{n}")
    return statistics.median(puts), statistics.median(gets)


def run(admin: str, sizes: list[int]) -> list[str]:
    rows = ["| object | store | PutObject MiB/s | GetObject MiB/s |", "|---|---|---:|---:|"]
    with tempfile.TemporaryDirectory(prefix="monban-objects-") as tmp:
        for size in sizes:
            source = Path(tmp) / f"{size}.bin"
            with source.open("wb") as handle:
                for _ in range(size):
                    handle.write(os.urandom(MiB))
            rounds = 5 if size <= 64 else 2
            for label, extra in (
                ("PostgreSQL, --object-store database", ()),
                ("PostgreSQL, --object-store files", ("--object-store", "files")),
                ("SQLite, files", None),
            ):
                with postgres(admin) as url:  # a database per server: each has its own master key
                    options = ("--database", url, *extra) if extra is not None else ()
                    with monban(None, *options) as server:
                        put, get = transfers(server.endpoint, root_key(server), source, size, rounds)
                rows.append(f"| {size} MiB | {label} | {put:,.0f} | {get:,.0f} |")
            source.unlink()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1,64,512", help="object sizes in MiB (default: %(default)s)")
    args = parser.parse_args()
    admin = os.environ.get("MONBAN_TEST_POSTGRES_URL")
    if not admin:
        print(
            "set MONBAN_TEST_POSTGRES_URL to a PostgreSQL server that may create databases", file=sys.stderr
        )
        return 2
    print("\n".join(run(admin, [int(s) for s in args.sizes.split(",")])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
