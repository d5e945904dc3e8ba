"""Objects any node serves (issue 18): two monban nodes, each with its own data dir, on one
PostgreSQL database keep object bytes in it (``--object-store database``, the default there), so
whatever goes in through one node comes out of the other — whole, by Range, multipart with parts
sent to alternate nodes, copied; an interrupted or killed upload leaves nothing; and bytes a node
cannot reach (a file on another node's disk, a chunk gone) are S3's 503, never a 500."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server, postgres_database, start_server
from tests.e2e.test_crash_safety import kill_all
from tests.e2e.test_s3_support import (
    aws_cli,
    database_blobs,
    error_of,
    object_files,
    s3_client,
    signed_headers,
    uid,
)

pytestmark = pytest.mark.postgres
MiB = 1024 * 1024


def body(size: int, seed: str) -> bytes:
    block = hashlib.sha256(seed.encode()).digest() * 2048  # 64 KiB, not a repeat of 1 MiB chunks
    return (block * (size // len(block) + 1))[:size]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    admin = os.environ.get("MONBAN_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("needs a PostgreSQL server: MONBAN_TEST_POSTGRES_URL")
    with postgres_database(admin) as url:
        yield url


@pytest.fixture(scope="module")
def master_key() -> dict[str, str]:
    return {"MONBAN_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, database: str, master_key: dict[str, str]
) -> Iterator[tuple[Server, Server]]:
    first = start_server(tmp_path_factory.mktemp("node-a"), "--database", database, env=master_key)
    try:
        second = start_server(tmp_path_factory.mktemp("node-b"), "--database", database, env=master_key)
    except BaseException:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


def client(server: Server) -> Any:
    return s3_client(server, next(iter(server.roots.values())))


def sql(url: str, query: str, *args: object) -> list[tuple[Any, ...]]:
    """Run ``query`` on the database (committed); its rows, if any."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        cursor = connection.execute(query, args)
        return list(cursor.fetchall()) if cursor.description is not None else []


def test_an_object_put_through_one_node_reads_through_the_other(nodes: tuple[Server, Server]) -> None:
    a, b = nodes
    name = uid("nodes")
    client(a).create_bucket(Bucket=name)
    data = body(5 * MiB + 3, "whole")
    client(a).put_object(Bucket=name, Key="big", Body=data)
    assert client(b).get_object(Bucket=name, Key="big")["Body"].read() == data
    ranged = client(b).get_object(Bucket=name, Key="big", Range=f"bytes={MiB - 5}-{2 * MiB + 4}")
    assert ranged["Body"].read() == data[MiB - 5 : 2 * MiB + 5]
    assert ranged["ContentRange"] == f"bytes {MiB - 5}-{2 * MiB + 4}/{len(data)}"
    assert client(b).get_object(Bucket=name, Key="big", Range="bytes=-4")["Body"].read() == data[-4:]
    assert client(b).head_object(Bucket=name, Key="big")["ContentLength"] == len(data)
    for node in nodes:  # the bytes are in the database, not in a data dir
        assert not [p for p in object_files(node) if isinstance(p, Path)]
    download = a.data_dir / "downloaded"
    aws_cli(b, b.roots[next(iter(b.roots))], "s3", "cp", f"s3://{name}/big", str(download))
    assert download.read_bytes() == data


