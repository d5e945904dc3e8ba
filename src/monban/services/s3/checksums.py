"""S3's additional checksums (Amazon S3 User Guide, "Checking object integrity").

CRC32 (zlib), CRC32C (Castagnoli), CRC64NVME, SHA1 and SHA256; each value travels base64-encoded
big-endian in ``x-amz-checksum-<algorithm>``. CRC32C and CRC64NVME use ``awscrt`` when it is
installed and a table-driven pure-Python version otherwise (correct, slower).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import zlib
from collections.abc import Callable
from typing import Any, Protocol

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
HEADERS = {f"x-amz-checksum-{name.lower()}": name for name in ALGORITHMS}


def _crt() -> Any:
    """``awscrt.checksums`` when installed (botocore[crt]), else None."""
    try:  # pragma: no cover - depends on the environment
        return importlib.import_module("awscrt.checksums")
    except ImportError:  # pragma: no cover
        return None


crt = _crt()


def _table(poly: int) -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        out.append(crc)
    return tuple(out)


_CRC32C = _table(0x82F63B78)
_CRC64NVME = _table(0x9A6C9329AC4BC9B5)


def _pure(table: tuple[int, ...], mask: int) -> Callable[[bytes, int], int]:
    def update(data: bytes, crc: int) -> int:
        crc ^= mask
        for byte in data:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        return crc ^ mask

    return update


_crc32c: Callable[[bytes, int], int] = crt.crc32c if crt is not None else _pure(_CRC32C, 0xFFFFFFFF)
_crc64nvme: Callable[[bytes, int], int] = (
    crt.crc64nvme if crt is not None and hasattr(crt, "crc64nvme") else _pure(_CRC64NVME, (1 << 64) - 1)
)


class Hasher(Protocol):
    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    def __init__(self, fn: Callable[[bytes, int], int], width: int) -> None:
        self._fn = fn
        self._width = width
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = self._fn(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


def _crc32(data: bytes, crc: int) -> int:
    return zlib.crc32(data, crc) & 0xFFFFFFFF


def new(algorithm: str) -> Hasher:
    """A running checksum of ``algorithm`` (one of ``ALGORITHMS``)."""
    if algorithm == "CRC32":
        return _Crc(_crc32, 4)
    if algorithm == "CRC32C":
        return _Crc(_crc32c, 4)
    if algorithm == "CRC64NVME":
        return _Crc(_crc64nvme, 8)
    if algorithm == "SHA1":
        return hashlib.sha1()
    if algorithm == "SHA256":
        return hashlib.sha256()
    raise ValueError(algorithm)


def encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def compute(algorithm: str, data: bytes) -> str:
    hasher = new(algorithm)
    hasher.update(data)
    return encode(hasher.digest())


def composite(algorithm: str, part_values: list[str]) -> str:
    """A multipart object's COMPOSITE checksum: the checksum of the parts' raw checksums, ``-N``."""
    hasher = new(algorithm)
    for value in part_values:
        hasher.update(base64.b64decode(value))
    return f"{encode(hasher.digest())}-{len(part_values)}"
