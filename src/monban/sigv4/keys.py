"""Signing keys (AWS SigV4, "Derive a signing key") and a bounded cache of them."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict

from monban.sigv4.model import TERMINATOR

_BLOCK = 64  # SHA-256 block size (bytes)
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    k_date = _hmac(("AWS4" + secret).encode("utf-8", "surrogatepass"), date)
    return _hmac(_hmac(_hmac(k_date, region), service), TERMINATOR)


def sign(key: bytes, string_to_sign: str) -> str:
    """The lower-case hex HMAC-SHA256 of ``string_to_sign`` under ``key``."""
    return hmac.new(key, string_to_sign.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


class Signer:
    """HMAC-SHA256 under one signing key, the same digests as ``sign`` (RFC 2104).

    The padded key blocks are hashed once, here; each signature then copies the two prepared states
    instead of setting a new HMAC up, which halves its cost on the hot path.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        block = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(block.translate(_INNER_PAD))
        self._outer = hashlib.sha256(block.translate(_OUTER_PAD))

    def sign(self, string_to_sign: str) -> str:
        """The lower-case hex HMAC-SHA256 of ``string_to_sign``."""
        inner = self._inner.copy()
        inner.update(string_to_sign.encode("utf-8", "surrogatepass"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def signatures_equal(expected: str, provided: str) -> bool:
    """Constant-time comparison of two hex signatures (any text may be provided)."""
    return hmac.compare_digest(expected.encode("ascii"), provided.encode("utf-8", "replace"))


class SigningKeyCache:
    """Signing keys by (secret, date, region, service): a bounded LRU.

    A key is valid for one UTC day, region and service, so a busy client reuses the same one for
    every request of the day; caching saves four HMACs per request (and the set-up of the fifth:
    the key's ``Signer`` is kept beside it). The secret itself is not kept: entries are indexed by
    its SHA-256. A lock keeps it consistent when shared between threads.
    """

    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._maxsize = maxsize
        self._keys: OrderedDict[tuple[bytes, str, str, str], tuple[bytes, Signer]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, secret: str, date: str, region: str, service: str) -> bytes:
        """The signing key, derived on a miss."""
        return self._entry(secret, date, region, service)[0]

    def signer(self, secret: str, date: str, region: str, service: str) -> Signer:
        """The ``Signer`` of the signing key, derived on a miss."""
        return self._entry(secret, date, region, service)[1]

    def _entry(self, secret: str, date: str, region: str, service: str) -> tuple[bytes, Signer]:
        index = (hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest(), date, region, service)
        with self._lock:
            entry = self._keys.get(index)
            if entry is not None:
                self._keys.move_to_end(index)
                return entry
        key = signing_key(secret, date, region, service)
        entry = (key, Signer(key))
        with self._lock:
            self._keys[index] = entry
            if len(self._keys) > self._maxsize:
                self._keys.popitem(last=False)
        return entry

    def clear(self) -> None:
        """Forget every key (e.g. after a secret is rotated away)."""
        with self._lock:
            self._keys.clear()