def test_multipart_with_parts_sent_to_alternate_nodes(nodes: tuple[Server, Server]) -> None:
    a, b = nodes
    name = uid("nodes")
    client(a).create_bucket(Bucket=name)
    source = body(6 * MiB, "source")
    client(a).put_object(Bucket=name, Key="source", Body=source)
    parts = [body(5 * MiB, "p1"), body(5 * MiB + 17, "p2"), source[MiB : 6 * MiB], body(MiB // 3, "p4")]
    upload = client(a).create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    etags = [
        client(a).upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=1, Body=parts[0])["ETag"],
        client(b).upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=2, Body=parts[1])["ETag"],
        client(b).upload_part_copy(  # the source's bytes went in through a, the copy through b
            Bucket=name,
            Key="mp",
            UploadId=upload,
            PartNumber=3,
            CopySource={"Bucket": name, "Key": "source"},
            CopySourceRange=f"bytes={MiB}-{6 * MiB - 1}",
        )["CopyPartResult"]["ETag"],
        client(a).upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=4, Body=parts[3])["ETag"],
    ]
    listed = client(b).list_parts(Bucket=name, Key="mp", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(n + 1, len(d)) for n, d in enumerate(parts)]
    done = [{"PartNumber": n + 1, "ETag": etag} for n, etag in enumerate(etags)]
    client(b).complete_multipart_upload(
        Bucket=name, Key="mp", UploadId=upload, MultipartUpload={"Parts": done}
    )
    whole = b"".join(parts)
    assert client(a).get_object(Bucket=name, Key="mp")["Body"].read() == whole
    across = client(a).get_object(Bucket=name, Key="mp", Range=f"bytes={5 * MiB - 2}-{5 * MiB + 1}")
    assert across["Body"].read() == whole[5 * MiB - 2 : 5 * MiB + 2]
    assert client(b).get_object(Bucket=name, Key="mp", PartNumber=3)["Body"].read() == parts[2]


def test_copies_and_deletes_across_nodes(nodes: tuple[Server, Server]) -> None:
    a, b = nodes
    name = uid("nodes")
    client(a).create_bucket(Bucket=name)
    data = body(2 * MiB + 1, "copy")
    before = database_blobs(a.database or "")
    client(a).put_object(Bucket=name, Key="src", Body=data)
    client(b).copy_object(Bucket=name, Key="dst", CopySource={"Bucket": name, "Key": "src"})
    assert client(a).get_object(Bucket=name, Key="dst")["Body"].read() == data
    assert len(database_blobs(a.database or "") - before) == 2  # a copy is a blob of its own
    client(b).put_object(Bucket=name, Key="src", Body=b"small now")  # the overwrite frees its chunks
    client(a).delete_object(Bucket=name, Key="dst")
    assert database_blobs(a.database or "") - before == set()
    assert client(b).get_object(Bucket=name, Key="src")["Body"].read() == b"small now"
    with pytest.raises(ClientError) as caught:
        client(b).get_object(Bucket=name, Key="dst")
    assert error_of(caught)[:2] == ("NoSuchKey", 404)


def open_writers(url: str) -> int:
    """Sessions of the database that are inside a transaction writing chunks."""
    database = url.rsplit("/", 1)[1]
    rows = sql(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state LIKE 'idle in transaction%%' "
        "AND query LIKE 'INSERT INTO s3_blob_chunks%%'",
        database,
    )
    return int(rows[0][0])


def start_slow_put(server: Server, bucket: str, key: str, size: int, sent: int) -> socket.socket:
    """A PUT of ``size`` bytes of which only ``sent`` are sent (the connection left open)."""
    path = f"/{bucket}/{key}"
    headers = signed_headers(
        server,
        "PUT",
        path,
        next(iter(server.roots.values())),
        headers={"Content-Length": str(size)},
        payload_hash="UNSIGNED-PAYLOAD",
    )
    parts = urlsplit(server.endpoint)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    headers.setdefault("Host", parts.netloc)
    head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode() + body(sent, key))
    return sock


