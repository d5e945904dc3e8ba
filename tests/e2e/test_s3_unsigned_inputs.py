"""Issue 11, finding 1: no S3 behaviour is chosen from an input the signature does not cover.

Every ``x-amz-*`` header must be signed (S3's 403 AccessDenied "There were headers present in the
request which were not signed", with HeadersNotSigned), with header auth and with presigned URLs;
``x-amz-content-sha256`` is the exception S3 makes, and it chooses nothing. A signed header split
into several lines is read as it was signed. Real server, raw signed requests (botocore's signers).
"""

from __future__ import annotations

import http.client
import re
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.e2e.server import REGION, Server
from tests.e2e.test_s3_support import (
    OWNER,
    Key,
    Raw,
    bucket,
    policy,
    raw,
    root,
    s3_client,
    send,
    signed_headers,
    user,
)

NOT_SIGNED = b"<Message>There were headers present in the request which were not signed</Message>"


def presigned(server: Server, method: str, path: str, key: Key, signed: dict[str, str] | None = None) -> str:
    """The path and query of a presigned URL for ``method path`` (``signed`` headers signed with it)."""
    request = AWSRequest(method=method, url=server.endpoint + path, headers=dict(signed or {}))
    S3SigV4QueryAuth(Credentials(*key), "s3", REGION, expires=300).add_auth(request)
    return str(request.url)[len(server.endpoint) :]


def not_signed(response: Raw) -> list[str]:
    """The HeadersNotSigned names of a 403 AccessDenied answer (fails on any other answer)."""
    assert response.status == 403, (response.status, response.body)
    assert b"<Code>AccessDenied</Code>" in response.body and NOT_SIGNED in response.body
    found = re.search(rb"<HeadersNotSigned>(.*)</HeadersNotSigned>", response.body)
    assert found is not None, response.body
    return found.group(1).decode().split(", ")


def _secret_and_public(server: Server) -> tuple[str, str, Any]:
    owner = s3_client(server, root(server))
    secret, public = bucket(server, root(server), "secret"), bucket(server, root(server), "public")
    owner.put_object(Bucket=secret, Key="secret", Body=b"the secret")
    return secret, public, owner


def test_presigned_put_with_an_added_copy_source_is_refused(server: Server) -> None:
    """The issue's case: a presigned PUT plus ``x-amz-copy-source`` must not become a CopyObject."""
    secret, public, owner = _secret_and_public(server)
    url = presigned(server, "PUT", f"/{public}/upload", root(server))
    response = send(server, "PUT", url, {"x-amz-copy-source": f"/{secret}/secret"})
    assert not_signed(response) == ["x-amz-copy-source"]
    assert response.body.index(b"<HeadersNotSigned>") < response.body.index(b"<RequestId>")
    assert owner.list_objects_v2(Bucket=public).get("KeyCount") == 0
    assert send(server, "PUT", url, {}, b"plain upload").status == 200  # the URL itself still works


def test_header_auth_with_unsigned_x_amz_headers_is_refused(server: Server) -> None:
    name = bucket(server, root(server))
    headers = signed_headers(server, "PUT", f"/{name}/k", root(server), b"body")
    headers.update(
        {
            "x-amz-meta-owner": "mallory",
            "x-amz-storage-class": "GLACIER",
            "x-amz-server-side-encryption": "aws:kms",
        }
    )
    response = send(server, "PUT", f"/{name}/k", headers, b"body")
    assert not_signed(response) == [
        "x-amz-meta-owner",
        "x-amz-server-side-encryption",
        "x-amz-storage-class",
    ]
    assert s3_client(server, root(server)).list_objects_v2(Bucket=name).get("KeyCount") == 0


