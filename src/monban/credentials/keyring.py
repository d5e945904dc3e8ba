"""The master key and what is derived from it.

The master key never enters the database: it comes from ``MONBAN_MASTER_KEY`` (base64 of 32 bytes)
or from ``master.key`` in the data dir, created 0600 at first start. Nodes that share a database
must share the master key; then any node opens any session token. Whether a key may be created, and
whether the one found is the one that sealed the database's secrets, is ``store/master_key.py``'s
business; this module only reads, makes and writes keys.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASTER_KEY_ENV = "MONBAN_MASTER_KEY"
MASTER_KEY_FILE = "master.key"
MASTER_KEY_BYTES = 32
NONCE_BYTES = 12  # AES-GCM's 96-bit nonce


class SealError(Exception):
    """A sealed value could not be opened: wrong key, tampered or truncated."""


class MasterKeyError(Exception):
    """The master key is missing, malformed or not the one the data was sealed with; the message
    is one sentence for the operator: which file, what to do."""


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())  # on disk before it replaces the old file: a key must not be lost
    os.replace(tmp, path)


def master_key_source(data_dir: Path) -> str:
    """Where the master key comes from, for messages: the variable, else the file's path."""
    return MASTER_KEY_ENV if os.environ.get(MASTER_KEY_ENV) else str(data_dir / MASTER_KEY_FILE)


def _decode(text: bytes, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != MASTER_KEY_BYTES:
        raise MasterKeyError(
            f"{source} does not hold a master key (the base64 of {MASTER_KEY_BYTES} bytes): "
            "restore it from your backup"
        )
    return key


def read_master_key(data_dir: Path) -> bytes | None:
    """The master key from ``MONBAN_MASTER_KEY``, else from the data dir's ``master.key``; None
    when neither is there. MasterKeyError when it is not the base64 of 32 bytes."""
    from_env = os.environ.get(MASTER_KEY_ENV)
    if from_env:
        return _decode(from_env.encode(), MASTER_KEY_ENV)
    return read_key_file(data_dir / MASTER_KEY_FILE)


def read_key_file(path: Path) -> bytes | None:
    """The key in a key file; None when there is no such file."""
    try:
        return _decode(path.read_bytes(), str(path))
    except FileNotFoundError:
        return None


def load_master_key(data_dir: Path) -> bytes:
    """The master key of a data dir that has one (MasterKeyError if it has none)."""
    key = read_master_key(data_dir)
    if key is None:
        raise MasterKeyError(f"{data_dir / MASTER_KEY_FILE} is missing: restore it from your backup")
    return key


def new_master_key() -> bytes:
    return secrets.token_bytes(MASTER_KEY_BYTES)


def write_master_key(path: Path, key: bytes) -> None:
    """``key`` into ``path`` (0600, atomically), as ``master.key`` holds it: base64 and a newline."""
    write_private(path, base64.b64encode(key) + b"\n")


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@dataclass(frozen=True)
class Sealer:
    """AES-256-GCM with a random 96-bit nonce; ``aad`` binds a sealed value to its place."""

    key: bytes
    _aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aead", AESGCM(self.key))  # set up once, used by every call

    def seal(self, plaintext: bytes, aad: bytes = b"", nonce: bytes | None = None) -> bytes:
        """``nonce``: ``NONCE_BYTES`` fresh random bytes the caller drew together with other
        randomness it needs (one ``os.urandom`` call is cheaper than several), used for nothing
        else and never twice; drawn here when None."""
        if nonce is None:
            nonce = os.urandom(NONCE_BYTES)
        elif len(nonce) != NONCE_BYTES:
            raise ValueError(f"AES-GCM nonces here are {NONCE_BYTES} bytes")
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes = b"") -> bytes:
        if len(sealed) < NONCE_BYTES + 16:
            raise SealError("too short")
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except Exception as exc:  # InvalidTag, or a malformed value
            raise SealError("cannot open") from exc


@dataclass(frozen=True)
class KeyRing:
    """Keys derived from the master key, one per purpose."""

    secrets: Sealer  # long-term secret access keys at rest
    sessions: Sealer  # session tokens sealed before the key ring (key 0; ``store/session_keys.py``)
    messages: Sealer  # encoded authorization messages
    metadata: Sealer  # the instance metadata service's IMDSv2 session tokens
    workload_tokens: bytes  # HMAC key of container credential tokens' digests at rest
    session_keys: Sealer  # the key ring's session keys at rest

    @classmethod
    def from_master(cls, master: bytes) -> KeyRing:
        return cls(
            secrets=Sealer(_derive(master, b"monban secrets at rest v1")),
            sessions=Sealer(_derive(master, b"monban session tokens v1")),
            messages=Sealer(_derive(master, b"monban authorization messages v1")),
            metadata=Sealer(_derive(master, b"monban instance metadata tokens v1")),
            workload_tokens=_derive(master, b"monban container credential tokens v1"),
            session_keys=Sealer(_derive(master, b"monban session keys at rest v1")),
        )
