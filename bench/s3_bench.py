"""S3 GetObject / PutObject of 4 KiB objects with role-session credentials at 32 connections (wrk
replaying presigned URLs), monban vs moto's server (auth on) in the same run; then the server's
memory (VmRSS) before and after a 1 GiB upload and a 1 GiB download.

Nothing here is a pass/fail threshold: the figures are reported, as ratios to the peer.
Run: ``.venv/bin/python bench/s3_bench.py`` (needs wrk: ``apt-get install -y wrk``).
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import HEADER, Running, WrkResult, free_port, have_wrk, moto, row, wait_http, wrk

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


@contextmanager
def monban_server() -> Iterator[Running]:
    """A monban server on a fresh data dir (no bootstrap file: everything is set up by API)."""
    with tempfile.TemporaryDirectory(prefix="monban-s3-bench-") as tmp:
        port = free_port()
        cmd = [sys.executable, "-m", "monban.cli", "serve", "--port", str(port), "--data-dir", tmp]
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        running = Running(f"http://127.0.0.1:{port}", process, Path(tmp))
        try:
            wait_http(running.endpoint + "/_monban/health")
            yield running
        finally:
            running.stop()


def _monban_root(server: Running) -> tuple[str, str]:
    assert server.data_dir is not None
    parser = configparser.ConfigParser()
    parser.read(server.data_dir / "credentials")
    section = parser[parser.sections()[0]]
    return section["aws_access_key_id"], section["aws_secret_access_key"]


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


def measure(
    endpoint: str, key: tuple[str, str], token: str, bucket: str, seconds: int
) -> tuple[WrkResult, WrkResult]:
    s3 = _client("s3", endpoint, key, token)
    s3.put_object(Bucket=bucket, Key="get-4k", Body=BODY)
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "get-4k"}, ExpiresIn=3600
    )
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "put-4k"}, ExpiresIn=3600
    )
    body = BODY.decode("ascii")
    get = wrk(get_url, "GET", "", {}, seconds=seconds)
    put = wrk(put_url, "PUT", body, {"Content-Type": "application/octet-stream"}, seconds=seconds)
    return get, put


def _setup_monban(server: Running, bucket: str) -> tuple[tuple[str, str], str]:
    root = _monban_root(server)
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
        f"| 1 GiB PutObject: server VmRSS {before // 1024} → {after_put // 1024} MiB "
        f"(+{(after_put - before) // 1024} MiB; budget 64) |"
    )
    lines.append(
        f"| 1 GiB GetObject: server VmRSS {after_put // 1024} → {after_get // 1024} MiB "
        f"(+{(after_get - after_put) // 1024} MiB; budget 64) |"
    )
    return lines


def run(seconds: int = 10) -> list[str]:
    bucket = f"bench-{int(time.time())}"
    with moto() as peer:
        key, token = _setup_moto(peer, bucket)
        moto_get, moto_put = measure(peer.endpoint, key, token, bucket, seconds)
    with monban_server() as server:
        key, token = _setup_monban(server, bucket)
        get, put = measure(server.endpoint, key, token, bucket, seconds)
        rows = [
            row("S3 GetObject 4 KiB (role session, presigned)", get, moto_get),
            row("S3 PutObject 4 KiB (role session, presigned)", put, moto_put),
        ]
        rows += memory(server, bucket)
    return rows


def main() -> int:
    if not have_wrk():
        print("wrk is not installed: `apt-get install -y wrk` (Debian), then run this again.")
        return 1
    print(HEADER)
    for line in run():
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
