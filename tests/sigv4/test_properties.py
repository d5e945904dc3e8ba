"""Properties: garbage never escapes as anything but SigV4Error or None; botocore-signed random requests
verify; a request changed in any signed respect, or checked with another secret, never verifies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monban import sigv4
from monban.sigv4 import HttpRequest, SigV4Error

from .helpers import SUITE_NOW, flip_hex, from_prepared, sha256_hex, with_header

GOOD = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
FRAGMENTS = [
    GOOD,
    GOOD.replace("service", "s3"),
    "AWS4-HMAC-SHA256",
    "Credential=",
    "SignedHeaders=host",
    "Signature=",
    "20150830T123600Z",
    "Sun, 30 Aug 2015 12:36:00 GMT",
    "UNSIGNED-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    sha256_hex(b""),
    "AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request",
    ",",
    " ",
    ";",
    "/",
    "=",
]
HEADER_NAMES = [
    "Authorization",
    "authorization",
    "X-Amz-Date",
    "Date",
    "X-Amz-Security-Token",
    "x-amz-content-sha256",
    "Host",
    "x-amz-meta-a",
]
QUERY_NAMES = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
    "AWSAccessKeyId",
    "Signature",
]

text = st.text(max_size=40)
fragment_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), text), max_size=6).map("".join)


GOOD_QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0" * 64
)


def _mangle(good: str) -> st.SearchStrategy[str]:
    """``good`` with one slice replaced: reaches every parse rule."""

    @st.composite
    def mangled(draw: st.DrawFn) -> str:
        start = draw(st.integers(0, len(good)))
        end = draw(st.integers(start, min(len(good), start + 20)))
        return good[:start] + draw(fragment_text) + good[end:]

    return mangled()


def mangled_good() -> st.SearchStrategy[str]:
    return st.one_of(_mangle(GOOD), _mangle(GOOD.replace("service", "s3")))


header_values = st.one_of(fragment_text, mangled_good(), st.sampled_from(FRAGMENTS))
headers = st.lists(
    st.tuples(st.one_of(st.sampled_from(HEADER_NAMES), st.text(min_size=1, max_size=10)), header_values),
    max_size=6,
)
query_members = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(QUERY_NAMES), text), st.one_of(fragment_text, st.sampled_from(FRAGMENTS))
    ),
    max_size=8,
).map(lambda pairs: "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs))
raw_query = st.one_of(query_members, text, st.sampled_from(["X-Amz-Algorithm=AWS4-HMAC-SHA256", "%", "&&=&"]))
garbage = st.builds(
    HttpRequest, st.sampled_from(["GET", "PUT", "post", ""]), text, raw_query, headers.map(tuple)
)
nearly_valid_header = st.builds(
    lambda auth, date, extra: HttpRequest(
        "GET", "/", "", (("Host", "h"), ("Authorization", auth), ("X-Amz-Date", date), *extra)
    ),
    mangled_good(),
    st.one_of(st.just("20150830T123600Z"), _mangle("20150830T123600Z")),
    headers,
)
nearly_valid_query = st.builds(
    lambda query, extra: HttpRequest("GET", "/k", query, (("Host", "h"), *extra)),
    st.one_of(_mangle(GOOD_QUERY), _mangle(GOOD_QUERY.replace("%2Fs3%2F", "%2Fsts%2F"))),
    headers,
)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(garbage, nearly_valid_header, nearly_valid_query),
    st.sampled_from([None, b""]),
    st.booleans(),
    st.integers(-(10**6), 10**6),
)
def test_garbage_gives_none_or_sigv4_error(
    request: HttpRequest, body: bytes | None, s3: bool, offset: int
) -> None:
    try:
        signed = sigv4.parse(request)
    except SigV4Error:
        return
    if signed is None:
        return
    try:
        sigv4.verify(
            signed,
            request,
            "secret",
            now=SUITE_NOW + timedelta(seconds=offset),
            body_sha256=sha256_hex(b"") if body is not None or not signed.is_s3 else None,
            normalize_path=not s3,
            expected_service="s3" if s3 else None,
            valid_regions=lambda region: region == "us-east-1",
        )
    except SigV4Error:
        return
    raise AssertionError(f"a random request verified: {request}")  # pragma: no cover


# --- botocore-signed random requests ---------------------------------------------------------------------

segment = st.one_of(st.sampled_from([".", "..", "", "a", "~"]), st.text(min_size=1, max_size=8))
paths = st.lists(segment, max_size=5).map(
    lambda parts: "/" + "/".join(quote(part, safe="~") for part in parts)
)
query_pairs = st.lists(st.tuples(st.text(min_size=1, max_size=6), st.text(max_size=6)), max_size=4)
printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
extra_headers = st.dictionaries(st.from_regex(r"x-[a-z0-9]{1,8}", fullmatch=True), printable, max_size=4)
MUTATIONS = ["signature", "path", "query", "header", "secret", "body", "method"]


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def _signed_by_botocore(
    auth_class: type[SigV4Auth],
    service: str,
    method: str,
    path: str,
    query: str,
    extra: dict[str, str],
    body: bytes,
) -> tuple[HttpRequest, bytes]:
    url = f"https://example.amazonaws.com{path}" + (f"?{query}" if query else "")
    aws_request = AWSRequest(method, url, dict(extra), body)
    auth_class(Credentials("AKIDEXAMPLE", "botocore secret", "token"), service, "us-east-1").add_auth(
        aws_request
    )
    return from_prepared(aws_request.prepare())


def _mutate(request: HttpRequest, mutation: str, signed: sigv4.SignedRequest) -> HttpRequest:
    if mutation == "signature":
        signature = signed.signature
        return with_header(
            request, "authorization", lambda value: value.replace(signature, flip_hex(signature, 63))
        )
    if mutation == "path":
        return replace(request, path=request.path + "x")
    if mutation == "query":
        return replace(request, query=f"{request.query}&zz=1" if request.query else "zz=1")
    if mutation == "header":
        victim = signed.signed_headers[-1]
        return with_header(request, victim, lambda value: value + "x")
    if mutation == "method":
        return replace(request, method="PUT" if request.method == "POST" else "POST")
    return request


def _verify(request: HttpRequest, service: str, body: bytes, secret: str = "botocore secret") -> None:
    signed = sigv4.parse(request)
    assert signed is not None
    sigv4.verify(
        signed,
        request,
        secret,
        now=datetime.now(UTC),
        body_sha256=sha256_hex(body),
        normalize_path=service != "s3",
        expected_service=service,
    )


def _check_property(
    service: str, auth_class: type[SigV4Auth], request: HttpRequest, body: bytes, mutation: str
) -> None:
    _verify(request, service, body)
    signed = sigv4.parse(request)
    assert signed is not None
    mutated = _mutate(request, mutation, signed)
    try:
        if mutation == "secret":
            _verify(mutated, service, body, secret="another secret")
        else:
            _verify(mutated, service, body + b"!" if mutation == "body" else body)
    except SigV4Error:
        return
    raise AssertionError(f"{mutation} mutation verified")  # pragma: no cover


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["GET", "POST"]),
    paths,
    query_pairs.map(_canonical_query),
    extra_headers,
    st.binary(max_size=64),
    st.sampled_from(MUTATIONS),
)
def test_botocore_signed_requests_verify_and_their_mutations_do_not(
    method: str, path: str, query: str, extra: dict[str, str], body: bytes, mutation: str
) -> None:
    request, sent = _signed_by_botocore(SigV4Auth, "iam", method, path, query, extra, body)
    _check_property("iam", SigV4Auth, request, sent, mutation)


s3_paths = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(quote(part, safe="~") for part in parts)
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["GET", "POST"]),
    s3_paths,
    query_pairs.map(_canonical_query),
    extra_headers,
    st.binary(max_size=64),
    st.sampled_from(MUTATIONS),
)
def test_botocore_s3_signed_requests_verify_and_their_mutations_do_not(
    method: str, path: str, query: str, extra: dict[str, str], body: bytes, mutation: str
) -> None:
    request, sent = _signed_by_botocore(S3SigV4Auth, "s3", method, path, query, extra, body)
    _check_property("s3", S3SigV4Auth, request, sent, mutation)
