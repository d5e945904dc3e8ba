"""Delimiter listings on random key trees equal the naive answer: every key under the prefix,
rolled up at the first delimiter after the prefix into CommonPrefixes, in UTF-8 byte order,
paged by MaxKeys (ListObjectsV2 tokens, ListObjects markers), whatever the page size and
start-after. The server seeks past each common prefix; this checks that nothing is skipped or
repeated by doing so."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.server import Server
from tests.e2e.test_s3_support import bucket, root, s3_client

PROPERTY = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# short keys over an alphabet with delimiters, a character below "/" and one beyond ASCII
PART = st.text(alphabet="ab/-é", min_size=1, max_size=6)
TREES = st.sets(PART, min_size=0, max_size=14)
DELIMITERS = st.sampled_from(["/", "-", "ab", "é"])


@pytest.fixture(scope="module")
def tree_bucket(server: Server) -> tuple[Any, str]:
    return s3_client(server, root(server)), bucket(server, root(server), prefix="tree")


def naive(keys: set[str], prefix: str, delimiter: str, after: str) -> list[tuple[str, str]]:
    """Every entry in order: ("key", k) or ("prefix", p), only those sorting after ``after``."""
    entries: dict[str, str] = {}
    for key in keys:
        if not key.startswith(prefix):
            continue
        index = key.find(delimiter, len(prefix))
        if index >= 0:
            entries[key[: index + len(delimiter)]] = "prefix"
        else:
            entries[key] = "key"
    ordered = sorted(entries, key=lambda text: text.encode())
    return [(entries[e], e) for e in ordered if e.encode() > after.encode()]


def refill(s3: Any, name: str, keys: set[str]) -> None:
    listed = s3.list_objects_v2(Bucket=name).get("Contents", [])
    if listed:
        s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": o["Key"]} for o in listed]})
    for key in keys:
        s3.put_object(Bucket=name, Key=key, Body=b"")


def listed_v2(
    s3: Any, name: str, prefix: str, delimiter: str, size: int, after: str
) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    params = {"Bucket": name, "Prefix": prefix, "Delimiter": delimiter, "MaxKeys": size, "StartAfter": after}
    while True:
        page = s3.list_objects_v2(**params)
        got = [("key", o["Key"]) for o in page.get("Contents", [])]
        got += [("prefix", p["Prefix"]) for p in page.get("CommonPrefixes", [])]
        assert page["KeyCount"] == len(got) <= size
        entries += sorted(got, key=lambda entry: entry[1].encode())
        if not page["IsTruncated"]:
            return entries
        params["ContinuationToken"] = page["NextContinuationToken"]


def listed_v1(s3: Any, name: str, prefix: str, delimiter: str, size: int) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    params = {"Bucket": name, "Prefix": prefix, "Delimiter": delimiter, "MaxKeys": size}
    while True:
        page = s3.list_objects(**params)
        got = [("key", o["Key"]) for o in page.get("Contents", [])]
        got += [("prefix", p["Prefix"]) for p in page.get("CommonPrefixes", [])]
        entries += sorted(got, key=lambda entry: entry[1].encode())
        if not page["IsTruncated"]:
            return entries
        params["Marker"] = page["NextMarker"]


@PROPERTY
@given(
    keys=TREES,
    prefix=st.sampled_from(["", "a", "a/", "b/", "é"]),
    delimiter=DELIMITERS,
    size=st.integers(1, 5),
    after=st.sampled_from(["", "a", "a/", "a/b", "b-"]),
)
def test_delimiter_listing_is_the_naive_one(
    tree_bucket: tuple[Any, str], keys: set[str], prefix: str, delimiter: str, size: int, after: str
) -> None:
    s3, name = tree_bucket
    refill(s3, name, keys)
    assert listed_v2(s3, name, prefix, delimiter, size, after) == naive(keys, prefix, delimiter, after)
    assert listed_v2(s3, name, prefix, delimiter, 1000, "") == naive(keys, prefix, delimiter, "")
    assert listed_v1(s3, name, prefix, delimiter, size) == naive(keys, prefix, delimiter, "")
