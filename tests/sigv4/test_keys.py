"""Signing keys and their cache."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from monban import sigv4

from .helpers import SUITE_SECRET


def test_signing_key_of_the_aws_general_reference_example() -> None:
    """AWS General Reference, "Examples of how to derive a signing key" (20150830/us-east-1/iam)."""
    key = sigv4.signing_key(SUITE_SECRET, "20150830", "us-east-1", "iam")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"


def test_cache_returns_the_derived_key() -> None:
    cache = sigv4.SigningKeyCache()
    key = cache.get(SUITE_SECRET, "20150830", "us-east-1", "iam")
    assert key == sigv4.signing_key(SUITE_SECRET, "20150830", "us-east-1", "iam")
    assert cache.get(SUITE_SECRET, "20150830", "us-east-1", "iam") is key
    assert cache.get(SUITE_SECRET, "20150831", "us-east-1", "iam") != key
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0


def test_cache_is_a_bounded_lru() -> None:
    cache = sigv4.SigningKeyCache(maxsize=2)
    first = cache.get("a", "20150830", "us-east-1", "s3")
    cache.get("b", "20150830", "us-east-1", "s3")
    assert cache.get("a", "20150830", "us-east-1", "s3") is first  # "a" is now the most recent
    cache.get("c", "20150830", "us-east-1", "s3")  # evicts "b"
    assert len(cache) == 2
    assert cache.get("a", "20150830", "us-east-1", "s3") is first
    assert cache.get("b", "20150830", "us-east-1", "s3") is not None
    assert len(cache) == 2


def test_cache_does_not_keep_secrets() -> None:
    cache = sigv4.SigningKeyCache()
    cache.get("very secret", "20150830", "us-east-1", "s3")
    assert "very secret" not in repr(vars(cache))


def test_cache_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        sigv4.SigningKeyCache(maxsize=0)


def test_cache_shared_between_threads() -> None:
    cache = sigv4.SigningKeyCache(maxsize=8)
    jobs = [(f"secret-{n % 20}", "20150830", "us-east-1", "s3") for n in range(400)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda job: cache.get(*job), jobs))
    assert keys == [sigv4.signing_key(*job) for job in jobs]
    assert len(cache) == 8
