"""Signing keys (AWS SigV4, "Derive a signing key") and a bounded cache of them."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict

from monban.sigv4.model import TERMINATOR


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    k_date = _hmac(("AWS4" + secret).encode("utf-8", "surrogatepass"), date)
    return _hmac(_hmac(_hmac(k_date, region), service), TERMINATOR)


def sign(key: bytes, string_to_sign: str) -> str:
    """The lower-case hex HMAC-SHA256 of ``string_to_sign`` under ``key``."""
    return hmac.new(key, string_to_sign.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def signatures_equal(expected: str, provided: str) -> bool:
    """Constant-time comparison of two hex signatures (any text may be provided)."""
    return hmac.compare_digest(expected.encode("ascii"), provided.encode("utf-8", "replace"))


class SigningKeyCache:
    """Signing keys by (secret, date, region, service): a bounded LRU.

    A key is valid for one UTC day, region and service, so a busy client reuses the same one for
    every request of the day; caching saves four HMACs per request. The secret itself is not kept:
    entries are indexed by its SHA-256. A lock keeps it consistent when shared between threads.
    """

    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._maxsize = maxsize
        self._keys: OrderedDict[tuple[bytes, str, str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, secret: str, date: str, region: str, service: str) -> bytes:
        """The signing key, derived on a miss."""
        index = (hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest(), date, region, service)
        with self._lock:
            key = self._keys.get(index)
            if key is not None:
                self._keys.move_to_end(index)
                return key
        key = signing_key(secret, date, region, service)
        with self._lock:
            self._keys[index] = key
            if len(self._keys) > self._maxsize:
                self._keys.popitem(last=False)
        return key

    def clear(self) -> None:
        """Forget every key (e.g. after a secret is rotated away)."""
        with self._lock:
            self._keys.clear()
