"""Gateway mode (issue 18): ``monban serve --object-store s3://BUCKET/PREFIX`` keeps object bytes
in another S3-compatible server — here moto's, started by the test with its authentication on, so
that it refuses anything monban did not sign right — while monban authenticates and authorizes
every request itself and keeps the object rows. Driven through boto3 and the aws CLI; with the
store stopped, reads and large writes are S3's 503 (with Retry-After), never a 500."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.server import REGION, Server, free_port, start_server
from tests.e2e.test_s3_support import aws_cli, error_of, object_files, root, s3_client, uid, user

MiB = 1024 * 1024
STORE_BUCKET = "monban-bytes"
PREFIX = "node-1"


@dataclass
class Moto:
    endpoint: str
    process: subprocess.Popen[bytes]
    key: tuple[str, str]

    def client(self, key: tuple[str, str] | None = None) -> Any:
        access, secret = key or self.key
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def blobs(self) -> dict[str, bytes]:
        """Every object under the prefix, and its bytes."""
        s3 = self.client()
        # no Prefix parameter: moto's signature check mis-reads an encoded "/" in a query
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=STORE_BUCKET).get("Contents", [])]
        return {k: s3.get_object(Bucket=STORE_BUCKET, Key=k)["Body"].read() for k in listed}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_moto() -> Moto:
    """moto's server with authentication on once its IAM user, key and bucket are made (the first
    four actions are free: INITIAL_NO_AUTH_ACTION_COUNT)."""
    port = free_port()
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4"}
    process = subprocess.Popen(
        [exe, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(endpoint + "/moto-api/", timeout=1):
                break
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "moto did not start"
            time.sleep(0.1)
    setup = {"aws_access_key_id": "AKIASETUP", "aws_secret_access_key": "setup", "region_name": REGION}
    iam = boto3.client("iam", endpoint_url=endpoint, **setup)
    iam.create_user(UserName="monban")
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="monban", PolicyName="all", PolicyDocument=json.dumps(allow))
    made = iam.create_access_key(UserName="monban")["AccessKey"]
    moto = Moto(endpoint, process, (made["AccessKeyId"], made["SecretAccessKey"]))
    moto.client().create_bucket(Bucket=STORE_BUCKET)
    return moto


def start_gateway(data_dir: Path, moto: Moto) -> Server:
    env = {
        "MONBAN_OBJECT_STORE_ACCESS_KEY_ID": moto.key[0],
        "MONBAN_OBJECT_STORE_SECRET_ACCESS_KEY": moto.key[1],
    }
    store = (f"s3://{STORE_BUCKET}/{PREFIX}", "--object-store-endpoint", moto.endpoint)
    return start_server(data_dir, "--object-store", *store, env=env)


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    running = start_moto()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, moto: Moto) -> Iterator[Server]:
    running = start_gateway(tmp_path_factory.mktemp("gateway"), moto)
    yield running
    running.stop()


def body(size: int, seed: str) -> bytes:
    block = hashlib.sha256(seed.encode()).digest() * 2048
    return (block * (size // len(block) + 1))[:size]


def test_moto_refuses_what_is_not_signed_with_its_key(moto: Moto) -> None:
    with pytest.raises(ClientError) as caught:
        moto.client((moto.key[0], "not-the-secret")).list_objects_v2(Bucket=STORE_BUCKET)
    assert error_of(caught)[1] == 403


def test_objects_stream_to_and_from_the_store(gateway: Server, moto: Moto) -> None:
    s3 = s3_client(gateway, root(gateway, next(iter(gateway.roots))))
    name = uid("gw")
    s3.create_bucket(Bucket=name)
    before = moto.blobs()
    data = body(9 * MiB + 5, "big")  # past the gateway's 8 MiB: a multipart upload to the store
    s3.put_object(Bucket=name, Key="big", Body=data)
    new = {k: v for k, v in moto.blobs().items() if k not in before}
    assert list(new.values()) == [data] and next(iter(new)).startswith(PREFIX + "/")
    assert not object_files(gateway)  # nothing in the data dir
    assert s3.get_object(Bucket=name, Key="big")["Body"].read() == data
    ranged = s3.get_object(Bucket=name, Key="big", Range=f"bytes={8 * MiB - 3}-{8 * MiB + 2}")
    assert ranged["Body"].read() == data[8 * MiB - 3 : 8 * MiB + 3]
    s3.put_object(Bucket=name, Key="small", Body=b"in its row")  # up to 64 KiB: the store is not used
    assert {k for k in moto.blobs() if k not in before} == set(new)
    s3.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "big"})
    assert s3.get_object(Bucket=name, Key="copy")["Body"].read() == data
    s3.delete_object(Bucket=name, Key="copy")
    s3.put_object(Bucket=name, Key="big", Body=b"overwritten")
    assert {k for k in moto.blobs() if k not in before} == set()  # replaced blobs leave the store


def test_multipart_and_part_copies_through_the_gateway(gateway: Server, moto: Moto) -> None:
    s3 = s3_client(gateway, root(gateway, next(iter(gateway.roots))))
    name = uid("gw")
    s3.create_bucket(Bucket=name)
    source = body(2 * MiB, "source")
    s3.put_object(Bucket=name, Key="source", Body=source)
    upload = s3.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    first = body(5 * MiB, "first")
    one = s3.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=1, Body=first)["ETag"]
    two = s3.upload_part_copy(
        Bucket=name,
        Key="mp",
        UploadId=upload,
        PartNumber=2,
        CopySource={"Bucket": name, "Key": "source"},
        CopySourceRange="bytes=100-1048675",
    )["CopyPartResult"]["ETag"]
    parts = [{"PartNumber": 1, "ETag": one}, {"PartNumber": 2, "ETag": two}]
    s3.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts})
    whole = first + source[100:1048676]
    assert s3.get_object(Bucket=name, Key="mp")["Body"].read() == whole
    assert s3.get_object(Bucket=name, Key="mp", PartNumber=2)["Body"].read() == source[100:1048676]
    aborted = s3.create_multipart_upload(Bucket=name, Key="gone")["UploadId"]
    s3.upload_part(Bucket=name, Key="gone", UploadId=aborted, PartNumber=1, Body=body(MiB, "gone"))
    kept = set(moto.blobs())
    s3.abort_multipart_upload(Bucket=name, Key="gone", UploadId=aborted)
    assert len(kept - set(moto.blobs())) == 1  # the aborted part's blob left the store


def test_the_aws_cli_through_the_gateway(gateway: Server, tmp_path: Path) -> None:
    key = root(gateway, next(iter(gateway.roots)))
    name = uid("gw")
    aws_cli(gateway, key, "s3", "mb", f"s3://{name}")
    local = tmp_path / "up.bin"
    local.write_bytes(body(20 * MiB + 7, "cli"))  # the CLI sends it as a multipart upload
    aws_cli(gateway, key, "s3", "cp", str(local), f"s3://{name}/cli.bin")
    aws_cli(gateway, key, "s3", "cp", f"s3://{name}/cli.bin", str(tmp_path / "down.bin"))
    assert (tmp_path / "down.bin").read_bytes() == local.read_bytes()
    out = tmp_path / "range.bin"
    aws_cli(
        gateway,
        key,
        "s3api",
        "get-object",
        "--bucket",
        name,
        "--key",
        "cli.bin",
        "--range",
        "bytes=5-9",
        str(out),
    )
    assert out.read_bytes() == local.read_bytes()[5:10]


def test_a_store_that_is_down_is_503_and_access_is_still_monbans(tmp_path: Path) -> None:
    moto = start_moto()
    try:
        gateway = start_gateway(tmp_path / "gateway", moto)
    except BaseException:
        moto.stop()
        raise
    try:
        owner = next(iter(gateway.roots))
        s3 = s3_client(gateway, root(gateway, owner))
        name = uid("gw")
        s3.create_bucket(Bucket=name)
        data = body(3 * MiB, "down")
        s3.put_object(Bucket=name, Key="k", Body=data)
        _arn, nobody = user(gateway, owner)  # no permissions
        moto.stop()
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=name, Key="k")
        assert error_of(caught)[:2] == ("ServiceUnavailable", 503)
        assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key="k2", Body=data)
        assert error_of(caught)[:2] == ("ServiceUnavailable", 503)
        with pytest.raises(ClientError) as caught:
            s3.copy_object(Bucket=name, Key="k3", CopySource={"Bucket": name, "Key": "k"})
        assert error_of(caught)[:2] == ("ServiceUnavailable", 503)
        with pytest.raises(ClientError) as caught:  # monban says no before it reaches for bytes
            s3_client(gateway, nobody).get_object(Bucket=name, Key="k")
        assert error_of(caught)[:2] == ("AccessDenied", 403)
        assert s3.head_object(Bucket=name, Key="k")["ContentLength"] == len(data)  # rows are monban's
        s3.put_object(Bucket=name, Key="small", Body=b"row")  # in its row: no store needed
        assert s3.get_object(Bucket=name, Key="small")["Body"].read() == b"row"
        assert "InternalError" not in gateway.log.read_text()
    finally:
        gateway.stop()
        moto.stop()
