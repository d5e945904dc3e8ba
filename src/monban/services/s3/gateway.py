"""Object bytes in an S3-compatible store: ``--object-store s3://BUCKET[/PREFIX]`` (gateway mode).

monban authenticates and authorizes every request as always and keeps the object rows; only the
bytes go to the store, each blob an object ``PREFIX/<id>`` there, signed with SigV4 by botocore
(the AWS SDK's own core) under the store's credentials, never the caller's:

- credentials: ``MONBAN_OBJECT_STORE_ACCESS_KEY_ID`` and ``MONBAN_OBJECT_STORE_SECRET_ACCESS_KEY``
  (and ``MONBAN_OBJECT_STORE_SESSION_TOKEN``) when set; else the profile of
  ``--object-store-profile``; else botocore's default chain (environment, shared files, instance
  role);
- ``--object-store-endpoint`` (default: AWS's endpoint of ``--object-store-region``), path-style
  addressing when an endpoint is given (MinIO, Ceph, moto…).

A blob streams out as it arrives: up to ``PART`` bytes it is one PutObject, beyond that a
multipart upload of ``PART``-sized parts (at most one part in memory per upload), completed at
``commit`` and aborted at ``discard``. A range streams back from a ranged GetObject per segment.
A store that is down, refuses or times out is ``Unavailable`` (503 to the client); a blob it does
not have is ``BlobMissing``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from monban.services.s3.storage import (
    GATEWAY_PREFIX,
    READ_CHUNK,
    BlobMissing,
    Piece,
    Segment,
    Unavailable,
    new_id,
    pieces,
)

PART = 8 * 1024 * 1024  # above S3's 5 MiB minimum part; a 5 GiB blob is 640 parts
PREFIX = GATEWAY_PREFIX
ENV_KEY = "MONBAN_OBJECT_STORE_ACCESS_KEY_ID"
ENV_SECRET = "MONBAN_OBJECT_STORE_SECRET_ACCESS_KEY"
ENV_TOKEN = "MONBAN_OBJECT_STORE_SESSION_TOKEN"
_MISSING = ("NoSuchKey", "404", "NoSuchUpload")
log = logging.getLogger("monban.s3")


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket[/prefix]`` as (bucket, key prefix ending in ``/`` or empty); ValueError else."""
    if not url.startswith("s3://"):
        raise ValueError(f"{url}: an object store URL is s3://BUCKET[/PREFIX]")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"{url}: the URL names no bucket")
    prefix = prefix.strip("/")
    return bucket, (prefix + "/" if prefix else "")


@contextlib.contextmanager
def reachable() -> Iterator[None]:
    """botocore's failures as the store's: a missing object is ``BlobMissing``, anything else
    (refused, timed out, 5xx, a 403 from a misconfigured store) ``Unavailable``."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if str(error.get("Code")) in _MISSING:
            raise BlobMissing(f"the object store has no such blob: {exc}") from exc
        code = "SlowDown" if error.get("Code") == "SlowDown" else "ServiceUnavailable"
        raise Unavailable(f"the object store answered {error.get('Code')}: {exc}", code) from exc
    except (BotoCoreError, OSError) as exc:
        if isinstance(exc, BlobMissing):
            raise
        raise Unavailable(f"the object store is unreachable: {exc}") from exc


class GatewayStore:
    """Blobs as objects of one bucket (and prefix) of an S3-compatible store."""

    def __init__(self, url: str, endpoint: str | None, region: str, profile: str | None = None) -> None:
        self.bucket, self.prefix = parse_url(url)
        session = botocore.session.Session(profile=profile)
        keys: dict[str, Any] = {}
        if os.environ.get(ENV_KEY) and os.environ.get(ENV_SECRET):
            keys = {
                "aws_access_key_id": os.environ[ENV_KEY],
                "aws_secret_access_key": os.environ[ENV_SECRET],
                "aws_session_token": os.environ.get(ENV_TOKEN) or None,
            }
        config = Config(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=64,
            s3={"addressing_style": "path" if endpoint else "auto"},
            request_checksum_calculation="when_required",  # monban verified the body already
            response_checksum_validation="when_required",
        )
        self.client: Any = session.create_client(
            "s3", region_name=region, endpoint_url=endpoint, config=config, **keys
        )

    def key(self, blob_id: str) -> str:
        return self.prefix + blob_id.removeprefix(PREFIX)

    def create(self) -> GatewayWriter:
        return GatewayWriter(self, PREFIX + new_id())

    def put(self, data: bytes) -> Segment:
        blob_id = PREFIX + new_id()
        with reachable():
            self.client.put_object(Bucket=self.bucket, Key=self.key(blob_id), Body=data)
        return Segment(blob_id, len(data))

    def delete(self, blob_ids: Iterable[str]) -> None:
        """Delete the blobs' objects, a thousand a request; a store that is down now leaves them
        (unreferenced), logged."""
        keys = [{"Key": self.key(b)} for b in blob_ids if b.startswith(PREFIX)]
        for at in range(0, len(keys), 1000):
            try:
                with reachable():
                    self.client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": keys[at : at + 1000], "Quiet": True}
                    )
            except (Unavailable, BlobMissing) as exc:
                log.warning("%d blobs left in the object store: %s", len(keys[at : at + 1000]), exc)

    def read(self, segments: tuple[Segment, ...], start: int, end: int) -> bytes:
        return self.open_range(segments, start, end).read_all()

    def open_range(self, segments: tuple[Segment, ...], start: int, end: int) -> GatewayRange:
        return self.open_pieces(pieces(segments, start, end))

    def open_pieces(self, parts: list[Piece]) -> GatewayRange:
        """The first piece's GET is sent now (so that a missing blob is ``BlobMissing`` before any
        byte is answered), the others' as the reader reaches them."""
        reader = GatewayRange(self, parts)
        if parts:
            reader.first = self.get(*parts[0])
        return reader

    def get(self, segment: Segment, offset: int, length: int) -> Any:
        """The body (a botocore StreamingBody) of bytes ``offset``..+``length`` of a blob."""
        span = f"bytes={offset}-{offset + length - 1}"
        with reachable():
            found = self.client.get_object(Bucket=self.bucket, Key=self.key(segment.blob_id), Range=span)
        return found["Body"]