def test_signed_x_amz_headers_are_obeyed(server: Server) -> None:
    """The same headers, signed, work (boto3 signs every x-amz-* header it sends)."""
    name = bucket(server, root(server))
    s3 = s3_client(server, root(server))
    s3.put_object(Bucket=name, Key="k", Body=b"b", Metadata={"owner": "me"}, StorageClass="STANDARD_IA")
    head = s3.head_object(Bucket=name, Key="k")
    assert head["Metadata"] == {"owner": "me"} and head["StorageClass"] == "STANDARD_IA"
    url = presigned(server, "PUT", f"/{name}/p", root(server), {"x-amz-meta-owner": "me"})
    assert send(server, "PUT", url, {"x-amz-meta-owner": "me"}, b"p").status == 200
    assert s3.head_object(Bucket=name, Key="p")["Metadata"] == {"owner": "me"}


def test_unsigned_content_sha256_is_tolerated_and_chooses_nothing(server: Server) -> None:
    """S3 lets ``x-amz-content-sha256`` ride along unsigned; a presigned URL's payload mode is its
    query's (UNSIGNED-PAYLOAD), so a STREAMING claim in the header does not make the body aws-chunked."""
    name = bucket(server, root(server))
    url = presigned(server, "PUT", f"/{name}/k", root(server))
    claim = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}
    assert send(server, "PUT", url, claim, b"plain bytes").status == 200
    body = s3_client(server, root(server)).get_object(Bucket=name, Key="k")["Body"].read()
    assert body == b"plain bytes"


def test_the_session_token_header_of_a_presigned_url_must_be_signed(server: Server) -> None:
    name = bucket(server, root(server))
    url = presigned(server, "GET", f"/{name}?list-type=2", root(server))
    assert not_signed(send(server, "GET", url, {"x-amz-security-token": "x"})) == ["x-amz-security-token"]


def test_a_presigned_header_may_repeat_its_signed_query_parameter(server: Server) -> None:
    """A presigned URL signs its whole query: a header that repeats a parameter, name and value,
    is covered; the same header with another value is not."""
    name = bucket(server, root(server))
    url = presigned(server, "GET", f"/{name}?list-type=2&x-amz-request-payer=requester", root(server))
    assert send(server, "GET", url, {"x-amz-request-payer": "requester"}).status == 200
    assert not_signed(send(server, "GET", url, {"x-amz-request-payer": "other"})) == ["x-amz-request-payer"]


def test_a_signed_header_split_into_two_lines_is_read_as_signed(server: Server) -> None:
    """``x-amz-copy-source: /b/a,b`` signed, then sent as two lines ``/b/a`` and ``b``: the canonical
    request is the same, so the signature holds — and the copy must read ``/b/a,b``, never ``/b/a``."""
    _secret, public, owner = _secret_and_public(server)
    owner.put_object(Bucket=public, Key="a,b", Body=b"meant")
    owner.put_object(Bucket=public, Key="a", Body=b"not meant")
    path = f"/{public}/copy"
    headers = signed_headers(
        server, "PUT", path, root(server), headers={"x-amz-copy-source": f"/{public}/a,b"}
    )
    lines = [(k, v) for k, v in headers.items() if k.lower() != "x-amz-copy-source"]
    lines += [("x-amz-copy-source", f"/{public}/a"), ("x-amz-copy-source", "b")]
    response = _send_lines(server, "PUT", path, lines)
    assert response.status == 200, response.body
    assert owner.get_object(Bucket=public, Key="copy")["Body"].read() == b"meant"


