"""IMDSv2 session tokens (EC2 User Guide, "Use the Instance Metadata Service to access instance
metadata", IMDSv2): ``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds``
between 1 and 21600 gives a token that the instance's GET requests carry in
``X-aws-ec2-metadata-token``. A token is valid only on the instance it was made for and until its
time to live runs out.

A token is its expiry sealed (AES-GCM, ``KeyRing.metadata``) with the instance id as associated
data: stateless, bound to the instance, unforgeable, and opened without any lookup.
"""

from __future__ import annotations

import base64
import binascii

from monban.credentials.keyring import KeyRing, SealError

MIN_TTL = 1
MAX_TTL = 21600
MAX_TOKEN_CHARS = 256  # a token is ~60 characters: anything much longer is not one


def issue_token(keyring: KeyRing, instance_id: str, now: int, ttl: int) -> str:
    """A token for ``instance_id`` that expires ``ttl`` seconds after ``now``."""
    sealed = keyring.metadata.seal(str(now + ttl).encode(), instance_id.encode())
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def token_valid(keyring: KeyRing, token: str, instance_id: str, now: int) -> bool:
    """True when ``token`` was made for ``instance_id`` and has not expired."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        return False
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        expires = int(keyring.metadata.open(sealed, instance_id.encode()))
    except (binascii.Error, ValueError, SealError):
        return False
    return now < expires
