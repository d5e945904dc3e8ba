"""Hostile input on the wire (issue 17): hypothesis throws malformed request lines and headers,
mangled Authorization headers and presigned URLs, garbage forms, XML bodies, policy documents and
S3 keys (``..``, NUL, overlong, invalid UTF-8) at a real server. Every request has a client
timeout; every answer is a 4xx (or a success), never a 5xx, never silence until the timeout; the
server still answers its health check afterwards. A bounded, derandomized number of examples, so
CI is stable. (The sigv4 and policy parsers' own properties are in tests/sigv4 and tests/policy;
tests/e2e/test_iam_bad_input.py and test_s3_unsigned_inputs.py hold the fixed cases.)"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.auth import S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.iam_support import raw_request
from tests.e2e.server import REGION, Server
from tests.e2e.test_s3_support import Raw, bucket, raw, root, send, signed_headers

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TIMEOUT = 30  # seconds a client waits for any answer: a server that says nothing by then hangs

NASTY = [b"..", b"/", b"%", b"%00", b"\x00", b"%ff", b"\xff\xfe", b"?", b"&", b"=", b"#", b";", b" "]
NASTY += [b"%2e%2e", b"\xc0\xae", b"\xed\xa0\x80", b"\xf0\x9f\x92\xa9", b"\t", b"\x7f", b"+", b"\\"]
nasty_bytes = st.lists(st.sampled_from(NASTY) | st.binary(max_size=6), max_size=12).map(b"".join)
nasty_text = st.text(st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
    ["", " ", "\x00", "..", "x" * 3000, "AKIAAAAAAAAAAAAAAAAA", "20260101T000000Z", "-1", "9" * 30]
)


def alive(server: Server) -> None:
    with urllib.request.urlopen(server.endpoint + "/_monban/health", timeout=TIMEOUT) as response:
        assert response.status == 200


@pytest.fixture(scope="module")
def target(server: Server) -> Iterator[tuple[Server, str]]:
    """The server and a bucket of its first account holding ``k``; alive after the module."""
    name = bucket(server, root(server))
    assert raw(server, "PUT", f"/{name}/k", root(server), b"data").status == 200
    yield server, name
    alive(server)


def exchange(server: Server, data: bytes) -> int | None:
    """Send raw bytes and read until the server closes; its status, None if it closed without one
    (a connection it dropped). A server still waiting (for a body the headers promised) after a
    moment gets our end of stream, and must then answer or close: silence past TIMEOUT fails."""
    port = urllib.parse.urlsplit(server.endpoint).port
    with socket.create_connection(("127.0.0.1", port or 80), timeout=TIMEOUT) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it hung up mid-send
            sock.sendall(data)
        answer = _read(sock, 2.0)
        if answer is None:  # nothing yet: it waits for more; there is no more
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
            answer = _read(sock, TIMEOUT)
        assert answer is not None, f"no answer and no close in {TIMEOUT}s: {data[:200]!r}"
    if not answer:
        return None
    status = answer.split(b"\r\n", 1)[0].split(b" ")
    assert len(status) >= 2 and status[0].startswith(b"HTTP/"), answer[:200]
    return int(status[1])


def _read(sock: socket.socket, wait: float) -> bytes | None:
    """Everything until the server closes (b"" if it closed at once), None if it is still silent
    after ``wait`` seconds."""
    sock.settimeout(wait)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
            sock.settimeout(TIMEOUT)  # it is answering: let it finish
    except ConnectionResetError:
        pass
    except TimeoutError:
        if not answer:
            return None
    return answer


HEADER_NAMES = [b"Host", b"Authorization", b"X-Amz-Date", b"Content-Length", b"Transfer-Encoding"]
HEADER_NAMES += [b"Content-Type", b"x-amz-content-sha256", b"Range", b"If-Match", b"x-amz-security-token"]
HEADER_NAMES += [
    b"Expect",
    b"x-amz-decoded-content-length",
    b"Content-Encoding",
    b"Connection",
    b"x-amz-copy-source",
]
header = st.tuples(st.sampled_from(HEADER_NAMES) | nasty_bytes, nasty_bytes)


@FUZZ
@given(
    method=st.sampled_from([b"GET", b"PUT", b"POST", b"HEAD", b"DELETE", b"OPTIONS", b"G\x00T", b""])
    | nasty_bytes,
    path=nasty_bytes,
    version=st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/9.9", b"HTTP/1.1 x", b""]),
    headers=st.lists(header, max_size=6),
    body=st.binary(max_size=64),
)
def test_malformed_request_lines_and_headers(
    target: tuple[Server, str],
    method: bytes,
    path: bytes,
    version: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> None:
    server, name = target
    lines = [method + b" /" + name.encode() + b"/" + path + b" " + version, b"Host: 127.0.0.1"]
    lines.append(b"Connection: close")
    lines += [key + b": " + value for key, value in headers]
    status = exchange(server, b"\r\n".join(lines) + b"\r\n\r\n" + body)
    assert status is None or status < 500


def _query_headers(server: Server, body: bytes, service: str) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(*next(iter(server.roots.values()))), service, REGION).add_auth(request)
    return dict(request.headers.items())


AUTH_PARTS = ["algorithm", "Credential", "SignedHeaders", "Signature", "separator"]


def mangle_authorization(authorization: str, part: str, junk: str) -> str:
    """One part of a real Authorization header replaced by ``junk``."""
    algorithm, _, rest = authorization.partition(" ")
    fields = dict(item.strip().split("=", 1) for item in rest.split(","))
    if part == "algorithm":
        algorithm = junk
    elif part == "separator":
        return f"{algorithm} " + junk.join(f"{k}={v}" for k, v in fields.items())
    else:
        fields[part] = junk if part != "Credential" else _mangle_scope(fields[part], junk)
    return f"{algorithm} " + ", ".join(f"{k}={v}" for k, v in fields.items())


def _mangle_scope(credential: str, junk: str) -> str:
    pieces = credential.split("/")
    pieces[len(junk) % len(pieces)] = junk
    return "/".join(pieces)


@FUZZ
@given(
    part=st.sampled_from([*AUTH_PARTS, "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256"]),
    junk=nasty_text,
    s3=st.booleans(),
)
def test_mangled_authorization(target: tuple[Server, str], part: str, junk: str, s3: bool) -> None:
    server, name = target
    if s3:
        headers = signed_headers(server, "GET", f"/{name}/k", root(server))
    else:
        headers = _query_headers(server, b"Action=ListUsers&Version=2010-05-08", "iam")
    if part in AUTH_PARTS:
        headers["Authorization"] = mangle_authorization(headers["Authorization"], part, junk)
    else:
        headers[part] = junk
    method, path = ("GET", f"/{name}/k") if s3 else ("POST", "/")
    body = b"" if s3 else b"Action=ListUsers&Version=2010-05-08"
    headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    headers.setdefault("Host", urllib.parse.urlsplit(server.endpoint).netloc)  # as signed
    head = f"{method} {path} HTTP/1.1\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + f"Content-Length: {len(body)}\r\n\r\n"
    answer = exchange(server, head.encode("utf-8", "surrogatepass") + body)
    if answer is None:  # dropped as malformed: a refusal
        return
    assert answer < 500, (part, junk, answer)
    if part in AUTH_PARTS and part != "separator":  # a signature that no longer holds: refused
        assert answer >= 400, (part, junk, answer)


PRESIGNED = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders"]
PRESIGNED += ["X-Amz-Signature", "X-Amz-Security-Token", "x-id", "response-content-type", "versionId"]


@FUZZ
@given(param=st.sampled_from(PRESIGNED), junk=nasty_bytes, how=st.sampled_from(["replace", "drop", "repeat"]))
def test_mangled_presigned_urls(target: tuple[Server, str], param: str, junk: bytes, how: str) -> None:
    server, name = target
    request = AWSRequest(method="GET", url=f"{server.endpoint}/{name}/k")
    S3SigV4QueryAuth(Credentials(*root(server)), "s3", REGION, expires=300).add_auth(request)
    url = urllib.parse.urlsplit(str(request.url))
    pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    value = urllib.parse.quote_from_bytes(junk, safe="")
    kept = [(k, v) for k, v in pairs if k != param or how == "repeat"]
    query = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in kept)
    if how != "drop":
        query += f"&{param}={value}"
    status = exchange(
        server, f"GET {url.path}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )
    assert status is not None and status < 500, (param, junk, how, status)


# actions that make nothing new in the shared server's accounts (other tests list them)
ACTIONS = ["ListUsers", "GetUser", "PutUserPolicy", "TagUser", "SimulatePrincipalPolicy"]
ACTIONS += ["SimulateCustomPolicy"]
ACTIONS += ["GetAccountAuthorizationDetails", "GetPolicy", "UpdateAssumeRolePolicy", "ListPolicies"]
STS_ACTIONS = ["AssumeRole", "GetSessionToken", "GetFederationToken", "DecodeAuthorizationMessage"]
PARAMS = [
    "UserName",
    "RoleName",
    "PolicyName",
    "PolicyDocument",
    "Path",
    "Marker",
    "MaxItems",
    "Tags.member.1.Key",
]
PARAMS += ["Tags.member.1.Value", "PolicySourceList.member.1", "ActionNames.member.1", "RoleArn", "Policy"]
PARAMS += ["DurationSeconds", "RoleSessionName", "Name", "EncodedMessage", "PolicyArns.member.1.arn", "Scope"]
PARAMS += ["Filter.member.1", "AssumeRolePolicyDocument", "PathPrefix", "ResourceArns.member.0", "x" * 300]


@FUZZ
@given(
    sts=st.booleans(),
    action=st.integers(0, 100),
    pairs=st.lists(st.tuples(st.sampled_from(PARAMS) | nasty_bytes.map(repr), nasty_bytes), max_size=5),
    tail=nasty_bytes,
)
def test_garbage_forms(
    target: tuple[Server, str], sts: bool, action: int, pairs: list[tuple[str, bytes]], tail: bytes
) -> None:
    server, _name = target
    names = STS_ACTIONS if sts else ACTIONS
    version = "2011-06-15" if sts else "2010-05-08"
    body = f"Action={names[action % len(names)]}&Version={version}".encode()
    for key, value in pairs:
        body += b"&" + urllib.parse.quote(key).encode() + b"=" + value
    body += tail
    headers = _query_headers(server, body, "sts" if sts else "iam")
    answer = send(server, "POST", "/", headers, body)
    assert answer.status < 500, (body, answer.body)


POLICY_KEYS = ["Version", "Statement", "Effect", "Action", "NotAction", "Resource", "NotResource"]
POLICY_KEYS += ["Principal", "NotPrincipal", "Condition", "Sid", "Id", "AWS", "StringLike", "aws:SourceIp"]
POLICY_KEYS += ["IpAddress", "DateLessThan", "ForAnyValue:StringEquals", "Null", "Bool", "s3:prefix"]
POLICY_VALUES = ["2012-10-17", "2008-10-17", "Allow", "Deny", "*", "s3:*", "iam:Get*", "arn:aws:s3:::*"]
POLICY_VALUES += ["arn:aws:iam::123456789012:root", "10.0.0.0/8", "${aws:username}", "${", "true", "::1/0"]
json_leaf = (
    st.sampled_from(POLICY_VALUES)
    | nasty_text
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.none()
)
policy_json = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(POLICY_KEYS) | nasty_text, inner, max_size=4)
    ),
    max_leaves=14,
)


@FUZZ
@given(document=policy_json, as_text=st.booleans())
def test_policy_documents(target: tuple[Server, str], document: Any, as_text: bool) -> None:
    """PutUserPolicy and PutBucketPolicy: stored (200/204) or refused as AWS refuses (4xx)."""
    server, name = target
    text = json.dumps(document) if as_text or not isinstance(document, str) else document
    form = urllib.parse.urlencode(
        {"Action": "PutUserPolicy", "Version": "2010-05-08", "UserName": "fuzz", "PolicyName": "p"}
    )
    body = f"{form}&PolicyDocument={urllib.parse.quote(text)}".encode()
    iam = raw_request(server, body)
    assert iam.status < 500, (text, iam.body)
    s3 = raw(server, "PUT", f"/{name}?policy", root(server), text.encode("utf-8", "surrogatepass"))
    assert s3.status < 500, (text, s3.body)
    if s3.status == 204:  # a policy that parsed: leave the bucket as it was
        assert raw(server, "DELETE", f"/{name}?policy", root(server)).status == 204


XML_NAMES = ["Delete", "Object", "Key", "VersionId", "Quiet", "CompleteMultipartUpload", "Part", "PartNumber"]
XML_NAMES += ["ETag", "CreateBucketConfiguration", "LocationConstraint", "Tagging", "TagSet", "Tag", "Value"]
xml_name = st.sampled_from(XML_NAMES) | st.from_regex(r"[A-Za-z_][\w.-]{0,8}", fullmatch=True)
xml_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12).map(
    lambda t: t.replace("&", "&amp;").replace("<", "&lt;")
) | st.sampled_from(["&#0;", "&bogus;", "<![CDATA[x]]>", "&#x110000;", "1" * 40, "-1", "null"])
xml_tree = st.recursive(
    xml_text,
    lambda inner: st.tuples(xml_name, st.lists(inner, max_size=3)).map(
        lambda t: f"<{t[0]}>{''.join(t[1])}</{t[0]}>"
    ),
    max_leaves=10,
)
XML_CALLS = [("POST", "?delete"), ("POST", "/k?uploadId=x"), ("PUT", "?policy"), ("POST", "/k?uploads")]
XML_CALLS += [("PUT", "-new")]  # CreateBucket's CreateBucketConfiguration


@FUZZ
@given(
    call=st.sampled_from(XML_CALLS),
    root_name=st.sampled_from(["Delete", "CompleteMultipartUpload", "Tagging"]) | xml_name,
    inner=xml_tree,
    prolog=st.sampled_from(
        ["", '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-16"?>']
    ),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]),
    cut=st.integers(0, 400),
)
def test_xml_bodies(
    target: tuple[Server, str],
    call: tuple[str, str],
    root_name: str,
    inner: str,
    prolog: str,
    encoding: str,
    cut: int,
) -> None:
    server, name = target
    method, suffix = call
    body = f'{prolog}<{root_name} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</{root_name}>'
    data = body.encode(encoding, "replace")[: max(cut, 1) if cut < 200 else None]
    headers = {"Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()}
    path = f"/{name}{suffix}"
    answer = raw(server, method, path, root(server), data, headers)
    assert answer.status < 500, (method, path, data, answer.body)
    if answer.status < 300 and suffix in ("-new", "?policy"):  # leave the account as it was
        raw(server, "DELETE", path, root(server))


PROLOG = '<?xml version="1.0" encoding="{}"?>'
BOMB = (
    '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefg", "bcdefgh", strict=True))
    + ']><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>&h;</Key></Object></Delete>'
)
NAMED = (  # an entity naming the one object of the bucket: expanded, it would delete it
    '<!DOCTYPE d [<!ENTITY a "k">]>'
    '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>&a;</Key></Object></Delete>'
)


@pytest.mark.parametrize("document", [BOMB, NAMED])
@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16", "UTF-16-BE"])
def test_a_dtd_in_any_encoding_is_malformed_xml(
    target: tuple[Server, str], document: str, encoding: str
) -> None:
    """No entity is ever expanded: a DTD (an entity bomb whose expansion is 10^8 bytes, an entity
    naming a key) is MalformedXML, in UTF-8 as when hidden in UTF-16, where the bytes
    ``<!DOCTYPE`` never appear."""
    server, name = target
    data = (PROLOG.format(encoding.removesuffix("-BE")) + document).encode(encoding)
    headers = {"Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()}
    answer = raw(server, "POST", f"/{name}?delete", root(server), data, headers)
    assert (answer.status, b"<Code>MalformedXML</Code>" in answer.body) == (400, True), answer.body
    assert raw(server, "GET", f"/{name}/k", root(server)).body == b"data"


KEY_PIECES = [b"..", b"/", b"\x00", b"%00", b"\xff", b"\xc0\xae", b"\xed\xa0\x80", b"./", b"//", b"~"]
KEY_PIECES += [b"\xf0\x9f\x92\xa9", b"\r", b"\n", b"?", b"#", b"%", b"+", b" ", b"a" * 300, b"\\"]
s3_key = st.lists(
    st.sampled_from(KEY_PIECES) | st.binary(min_size=1, max_size=4), min_size=1, max_size=8
).map(b"".join)


@FUZZ
@given(key=s3_key)
def test_s3_keys(target: tuple[Server, str], key: bytes) -> None:
    """A key is stored and read back exactly (200), or refused (4xx): ``..`` never walks, NUL and
    invalid UTF-8 never reach a path, a key over 1024 bytes is KeyTooLongError."""
    server, name = target
    path = f"/{name}/" + urllib.parse.quote_from_bytes(key, safe="")
    body = hashlib.sha256(key).digest()
    put = raw(server, "PUT", path, root(server), body)
    assert put.status < 500, (key, put.body)
    if b"\x00" in key and len(key) <= 1024:  # InvalidArgument (InvalidURI when not UTF-8 besides)
        assert put.status == 400, (key, put.body)
    if len(key) > 1024:
        assert put.status == 400 and b"KeyTooLongError" in put.body, (key, put.body)
    if put.status == 200:
        got: Raw = raw(server, "GET", path, root(server))
        assert (got.status, got.body) == (200, body), key
        assert raw(server, "DELETE", path, root(server)).status == 204
    assert raw(server, "GET", f"/{name}/k", root(server)).body == b"data"  # nothing else was touched


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/{b}/a%00b", {}),
        ("/{b}?prefix=a%00", {}),
        ("/{b}?list-type=2&start-after=%00", {}),
        ("/{b}/copy", {"x-amz-copy-source": "/{b}/k%00"}),
    ],
)
def test_nul_in_a_key_or_parameter_is_invalid_argument(
    target: tuple[Server, str], path: str, headers: dict[str, str]
) -> None:
    """U+0000 in a key, a copy source's key or a listing parameter is InvalidArgument on every
    database (PostgreSQL's text cannot hold it), never a 500."""
    server, name = target
    method = "PUT" if "x-amz-copy-source" in headers else "GET"
    sent = {k: v.format(b=name) for k, v in headers.items()}
    answer = raw(server, method, path.format(b=name), root(server), b"", sent)
    assert (answer.status, b"<Code>InvalidArgument</Code>" in answer.body) == (400, True), answer.body


EC2_ACTIONS = ["DescribeInstances", "RunInstances", "TerminateInstances", "CreateTags", "DeleteTags"]
EC2_ACTIONS += ["DescribeTags", "DescribeRegions", "DescribeAvailabilityZones", "AssociateIamInstanceProfile"]
EC2_ACTIONS += ["ReplaceIamInstanceProfileAssociation", "DescribeIamInstanceProfileAssociations"]
EC2_PARAMS = ["InstanceId.1", "Filter.1.Name", "Filter.1.Value.1", "MaxResults", "NextToken", "ImageId"]
EC2_PARAMS += ["MinCount", "MaxCount", "InstanceType", "IamInstanceProfile.Name", "IamInstanceProfile.Arn"]
EC2_PARAMS += ["TagSpecification.1.ResourceType", "TagSpecification.1.Tag.1.Key", "ResourceId.1", "Tag.1.Key"]
EC2_PARAMS += ["AssociationId", "Placement.AvailabilityZone", "MetadataOptions.HttpTokens", "DryRun"]
EC2_PARAMS += ["x.99999", "Filter.99999999999999999999.Name", "InstanceId.-1"]


@FUZZ
@given(
    action=st.integers(0, 100),
    pairs=st.lists(st.tuples(st.sampled_from(EC2_PARAMS) | nasty_bytes.map(repr), nasty_bytes), max_size=6),
)
def test_garbage_ec2_forms(target: tuple[Server, str], action: int, pairs: list[tuple[str, bytes]]) -> None:
    """EC2's dialect (flat ``Name.N`` lists, filters): an EC2 error, never a 500."""
    server, _name = target
    body = f"Action={EC2_ACTIONS[action % len(EC2_ACTIONS)]}&Version=2016-11-15".encode()
    for key, value in pairs:
        body += b"&" + urllib.parse.quote(key).encode() + b"=" + value
    answer = send(server, "POST", "/", _query_headers(server, body, "ec2"), body)
    assert answer.status < 500, (body, answer.body)
