"""Real clients moving real files: the ``aws`` CLI (s3 cp/ls/sync, s3api) in a subprocess, and
boto3's transfer manager, with root, user and role-session credentials."""

from __future__ import annotations

import filecmp
import json
import os
import time
from pathlib import Path

from boto3.s3.transfer import TransferConfig

from tests.e2e.server import Server
from tests.e2e.test_s3_support import OWNER, assume, aws_cli, bucket, role, root, s3_client, user

MIB = 1024 * 1024


def _random_file(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        left = size
        while left:
            block = os.urandom(min(left, 4 * MIB))
            handle.write(block)
            left -= len(block)
    return path


def test_cli_copies_a_100_mb_file_both_ways(server: Server, tmp_path: Path) -> None:
    key = root(server)
    name = bucket(server, key)
    source = _random_file(tmp_path / "big.bin", 100 * MIB)
    aws_cli(server, key, "s3", "cp", str(source), f"s3://{name}/big.bin", "--only-show-errors")
    head = json.loads(aws_cli(server, key, "s3api", "head-object", "--bucket", name, "--key", "big.bin"))
    assert head["ContentLength"] == 100 * MIB
    assert head["ETag"].rstrip('"').split("-")[1].isdigit()  # the CLI used a multipart upload
    listing = aws_cli(server, key, "s3", "ls", f"s3://{name}/")
    assert "big.bin" in listing and str(100 * MIB) in listing
    target = tmp_path / "back.bin"
    aws_cli(server, key, "s3", "cp", f"s3://{name}/big.bin", str(target), "--only-show-errors")
    assert filecmp.cmp(source, target, shallow=False)


def test_cli_sync_and_s3api(server: Server, tmp_path: Path) -> None:
    _arn, key = user(server, OWNER, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    name = bucket(server, root(server))
    tree = tmp_path / "tree"
    (tree / "nested" / "deeper").mkdir(parents=True)
    files = {"top.txt": b"top", "nested/mid.json": b"{}", "nested/deeper/low.bin": os.urandom(1000)}
    an_hour_ago = time.time() - 3600  # sync compares sizes and modification times (seconds)
    for relative, data in files.items():
        (tree / relative).write_bytes(data)
        os.utime(tree / relative, (an_hour_ago, an_hour_ago))
    aws_cli(server, key, "s3", "sync", str(tree), f"s3://{name}/tree", "--only-show-errors")
    listed = json.loads(
        aws_cli(server, key, "s3api", "list-objects-v2", "--bucket", name, "--prefix", "tree/")
    )
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted(f"tree/{k}" for k in files)
    assert aws_cli(server, key, "s3", "sync", str(tree), f"s3://{name}/tree", "--dryrun").strip() == ""
    back = tmp_path / "back"
    aws_cli(server, key, "s3", "sync", f"s3://{name}/tree", str(back), "--only-show-errors")
    for relative, data in files.items():
        assert (back / relative).read_bytes() == data
    aws_cli(
        server,
        key,
        "s3api",
        "put-object",
        "--bucket",
        name,
        "--key",
        "api.txt",
        "--body",
        str(tree / "top.txt"),
        "--metadata",
        "origin=cli",
    )
    head = json.loads(aws_cli(server, key, "s3api", "head-object", "--bucket", name, "--key", "api.txt"))
    assert head["Metadata"] == {"origin": "cli"}
    aws_cli(server, key, "s3", "rm", f"s3://{name}/tree", "--recursive", "--only-show-errors")
    assert "Contents" not in json.loads(
        aws_cli(server, key, "s3api", "list-objects-v2", "--bucket", name, "--prefix", "tree/")
    )


def test_cli_with_role_session_credentials(server: Server, tmp_path: Path) -> None:
    owner = root(server)
    name = bucket(server, owner)
    role_arn = role(
        server,
        OWNER,
        f"arn:aws:iam::{OWNER}:root",
        {"Effect": "Allow", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]},
    )
    _arn, caller = user(server, OWNER, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn})
    session = assume(server, caller, role_arn)
    source = _random_file(tmp_path / "f.bin", 3 * MIB)
    aws_cli(
        server,
        session.key,
        "s3",
        "cp",
        str(source),
        f"s3://{name}/f.bin",
        "--only-show-errors",
        token=session.token,
    )
    out = aws_cli(server, session.key, "s3", "ls", f"s3://{name}/", token=session.token)
    assert "f.bin" in out


def test_transfer_manager_upload_and_download(server: Server, tmp_path: Path) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    source = _random_file(tmp_path / "tm.bin", 23 * MIB)
    config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)
    s3.upload_file(
        str(source), name, "tm.bin", Config=config, ExtraArgs={"ContentType": "application/x-test"}
    )
    head = s3.head_object(Bucket=name, Key="tm.bin")
    assert head["ContentLength"] == 23 * MIB and head["ETag"].endswith('-3"')
    target = tmp_path / "tm-back.bin"
    s3.download_file(name, "tm.bin", str(target), Config=config)
    assert filecmp.cmp(source, target, shallow=False)
