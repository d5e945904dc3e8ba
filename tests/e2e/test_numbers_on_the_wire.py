"""Issue 11, finding 6: one strict parser for every number on the wire (``monban.protocol.numbers``).

``int()`` took ``1_000``, `` 1000`` and non-ASCII digits where the policy engine did not, so a
``NumericGreaterThan s3:max-keys`` Deny was skipped; ``partNumber=²`` and friends were 500s;
``DurationSeconds=٣٦٠٠`` was accepted. Now anything but ``-?[0-9]+`` is the service's error
(S3 InvalidArgument / MalformedXML, IAM and STS ValidationError), and the condition key carries the
value the handler acts on. Real server, raw signed requests.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.iam_support import RawResponse, _post, raw_request
from tests.e2e.server import REGION, Server
from tests.e2e.test_s3_support import OWNER, Key, bucket, raw, root, s3_client, send, signed_headers, user

# Text that int() reads as a number but the wire grammar (-?[0-9]+, ASCII) does not.
NOT_NUMBERS = ("1_000", " 1000", "1000 ", "+5", "²", "٣", "٣٦٠٠", "1e3", "0x10", "1.0", "-", "１２")


def _query(server: Server, path: str, name: str, value: str, key: Key | None = None) -> int:
    response = raw(
        server,
        "GET",
        f"{path}{'&' if '?' in path else '?'}{name}={quote(value, safe='')}",
        key or root(server),
    )
    assert response.status != 500, response.body
    return response.status


def _sts(server: Server, params: dict[str, str], key: Key) -> RawResponse:
    body = urlencode({"Version": "2011-06-15", **params}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(*key), "sts", REGION).add_auth(request)
    return _post(server.endpoint, body, dict(request.headers.items()))


def _iam(server: Server, params: dict[str, str]) -> RawResponse:
    return raw_request(server, urlencode({"Version": "2010-05-08", **params}).encode(), key=root(server))


@pytest.fixture(scope="module")
def capped(server: Server) -> tuple[str, Key]:
    """A bucket, and a user whose listing is denied above 100 keys (NumericGreaterThan s3:max-keys)."""
    name = bucket(server, root(server))
    s3_client(server, root(server)).put_object(Bucket=name, Key="k", Body=b"")
    _arn, key = user(
        server,
        OWNER,
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "s3:ListBucket",
            "Resource": "*",
            "Condition": {"NumericGreaterThan": {"s3:max-keys": "100"}},
        },
    )
    return name, key


def test_max_keys_deny_cannot_be_skipped(server: Server, capped: tuple[str, Key]) -> None:
    """The issue's case: ``max-keys=1_000`` used to list 1000 keys past the Deny."""
    name, key = capped
    assert _query(server, f"/{name}?list-type=2", "max-keys", "1000", key) == 403
    assert _query(server, f"/{name}?list-type=2", "max-keys", "10", key) == 200
    for text in ("1_000", " 1000", "+1000", "١٠٠٠"):
        response = raw(server, "GET", f"/{name}?list-type=2&max-keys={quote(text)}", key)
        assert response.status == 400, (text, response.body)
        assert b"<Code>InvalidArgument</Code>" in response.body
        assert b"<ArgumentName>max-keys</ArgumentName>" in response.body


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.integers(0, 300), zeros=st.integers(0, 3))
def test_the_condition_key_is_the_number_the_handler_reads(
    server: Server, capped: tuple[str, Key], value: int, zeros: int
) -> None:
    """However the number is spelt (leading zeros), the Deny decides exactly when it is above 100."""
    name, key = capped
    status = _query(server, f"/{name}?list-type=2", "max-keys", "0" * zeros + str(value), key)
    assert status == (403 if value > 100 else 200)


