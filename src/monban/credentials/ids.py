"""AWS-shaped identifiers (reference §3): access key ids, secrets, unique ids."""

from __future__ import annotations

import base64
import secrets

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _random_base32(n: int) -> str:
    return "".join(secrets.choice(_BASE32) for _ in range(n))


def access_key_id(temporary: bool = False) -> str:
    """``AKIA`` (long-term) or ``ASIA`` (temporary) followed by 16 characters of A–Z2–7."""
    return ("ASIA" if temporary else "AKIA") + _random_base32(16)


SECRET_RANDOM_BYTES = 30  # 40 characters of base64


def secret_access_key(random: bytes | None = None) -> str:
    """40 characters of base64, as AWS's secret keys are: from ``random`` (``SECRET_RANDOM_BYTES``
    fresh bytes, used for nothing else) or bytes drawn here."""
    if random is None:
        random = secrets.token_bytes(SECRET_RANDOM_BYTES)
    elif len(random) != SECRET_RANDOM_BYTES:
        raise ValueError(f"a secret takes {SECRET_RANDOM_BYTES} random bytes")
    return base64.b64encode(random).decode()


def unique_id(prefix: str) -> str:
    """A unique id such as ``AIDA…`` (user) or ``AROA…`` (role): 21 characters in all."""
    return prefix + _random_base32(17)


def account_id() -> str:
    """A random 12-digit account id."""
    return "".join(secrets.choice("0123456789") for _ in range(12))


USER_PREFIX = "AIDA"
ROLE_PREFIX = "AROA"
GROUP_PREFIX = "AGPA"
POLICY_PREFIX = "ANPA"
INSTANCE_PROFILE_PREFIX = "AIPA"
