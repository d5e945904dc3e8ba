"""The AWS SDK for JavaScript v3 (``@aws-sdk/client-s3``, installed in tests/js by
``npm ci --prefix tests/js``) against the server, with role-session credentials from STS."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.server import Server
from tests.e2e.test_s3_support import OWNER, assume, bucket, role, root, s3_client, user

JS = Path(__file__).resolve().parents[1] / "js"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the JavaScript SDK test needs Node.js 18 or later)")
    if not (JS / "node_modules" / "@aws-sdk" / "client-s3").is_dir():
        pytest.fail("run `npm ci --prefix tests/js` first (make test does)")
    return node


def _run(server: Server, key: tuple[str, str], token: str | None, name: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": key[0], "AWS_SECRET_ACCESS_KEY": key[1], "AWS_REGION": "us-east-1"})
    if token:
        env["AWS_SESSION_TOKEN"] = token
    done = subprocess.run(
        [_node(), "s3_roundtrip.mjs", server.endpoint, name],
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _check(server: Server, result: dict[str, object], name: str) -> None:
    assert result["putETag"] == f'"{hashlib.md5(b"hello from javascript").hexdigest()}"'
    assert result["body"] == "hello from javascript"
    assert result["metadata"] == {"sdk": "js-v3"}
    assert result["contentLength"] == len("hello from javascript")
    assert result["streamedLength"] == 200 * 1024
    assert str(result["multipartETag"]).endswith('-2"')
    assert result["keys"] == ["js/hello.txt", "js/multi.bin", "js/streamed.bin"]
    assert result["afterDelete"] == "NoSuchKey"
    streamed = s3_client(server, root(server)).get_object(Bucket=name, Key="js/streamed.bin")["Body"].read()
    assert streamed == b"s" * (200 * 1024)


def test_javascript_sdk_with_role_session(server: Server) -> None:
    name = bucket(server, root(server))
    role_arn = role(
        server,
        OWNER,
        f"arn:aws:iam::{OWNER}:root",
        {"Effect": "Allow", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]},
    )
    _arn, caller = user(server, OWNER, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn})
    session = assume(server, caller, role_arn)
    _check(server, _run(server, session.key, session.token, name), name)


def test_javascript_sdk_with_user_keys(server: Server) -> None:
    name = bucket(server, root(server))
    _arn, key = user(
        server, OWNER, {"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::{name}*"}
    )
    _check(server, _run(server, key, None, name), name)
