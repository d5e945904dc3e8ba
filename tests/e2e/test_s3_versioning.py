"""S3 versioning through boto3 (issue 14, item 1): Put/GetBucketVersioning, version ids on writes,
reads, copies and deletes, delete markers, the suspended state's null version, ListObjectVersions
with its paging, DeleteObjects with versions; the files of a version go when it does."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import bucket, error_of, object_files, raw, root, s3_client

BIG = 200 * 1024  # stored in a file, not in the row


def _versioned(server: Server, status: str = "Enabled") -> tuple[Any, str]:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server), "ver")
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    return s3, name


def _failure(call: Any, **kwargs: Any) -> tuple[str, int, dict[str, str]]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    code, status, _ = error_of(caught)
    return code, status, caught.value.response["ResponseMetadata"]["HTTPHeaders"]


def _versions(server: Server, name: str) -> list[tuple[str, str, bool, bool]]:
    """(key, version id, is latest, is a delete marker) of every entry, in the answer's order
    (boto3 splits Version and DeleteMarker entries apart)."""
    answer = raw(server, "GET", f"/{name}?versions", root(server))
    assert answer.status == 200
    out = []
    for entry in ElementTree.fromstring(answer.body):
        tag = entry.tag.rsplit("}", 1)[-1]
        if tag in ("Version", "DeleteMarker"):
            fields = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in entry}
            out.append(
                (fields["Key"], fields["VersionId"], fields["IsLatest"] == "true", tag == "DeleteMarker")
            )
    return out


def test_an_unversioned_bucket_answers_an_empty_configuration(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    answer = s3.get_bucket_versioning(Bucket=name)
    assert "Status" not in answer and "MFADelete" not in answer
    plain = raw(server, "GET", f"/{name}?versioning", root(server))
    assert plain.status == 200 and plain.body.endswith(
        b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></VersioningConfiguration>'
    )
    put = s3.put_object(Bucket=name, Key="k", Body=b"v")
    assert "VersionId" not in put
    assert "VersionId" not in s3.get_object(Bucket=name, Key="k")
    assert "DeleteMarker" not in s3.delete_object(Bucket=name, Key="k")
    assert s3.list_object_versions(Bucket=name).get("Versions") is None


def test_enabled_versioning_keeps_every_version(server: Server) -> None:
    s3, name = _versioned(server)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    ids = [s3.put_object(Bucket=name, Key="k", Body=f"v{n}".encode())["VersionId"] for n in range(3)]
    assert len(set(ids)) == 3 and all(len(i) == 32 and i != "null" for i in ids)
    latest = s3.get_object(Bucket=name, Key="k")
    assert latest["Body"].read() == b"v2" and latest["VersionId"] == ids[2]
    old = s3.get_object(Bucket=name, Key="k", VersionId=ids[0])
    assert old["Body"].read() == b"v0" and old["VersionId"] == ids[0]
    assert s3.head_object(Bucket=name, Key="k", VersionId=ids[1])["ContentLength"] == 2
    listed = s3.list_object_versions(Bucket=name)["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in listed] == [
        (ids[2], True),
        (ids[1], False),
        (ids[0], False),
    ]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["k"]
    assert _failure(s3.get_object, Bucket=name, Key="k", VersionId="A" * 32)[:2] == ("NoSuchVersion", 404)
    assert _failure(s3.get_object, Bucket=name, Key="k", VersionId="bad+id")[:2] == ("InvalidArgument", 400)


def test_a_delete_leaves_a_marker_and_removing_it_brings_the_object_back(server: Server) -> None:
    s3, name = _versioned(server)
    kept = s3.put_object(Bucket=name, Key="k", Body=b"kept")["VersionId"]
    gone = s3.delete_object(Bucket=name, Key="k")
    marker = gone["VersionId"]
    assert gone["DeleteMarker"] is True and marker not in ("null", kept)
    code, status, headers = _failure(s3.get_object, Bucket=name, Key="k")
    assert (code, status) == ("NoSuchKey", 404)
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    head = raw(server, "HEAD", f"/{name}/k", root(server))
    assert head.status == 404 and head.headers["x-amz-delete-marker"] == "true"
    code, status, headers = _failure(s3.get_object, Bucket=name, Key="k", VersionId=marker)
    assert (code, status, headers["x-amz-delete-marker"]) == ("MethodNotAllowed", 405, "true")
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    assert _versions(server, name) == [("k", marker, True, True), ("k", kept, False, False)]
    removed = s3.delete_object(Bucket=name, Key="k", VersionId=marker)
    assert removed["DeleteMarker"] is True and removed["VersionId"] == marker
    back = s3.get_object(Bucket=name, Key="k")
    assert back["Body"].read() == b"kept" and back["VersionId"] == kept
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["k"]


def test_deleting_a_version_removes_it_and_its_file(server: Server) -> None:
    s3, name = _versioned(server)
    before = object_files(server)
    first = s3.put_object(Bucket=name, Key="big", Body=b"1" * BIG)["VersionId"]
    second = s3.put_object(Bucket=name, Key="big", Body=b"2" * BIG)["VersionId"]
    files = object_files(server) - before
    assert len(files) == 2  # the noncurrent version's bytes are kept
    s3.delete_object(Bucket=name, Key="big", VersionId=second)  # the latest: the first is again
    assert len(object_files(server) - before) == 1
    latest = s3.get_object(Bucket=name, Key="big")
    assert latest["VersionId"] == first and latest["Body"].read() == b"1" * BIG
    s3.delete_object(Bucket=name, Key="big", VersionId=first)
    assert object_files(server) - before == set()
    assert s3.list_object_versions(Bucket=name).get("Versions") is None
    s3.delete_object(Bucket=name, Key="big", VersionId=first)  # gone already: still 204
    s3.delete_bucket(Bucket=name)


def test_a_suspended_bucket_writes_the_null_version(server: Server) -> None:
    s3, name = _versioned(server)
    before = object_files(server)
    kept = s3.put_object(Bucket=name, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"
    first = s3.put_object(Bucket=name, Key="k", Body=b"n" * BIG)
    assert "VersionId" not in first  # S3's PutObject answer in a suspended bucket names none
    s3.put_object(Bucket=name, Key="k", Body=b"null-2")  # replaces the null version
    assert len(object_files(server) - before) == 0  # its file went with it
    assert _versions(server, name) == [("k", "null", True, False), ("k", kept, False, False)]
    got = s3.get_object(Bucket=name, Key="k")
    assert got["VersionId"] == "null" and got["Body"].read() == b"null-2"
    gone = s3.delete_object(Bucket=name, Key="k")
    assert gone["DeleteMarker"] is True and gone["VersionId"] == "null"
    assert _versions(server, name) == [("k", "null", True, True), ("k", kept, False, False)]
    s3.delete_object(Bucket=name, Key="k", VersionId="null")
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"versioned"
    assert _failure(s3.delete_bucket, Bucket=name)[0] == "BucketNotEmpty"


def test_delete_objects_with_versions(server: Server) -> None:
    s3, name = _versioned(server)
    a1 = s3.put_object(Bucket=name, Key="a", Body=b"1")["VersionId"]
    a2 = s3.put_object(Bucket=name, Key="a", Body=b"2")["VersionId"]
    s3.put_object(Bucket=name, Key="b", Body=b"b")
    marker = s3.delete_object(Bucket=name, Key="c")["VersionId"]  # a marker for a key never written
    result = s3.delete_objects(
        Bucket=name,
        Delete={
            "Objects": [
                {"Key": "a", "VersionId": a1},
                {"Key": "b"},
                {"Key": "c", "VersionId": marker},
                {"Key": "a", "VersionId": "nonsense"},
            ]
        },
    )
    deleted = {(d["Key"], d.get("VersionId")): d for d in result["Deleted"]}
    assert deleted[("a", a1)] == {"Key": "a", "VersionId": a1}
    made = deleted[("b", None)]
    assert made["DeleteMarker"] is True and len(made["DeleteMarkerVersionId"]) == 32
    assert deleted[("c", marker)] == {
        "Key": "c", "VersionId": marker, "DeleteMarker": True, "DeleteMarkerVersionId": marker
    }  # fmt: skip
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("a", "InvalidArgument")]
    assert _versions(server, name) == [
        ("a", a2, True, False),
        ("b", made["DeleteMarkerVersionId"], True, True),
        ("b", _versions(server, name)[2][1], False, False),
    ]


def test_list_object_versions_pages_with_markers(server: Server) -> None:
    s3, name = _versioned(server)
    expected = []
    for key in ("a", "b", "c"):
        ids = [s3.put_object(Bucket=name, Key=key, Body=b"x")["VersionId"] for _ in range(3)]
        expected += [(key, i) for i in reversed(ids)]
    seen: list[tuple[str, str]] = []
    markers: dict[str, str] = {}
    while True:
        page = s3.list_object_versions(Bucket=name, MaxKeys=2, **markers)
        assert page["MaxKeys"] == 2 and len(page.get("Versions", [])) <= 2
        seen += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        assert (page["NextKeyMarker"], page["NextVersionIdMarker"]) == seen[-1]
        markers = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert seen == expected
    paginated = [
        (v["Key"], v["VersionId"])
        for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=name, PaginationConfig={"PageSize": 4}
        )
        for v in page.get("Versions", [])
    ]
    assert paginated == expected
    after_b = s3.list_object_versions(Bucket=name, KeyMarker="b")["Versions"]
    assert [(v["Key"], v["VersionId"]) for v in after_b] == expected[6:]
    code, status, _ = _failure(s3.list_object_versions, Bucket=name, VersionIdMarker=expected[0][1])
    assert (code, status) == ("InvalidArgument", 400)


def test_list_object_versions_prefix_delimiter_and_url_encoding(server: Server) -> None:
    s3, name = _versioned(server)
    for key in ("d/1", "d/2", "d/2", "e f", "g/x/1", "h"):
        s3.put_object(Bucket=name, Key=key, Body=b"x")
    page = s3.list_object_versions(Bucket=name, Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["d/", "g/"]
    assert [v["Key"] for v in page["Versions"]] == ["e f", "h"]
    first = s3.list_object_versions(Bucket=name, Delimiter="/", MaxKeys=1)
    assert first["IsTruncated"] and first["NextKeyMarker"] == "d/" and "NextVersionIdMarker" not in first
    rest = s3.list_object_versions(Bucket=name, Delimiter="/", KeyMarker="d/")
    assert [v["Key"] for v in rest["Versions"]] == ["e f", "h"] and [
        p["Prefix"] for p in rest["CommonPrefixes"]
    ] == ["g/"]
    within = s3.list_object_versions(Bucket=name, Prefix="d/")["Versions"]
    assert [v["Key"] for v in within] == ["d/1", "d/2", "d/2"] and [v["IsLatest"] for v in within] == [
        True,
        True,
        False,
    ]
    encoded = raw(server, "GET", f"/{name}?versions&encoding-type=url&prefix=e", root(server))
    assert b"<Key>e%20f</Key>" in encoded.body and b"<EncodingType>url</EncodingType>" in encoded.body


def test_copies_and_multipart_uploads_name_versions(server: Server) -> None:
    s3, name = _versioned(server)
    old = s3.put_object(Bucket=name, Key="src", Body=b"old")["VersionId"]
    s3.put_object(Bucket=name, Key="src", Body=b"new")
    copied = s3.copy_object(
        Bucket=name, Key="dst", CopySource={"Bucket": name, "Key": "src", "VersionId": old}
    )
    assert copied["CopySourceVersionId"] == old and len(copied["VersionId"]) == 32
    assert s3.get_object(Bucket=name, Key="dst")["Body"].read() == b"old"
    marker = s3.delete_object(Bucket=name, Key="src")["VersionId"]
    assert (
        _failure(s3.copy_object, Bucket=name, Key="x", CopySource={"Bucket": name, "Key": "src"})[0]
        == "NoSuchKey"
    )
    by_marker = {"Bucket": name, "Key": "src", "VersionId": marker}
    assert _failure(s3.copy_object, Bucket=name, Key="x", CopySource=by_marker)[:2] == ("InvalidRequest", 400)
    upload = s3.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    done = s3.complete_multipart_upload(
        Bucket=name, Key="mp", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}
    )
    assert len(done["VersionId"]) == 32
    assert s3.head_object(Bucket=name, Key="mp")["VersionId"] == done["VersionId"]


def test_put_bucket_versioning_rules(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    bad = {"Status": "Off"}
    assert _failure(s3.put_bucket_versioning, Bucket=name, VersioningConfiguration=bad)[:2] == (
        "MalformedXML",
        400,
    )
    mfa = {"Status": "Enabled", "MFADelete": "Enabled"}
    code, status, _ = _failure(s3.put_bucket_versioning, Bucket=name, VersioningConfiguration=mfa)
    assert (code, status) == ("AccessDenied", 403)
    assert "Status" not in s3.get_bucket_versioning(Bucket=name)
    s3.put_bucket_versioning(
        Bucket=name, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Disabled"}
    )
    answer = s3.get_bucket_versioning(Bucket=name)
    assert (answer["Status"], answer["MFADelete"]) == ("Enabled", "Disabled")
    unsigned_md5 = raw(
        server,
        "PUT",
        f"/{name}?versioning",
        root(server),
        b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>",
    )
    assert unsigned_md5.status == 400 and b"Content-MD5" in unsigned_md5.body
    missing = _failure(s3.get_bucket_versioning, Bucket="no-such-bucket-" + name[-12:])
    assert missing[:2] == ("NoSuchBucket", 404)
