"""ListObjects / ListObjectsV2: order, prefixes, delimiters, pagination, start-after, URL encoding."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import bucket, error_of, raw, root, s3_client

KEYS = [
    "a.txt",
    "dir/one",
    "dir/sub/two",
    "dir/three",
    "dir2/x",
    "photos/2024/a.jpg",
    "photos/2025/b.jpg",
    "z",
]


@pytest.fixture(scope="module")
def listed(server: Server) -> tuple[Any, str]:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    for key in KEYS:
        s3.put_object(Bucket=name, Key=key, Body=key.encode())
    return s3, name


def test_order_and_prefix(listed: tuple[Any, str]) -> None:
    s3, name = listed
    everything = s3.list_objects_v2(Bucket=name)
    assert [o["Key"] for o in everything["Contents"]] == sorted(KEYS)
    assert everything["KeyCount"] == len(KEYS) and everything["IsTruncated"] is False
    assert (
        everything["Contents"][0]["Size"] == len("a.txt")
        and everything["Contents"][0]["StorageClass"] == "STANDARD"
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name, Prefix="dir/")["Contents"]]
    assert keys == sorted(["dir/one", "dir/sub/two", "dir/three"])


def test_delimiter(listed: tuple[Any, str]) -> None:
    s3, name = listed
    top = s3.list_objects_v2(Bucket=name, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["a.txt", "z"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir/", "dir2/", "photos/"]
    assert top["KeyCount"] == 5
    inner = s3.list_objects_v2(Bucket=name, Delimiter="/", Prefix="photos/")
    assert [p["Prefix"] for p in inner["CommonPrefixes"]] == ["photos/2024/", "photos/2025/"]
    assert "Contents" not in inner


def test_pagination_v2(listed: tuple[Any, str]) -> None:
    s3, name = listed
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": name, "Delimiter": "/", "MaxKeys": 2}
    while True:
        page = s3.list_objects_v2(**kwargs)
        seen += [o["Key"] for o in page.get("Contents", [])] + [
            p["Prefix"] for p in page.get("CommonPrefixes", [])
        ]
        if not page["IsTruncated"]:
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    assert sorted(seen) == ["a.txt", "dir/", "dir2/", "photos/", "z"] and len(seen) == 5
    paginated = s3.get_paginator("list_objects_v2").paginate(Bucket=name, PaginationConfig={"PageSize": 3})
    assert [o["Key"] for page in paginated for o in page.get("Contents", [])] == sorted(KEYS)
    after = s3.list_objects_v2(Bucket=name, StartAfter="dir/three")
    assert [o["Key"] for o in after["Contents"]] == ["dir2/x", "photos/2024/a.jpg", "photos/2025/b.jpg", "z"]


def test_pagination_v1(listed: tuple[Any, str]) -> None:
    s3, name = listed
    first = s3.list_objects(Bucket=name, Delimiter="/", MaxKeys=3)
    assert first["IsTruncated"] is True and first["NextMarker"] == "dir2/"
    rest = s3.list_objects(Bucket=name, Delimiter="/", Marker=first["NextMarker"])
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["photos/"] and [
        o["Key"] for o in rest["Contents"]
    ] == ["z"]
    assert first["Contents"][0]["Owner"]["ID"]
    everything = s3.get_paginator("list_objects").paginate(Bucket=name, PaginationConfig={"PageSize": 3})
    assert [o["Key"] for page in everything for o in page.get("Contents", [])] == sorted(KEYS)


def test_url_encoding(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    odd = "with space/ünï+cødé&?=.txt"
    s3.put_object(Bucket=name, Key=odd, Body=b"x")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == [odd]  # botocore decodes
    response = raw(server, "GET", f"/{name}?list-type=2&encoding-type=url", root(server))
    assert b"<Key>with%20space/%C3%BCn%C3%AF%2Bc%C3%B8d%C3%A9%26%3F%3D.txt</Key>" in response.body
    assert b"<EncodingType>url</EncodingType>" in response.body


def test_bad_arguments(listed: tuple[Any, str], server: Server) -> None:
    _s3, name = listed
    response = raw(server, "GET", f"/{name}?list-type=2&max-keys=lots", root(server))
    assert response.status == 400 and b"<Code>InvalidArgument</Code>" in response.body
    response = raw(server, "GET", f"/{name}?list-type=2&continuation-token=bm90LWpzb24", root(server))
    assert response.status == 400
    with pytest.raises(ClientError) as caught:
        s3_client(server, root(server)).list_objects_v2(Bucket=name, EncodingType="base64")
    assert error_of(caught)[0] == "InvalidArgument"
