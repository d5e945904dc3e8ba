"""S3 GetObject / PutObject of 4 KiB objects with role-session credentials at 32 connections (wrk
replaying one SigV4 header-signed request, ``x-amz-content-sha256`` of the body and the session
token included), monban (--workers 1 and 2) vs moto's server (auth on) in the same run; then the
server's memory (VmRSS, one worker) before and after a 1 GiB upload and a 1 GiB download.

Header auth, not presigned URLs: with its authentication on, moto (5.2) answers every presigned
URL with HTTP 500, so a presigned run would time moto's error page.

Nothing here is a pass/fail threshold: the figures are reported, as ratios to the peer.
Run: ``.venv/bin/python bench/s3_bench.py [--seconds 10]`` (needs wrk: ``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Running,
    WrkResult,
    measure,
    monban,
    moto,
    root_key,
    row,
    signed,
    wrk_main,
)

REGION = "us-east-1"
BODY = (b"monban-s3-bench-" * 256)[:4096]  # ASCII: wrk's Lua script carries it as a string
GIB = 1024**3


def _client(service: str, endpoint: str, key: tuple[str, str], token: str | None = None) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        aws_session_token=token,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def role_session(endpoint: str, admin: tuple[str, str], bucket: str) -> tuple[tuple[str, str], str]:
    """A user allowed to assume a role that may use ``bucket``; that role's session credentials."""
    iam = _client("iam", endpoint, admin)
    suffix = str(int(time.time()))
    user_arn = iam.create_user(UserName=f"bench-{suffix}")["User"]["Arn"]
    iam.put_user_policy(
        UserName=f"bench-{suffix}",
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["iam:*", "sts:AssumeRole", "s3:*"], "Resource": "*"}
                ],
            }
        ),
    )
    created = iam.create_access_key(UserName=f"bench-{suffix}")["AccessKey"]
    user_key = (created["AccessKeyId"], created["SecretAccessKey"])
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": user_arn}}],
    }
    iam = _client("iam", endpoint, user_key)
    arn = iam.create_role(RoleName=f"bench-{suffix}", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    iam.put_role_policy(
        RoleName=f"bench-{suffix}",
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:*",
                        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    }
                ],
            }
        ),
    )
    for _ in range(50):  # IAM changes may take a moment on the peer
        try:
            creds = _client("sts", endpoint, user_key).assume_role(RoleArn=arn, RoleSessionName="bench")
            break
        except Exception as error:
            failure = error
            time.sleep(0.1)
    else:
        raise RuntimeError(f"AssumeRole failed: {failure}")
    c = creds["Credentials"]
    return (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"]


def get_and_put(
    endpoint: str, key: tuple[str, str], token: str, bucket: str, who: str, seconds: int
) -> tuple[WrkResult, WrkResult]:
    """GetObject of a 4 KiB object, then PutObject of 4 KiB over the same key again and again."""
    _client("s3", endpoint, key, token).put_object(Bucket=bucket, Key="get-4k", Body=BODY)
    base = f"{endpoint}/{bucket}"
    get = signed("GET", f"{base}/get-4k", "s3", key, token)
    put = signed(
        "PUT",
        f"{base}/put-4k",
        "s3",
        key,
        token,
        BODY.decode("ascii"),
        {"Content-Type": "application/octet-stream"},
    )
    return measure(get, who, seconds), measure(put, who, seconds)


def _setup_monban(server: Running, bucket: str) -> tuple[tuple[str, str], str]:
    root = root_key(server)
    _client("s3", server.endpoint, root).create_bucket(Bucket=bucket)
    return role_session(server.endpoint, root, bucket)


def _setup_moto(peer: Running, bucket: str) -> tuple[tuple[str, str], str]:
    admin = ("AKIAIOSFODNN7EXAMPLE", "x" * 40)  # the first INITIAL_NO_AUTH_ACTION_COUNT calls are unsigned-ok
    key, token = role_session(peer.endpoint, admin, bucket)
    _client("s3", peer.endpoint, key, token).create_bucket(Bucket=bucket)
    return key, token


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def memory(server: Running, bucket: str) -> list[str]:
    """VmRSS growth of the server across a 1 GiB PutObject and a 1 GiB GetObject."""
    key, token = _setup_monban(server, bucket + "-mem")
    s3 = _client("s3", server.endpoint, key, token)
    lines = []
    with tempfile.TemporaryDirectory(prefix="monban-s3-1g-") as tmp:
        source = Path(tmp) / "1g.bin"
        with source.open("wb") as handle:
            for _ in range(GIB // (8 * 1024 * 1024)):
                handle.write(os.urandom(8 * 1024 * 1024))
        before = rss_kib(server.process.pid)
        with source.open("rb") as handle:
            s3.put_object(Bucket=bucket + "-mem", Key="1g", Body=handle)
        after_put = rss_kib(server.process.pid)
        target = Path(tmp) / "back.bin"
        with target.open("wb") as handle:
            for chunk in s3.get_object(Bucket=bucket + "-mem", Key="1g")["Body"].iter_chunks(1024 * 1024):
                handle.write(chunk)
        after_get = rss_kib(server.process.pid)
        assert target.stat().st_size == GIB
    lines.append(
        f"1 GiB PutObject: server VmRSS {before // 1024} → {after_put // 1024} MiB "
        f"(+{(after_put - before) // 1024} MiB; budget 64)."
    )
    lines.append(
        f"1 GiB GetObject: server VmRSS {after_put // 1024} → {after_get // 1024} MiB "
        f"(+{(after_get - after_put) // 1024} MiB; budget 64)."
    )
    return lines


def run(seconds: int = 10, with_memory: bool = True) -> list[str]:
    bucket = f"bench-{int(time.time())}"
    with moto() as peer:
        key, token = _setup_moto(peer, bucket)
        moto_get, moto_put = get_and_put(peer.endpoint, key, token, bucket, "moto", seconds)
    rows, notes = [], []
    for workers in (1, 2):
        with monban(None, "--workers", str(workers)) as server:
            key, token = _setup_monban(server, bucket)
            get, put = get_and_put(server.endpoint, key, token, bucket, "monban", seconds)
            rows.append(row(f"S3 GetObject 4 KiB (role session), --workers {workers}", get, moto_get))
            rows.append(row(f"S3 PutObject 4 KiB (role session), --workers {workers}", put, moto_put))
            if with_memory and workers == 1:  # one process: its VmRSS is the worker's
                notes += memory(server, bucket)
    return rows + notes


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-memory", action="store_true", help="skip the 1 GiB transfers")


def main() -> int:
    return wrk_main(__doc__, lambda args: run(args.seconds, not args.no_memory), _options)


if __name__ == "__main__":
    sys.exit(main())