def wait_for(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.parametrize("how", ["client-gone", "server-killed"])
def test_an_interrupted_put_leaves_nothing(
    nodes: tuple[Server, Server],
    database: str,
    master_key: dict[str, str],
    tmp_path: Path,
    how: str,
) -> None:
    a, b = nodes
    name = uid("nodes")
    client(a).create_bucket(Bucket=name)
    victim = start_server(tmp_path / "victim", "--database", database, env=master_key)
    chunks_before = sql(database, "SELECT count(*) FROM s3_blob_chunks")[0][0]
    sock = start_slow_put(victim, name, "half", 32 * MiB, 6 * MiB)
    try:
        wait_for(lambda: open_writers(database) == 1)  # chunks are being written, uncommitted
        if how == "server-killed":
            kill_all(victim)
    finally:
        sock.close()
        victim.stop()
    wait_for(lambda: open_writers(database) == 0)  # PostgreSQL rolled the transaction back
    assert sql(database, "SELECT count(*) FROM s3_blob_chunks")[0][0] == chunks_before
    assert client(b).list_objects_v2(Bucket=name)["KeyCount"] == 0


def test_bytes_a_node_cannot_reach_are_503(
    nodes: tuple[Server, Server], database: str, master_key: dict[str, str], tmp_path: Path
) -> None:
    a, b = nodes
    name = uid("nodes")
    client(a).create_bucket(Bucket=name)
    only_files = ("--database", database, "--object-store", "files")
    filer = start_server(tmp_path / "filer", *only_files, env=master_key)
    try:
        data = body(200 * 1024, "local")
        client(filer).put_object(Bucket=name, Key="on-filer", Body=data)  # a file in filer's data dir
        assert client(filer).get_object(Bucket=name, Key="on-filer")["Body"].read() == data
        # filer still reads what the other nodes put in the database
        client(a).put_object(Bucket=name, Key="in-db", Body=body(MiB + 1, "db"))
        assert client(filer).get_object(Bucket=name, Key="in-db")["Body"].read() == body(MiB + 1, "db")
    finally:
        filer.stop()
    with pytest.raises(ClientError) as caught:
        client(b).get_object(Bucket=name, Key="on-filer")
    assert error_of(caught)[:2] == ("ServiceUnavailable", 503)
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
    assert client(b).head_object(Bucket=name, Key="on-filer")["ContentLength"] == len(data)  # metadata
    segments = sql(database, "SELECT blobs FROM s3_objects WHERE bucket = %s AND key = 'in-db'", name)
    ((blob, _size),) = json.loads(segments[0][0])
    sql(database, "DELETE FROM s3_blob_chunks WHERE blob_id = %s AND chunk_no = 1", blob)  # its 2nd MiB
    with pytest.raises(ClientError) as caught:
        client(a).get_object(Bucket=name, Key="in-db")
    assert error_of(caught)[:2] == ("ServiceUnavailable", 503)
    assert client(a).get_object(Bucket=name, Key="in-db", Range="bytes=0-9")["Body"].read() == body(10, "db")


def rename_database(admin: str, old: str, new: str) -> None:
    """Rename a database, ending this role's sessions on it first (retried while one lingers)."""
    deadline = time.monotonic() + 60
    while True:
        sql(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", old)
        try:
            sql(admin, f'ALTER DATABASE "{old}" RENAME TO "{new}"')
            return
        except psycopg.errors.ObjectInUse:
            assert time.monotonic() < deadline, f"{old} stays in use"
            time.sleep(0.5)


def test_a_database_out_of_reach_is_503(master_key: dict[str, str], tmp_path: Path) -> None:
    admin = os.environ.get("MONBAN_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("needs a PostgreSQL server: MONBAN_TEST_POSTGRES_URL")
    with postgres_database(admin) as url:
        node = start_server(tmp_path / "node", "--database", url, env=master_key)
        try:
            name = uid("nodes")
            client(node).create_bucket(Bucket=name)
            client(node).put_object(Bucket=name, Key="k", Body=body(2 * MiB, "k"))
            database = url.rsplit("/", 1)[1]
            rename_database(admin, database, database + "_away")  # the node's connections fail
            try:
                with pytest.raises(ClientError) as caught:
                    client(node).get_object(Bucket=name, Key="k")
                assert error_of(caught)[:2] == ("ServiceUnavailable", 503)
                assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
            finally:
                rename_database(admin, database + "_away", database)
            assert client(node).get_object(Bucket=name, Key="k")["Body"].read() == body(2 * MiB, "k")
        finally:
            node.stop()