def test_s3_numbers_that_were_500s(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    upload = s3.create_multipart_upload(Bucket=name, Key="m")["UploadId"]
    for path, parameter in (
        (f"/{name}/k", "partNumber"),
        (f"/{name}/m?uploadId={upload}", "part-number-marker"),
        (f"/{name}/m?uploadId={upload}", "max-parts"),
        (f"/{name}?uploads", "max-uploads"),
        ("/", "max-buckets"),
    ):
        assert _query(server, path, parameter, "²") == 400, parameter
    huge = raw(server, "GET", f"/{name}/k", root(server), headers={"Range": "bytes=" + "9" * 5000 + "-"})
    assert huge.status == 416  # InvalidRange, not int()'s digit-limit 500
    headers: dict[str, Any] = signed_headers(server, "GET", f"/{name}/k", root(server))
    headers["Range"] = "bytes=٠-٠".encode()  # Range need not be signed; http.client sends bytes as-is
    arabic = send(server, "GET", f"/{name}/k", headers)
    assert (arabic.status, arabic.body) == (200, b"x")  # a Range S3 cannot read is ignored
    document = b"<CompleteMultipartUpload><Part><PartNumber>\xc2\xb2</PartNumber><ETag>e</ETag></Part>"
    document += b"</CompleteMultipartUpload>"
    response = raw(server, "POST", f"/{name}/m?uploadId={upload}", root(server), document)
    assert response.status == 400 and b"<Code>MalformedXML</Code>" in response.body


def test_decoded_content_length_must_be_a_number(server: Server) -> None:
    name = bucket(server, root(server))
    path, body = f"/{name}/k", b"0\r\n\r\n"
    headers = {"x-amz-decoded-content-length": "²", "Content-Encoding": "aws-chunked"}
    signed = signed_headers(
        server, "PUT", path, root(server), body, headers, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    )
    # sent as the UTF-8 bytes the signature covers (http.client would send a str as Latin-1)
    wire: dict[str, Any] = {**signed, "x-amz-decoded-content-length": "²".encode()}
    response = send(server, "PUT", path, wire, body)
    assert response.status == 400 and b"<Code>InvalidArgument</Code>" in response.body


def test_iam_and_sts_numbers(server: Server) -> None:
    """``DurationSeconds=٣٦٠٠`` was accepted; MaxItems and MaxSessionDuration go the same way."""
    _arn, key = user(server, OWNER)
    answer = _sts(server, {"Action": "GetSessionToken", "DurationSeconds": "٣٦٠٠"}, key)
    assert answer.status == 400 and "ValidationError" in answer.body and "must be a number" in answer.body
    assert _sts(server, {"Action": "GetSessionToken", "DurationSeconds": "3600"}, key).status == 200
    assert _iam(server, {"Action": "ListUsers", "MaxItems": "1_0"}).status == 400
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},'
        '"Action":"sts:AssumeRole"}]}'
    )
    created = _iam(
        server,
        {
            "Action": "CreateRole",
            "RoleName": "numbers-role",
            "AssumeRolePolicyDocument": trust,
            "MaxSessionDuration": "٣٦٠٠",
        },
    )
    assert (
        created.status == 400 and "ValidationError" in created.body and "MaxSessionDuration" in created.body
    )


_WIRE = (
    ("s3", "?list-type=2", "max-keys"),
    ("s3", "?uploads", "max-uploads"),
    ("s3", "/", "max-buckets"),
    ("iam", "ListUsers", "MaxItems"),
    ("iam", "ListRoles", "MaxItems"),
    ("sts", "GetSessionToken", "DurationSeconds"),
)


@pytest.fixture(scope="module")
def sts_key(server: Server) -> Key:
    return user(server, OWNER)[1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    where=st.sampled_from(_WIRE),
    text=st.sampled_from(NOT_NUMBERS)
    | st.text(min_size=1, max_size=8).filter(lambda t: not (t.isascii() and t.lstrip("-").isdigit())),
)
def test_no_handler_takes_what_is_not_an_ascii_integer(
    server: Server, capped: tuple[str, Key], sts_key: Key, where: tuple[str, str, str], text: str
) -> None:
    """Every number parameter, in every service: text outside ``-?[0-9]+`` is a 400 with the
    service's error, never a success (read as some number) and never a 500."""
    service, target, name = where
    if service == "s3":
        path = target if target == "/" else f"/{capped[0]}{target}"
        assert _query(server, path, name, text) == 400, (where, text)
        return
    params = {"Action": target, name: text}
    answer = _sts(server, params, sts_key) if service == "sts" else _iam(server, params)
    assert answer.status == 400 and "ValidationError" in answer.body, (where, text, answer.body)