def _send_lines(server: Server, method: str, path: str, lines: list[tuple[str, str]]) -> Raw:
    """Send header lines as they are (``send`` takes a dict: no name twice)."""
    parts = urlsplit(server.endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    has_host = any(name.lower() == "host" for name, _ in lines)
    try:
        connection.putrequest(method, path, skip_host=has_host, skip_accept_encoding=True)
        for name, value in lines:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return Raw(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def test_unsigned_header_cannot_lift_a_condition_key(server: Server) -> None:
    """A bucket policy keyed on a header (s3:x-amz-storage-class) cannot be steered by an unsigned one."""
    document = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::BUCKET/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-storage-class": "STANDARD_IA"}},
        }
    )
    name = bucket(server, root(server), bucket_policy=document)
    _arn, key = user(server, OWNER, {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    headers = signed_headers(server, "PUT", f"/{name}/k", key, b"x")
    headers["x-amz-storage-class"] = "STANDARD_IA"
    assert not_signed(send(server, "PUT", f"/{name}/k", headers, b"x")) == ["x-amz-storage-class"]
    try:
        s3_client(server, key).put_object(Bucket=name, Key="k", Body=b"x")
        raise AssertionError("the Deny should hold")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"


# --- the class, as a property: every operation, both signing modes -------------------------------

# (method, path template, query) of every S3 operation monban routes; BUCKET and KEY filled in.
OPERATIONS = (
    ("GET", "/", ""),
    ("PUT", "/NEWBUCKET", ""),
    ("HEAD", "/BUCKET", ""),
    ("DELETE", "/BUCKET", ""),
    ("GET", "/BUCKET", "location"),
    ("GET", "/BUCKET", "list-type=2"),
    ("GET", "/BUCKET", ""),
    ("GET", "/BUCKET", "uploads"),
    ("GET", "/BUCKET", "policy"),
    ("GET", "/BUCKET", "policyStatus"),
    ("PUT", "/BUCKET", "policy"),
    ("DELETE", "/BUCKET", "policy"),
    ("POST", "/BUCKET", "delete"),
    ("PUT", "/BUCKET/KEY", ""),
    ("GET", "/BUCKET/KEY", ""),
    ("HEAD", "/BUCKET/KEY", ""),
    ("DELETE", "/BUCKET/KEY", ""),
    ("POST", "/BUCKET/KEY", "uploads"),
    ("PUT", "/BUCKET/KEY", "partNumber=1&uploadId=u"),
    ("POST", "/BUCKET/KEY", "uploadId=u"),
    ("GET", "/BUCKET/KEY", "uploadId=u"),
    ("DELETE", "/BUCKET/KEY", "uploadId=u"),
)
_AMZ_NAMES = st.sampled_from(
    [
        "x-amz-copy-source",
        "x-amz-meta-a",
        "x-amz-storage-class",
        "x-amz-server-side-encryption",
        "x-amz-acl",
        "x-amz-metadata-directive",
        "x-amz-checksum-crc32",
        "x-amz-sdk-checksum-algorithm",
        "x-amz-decoded-content-length",
        "x-amz-trailer",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-expected-bucket-owner",
        "x-amz-copy-source-range",
    ]
) | st.from_regex(r"x-amz-[a-z][a-z0-9-]{0,20}", fullmatch=True).filter(lambda n: n != "x-amz-content-sha256")
_VALUES = st.from_regex(r"[A-Za-z0-9/+=._-]{1,30}", fullmatch=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    operation=st.sampled_from(OPERATIONS),
    name=_AMZ_NAMES,
    value=_VALUES,
    mode=st.sampled_from(["header", "presigned"]),
)
def test_any_unsigned_x_amz_header_is_refused(
    server: Server, operation: tuple[str, str, str], name: str, value: str, mode: str
) -> None:
    """For every operation, a valid signed request plus one unsigned x-amz-* header is refused with
    HeadersNotSigned naming it, before anything runs (the bucket and key need not exist)."""
    assume(not (mode == "header" and name == "x-amz-date"))  # header auth signs its own x-amz-date
    method, template, query = operation
    path = template.replace("NEWBUCKET", "never-made-bucket").replace("BUCKET", "some-bucket")
    path = path.replace("KEY", "k") + (f"?{query}" if query else "")
    key = root(server)
    if mode == "header":
        headers = signed_headers(server, method, path, key)
        headers[name] = value
        response = send(server, method, path, headers)
    else:
        response = send(server, method, presigned(server, method, path, key), {name: value})
    if method == "HEAD":  # no body: the status says it
        assert response.status == 403
        return
    assert not_signed(response) == [name]


def test_anonymous_requests_keep_their_x_amz_headers(server: Server) -> None:
    """An unsigned request has no signature to cover anything: it is anonymous, and its x-amz-*
    headers are taken with the anonymous caller's (own, bucket-policy) authority."""
    name = bucket(server, root(server))
    response = raw(server, "GET", f"/{name}?list-type=2", None, headers={"x-amz-meta-a": "b"})
    assert response.status == 403 and NOT_SIGNED not in response.body