class GatewayWriter:
    """A blob on its way to the store: one PutObject, or a multipart upload past ``PART`` bytes."""

    def __init__(self, store: GatewayStore, blob_id: str) -> None:
        self.blob_id = blob_id
        self.size = 0
        self._store = store
        self._key = store.key(blob_id)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.size += len(data)
        self._buffer += data
        while len(self._buffer) >= PART:
            self._send_part(bytes(self._buffer[:PART]))
            del self._buffer[:PART]

    def _send_part(self, data: bytes) -> None:
        client, bucket = self._store.client, self._store.bucket
        with reachable():
            if self._upload_id is None:
                self._upload_id = client.create_multipart_upload(Bucket=bucket, Key=self._key)["UploadId"]
            number = len(self._parts) + 1
            sent = client.upload_part(
                Bucket=bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=data
            )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def commit(self) -> Segment:
        client, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:
            with reachable():
                client.put_object(Bucket=bucket, Key=self._key, Body=bytes(self._buffer))
        else:
            if self._buffer:
                self._send_part(bytes(self._buffer))
            with reachable():
                done = {"Parts": self._parts}
                client.complete_multipart_upload(
                    Bucket=bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload=done
                )
        self._buffer.clear()
        return Segment(self.blob_id, self.size)

    def discard(self) -> None:
        """Abort the multipart upload (its parts are the store's to drop); a failure is logged."""
        self._buffer.clear()
        if self._upload_id is not None:
            try:
                with reachable():
                    self._store.client.abort_multipart_upload(
                        Bucket=self._store.bucket, Key=self._key, UploadId=self._upload_id
                    )
            except (Unavailable, BlobMissing) as exc:
                log.warning("multipart upload of %s left in the object store: %s", self.blob_id, exc)


class GatewayRange:
    """Bytes of blobs in the store, streamed from one ranged GET per piece."""

    def __init__(self, store: GatewayStore, parts: list[Piece]) -> None:
        self._store = store
        self._parts = parts
        self.first: Any = None

    def chunks(self, size: int = READ_CHUNK) -> Iterator[bytes]:
        try:
            for index, (segment, offset, length) in enumerate(self._parts):
                body = self.first if index == 0 else self._store.get(segment, offset, length)
                self.first = None
                got = 0
                try:
                    with reachable():
                        for data in body.iter_chunks(size):
                            got += len(data)
                            yield data
                finally:
                    body.close()
                if got != length:
                    raise Unavailable(f"the object store sent {got} bytes of {segment.blob_id}, not {length}")
        finally:
            self.close()

    def read_all(self) -> bytes:
        return b"".join(self.chunks(1024 * 1024))

    def close(self) -> None:
        if self.first is not None:
            self.first.close()
            self.first = None
        self._parts = []
