"""Hot-path shortcuts answer exactly what the plain definitions answer.

Each shortcut (the header index, canonical text kept as it is, ``str`` methods in place of regexes,
the prepared HMAC states) is compared with a straightforward oracle on generated inputs, biased
towards the characters where the two could part: white space, commas, escapes, ``+``, dots.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monban import sigv4
from monban.sigv4 import HttpRequest, SigV4Error, canonical, parse, verify
from monban.sigv4.keys import Signer

# ``monban.sigv4.parse`` is also the name of the function the package exports.
parse_module = __import__("monban.sigv4.parse", fromlist=["_scheme"])

WHITE = [" ", "\t", "\r", "\n", "\f", "\v", "\x1c", "\x85", "\xa0", "\u3000"]
text = st.text(st.sampled_from(["a", "B", "=", ",", ";", "/", "%", "+", ".", "~", "é", *WHITE]), max_size=12)
QUERY_ALPHABET = [
    "a",
    "Z",
    "0",
    "-",
    "_",
    ".",
    "~",
    "%",
    "2",
    "F",
    "f",
    "7",
    "E",
    "+",
    "=",
    "&",
    "/",
    " ",
    "!",
]
query_text = st.text(st.sampled_from(QUERY_ALPHABET), max_size=24)


def test_header_index_answers_like_a_scan() -> None:
    headers = (("Host", "h"), ("X-A", "1"), ("x-a", "2"), ("X-Empty", ""), ("\xc9", "latin"))
    request = HttpRequest("GET", "/", "", headers)
    for name in ("host", "HOST", "x-a", "X-A", "x-empty", "x-missing", "\xe9", "\xc9"):
        scan = [value for key, value in headers if key.lower() == name.lower()]
        assert request.header_values(name) == scan
        assert request.header(name) == (scan[0] if scan else None)


def test_header_values_are_a_copy() -> None:
    request = HttpRequest("GET", "/", "", (("x-a", "1"),))
    request.header_values("x-a").append("2")
    assert request.header_values("x-a") == ["1"]


def test_header_index_follows_replace_and_stays_out_of_equality() -> None:
    request = HttpRequest("GET", "/", "a=1", (("x-a", "1"),))
    assert request.query_pairs() == ((b"a", b"1"),)
    changed = replace(request, headers=(("X-A", "2"),), query="b=2")
    assert changed.header("x-a") == "2"
    assert changed.query_pairs() == ((b"b", b"2"),)
    twin = HttpRequest("GET", "/", "a=1", (("x-a", "1"),))
    assert twin == request and hash(twin) == hash(request)
    assert "_by_name" not in repr(request)


@given(text)
def test_header_value_shortcut(value: str) -> None:
    assert canonical.header_value(value) == re.sub(r"[ \t\r\n\f\v]+", " ", value).strip(" ")


def _bytes_query(query: str, omit: tuple[str, ...]) -> str:
    """The canonical query by its definition: decode every pair to bytes, encode, sort."""
    omitted = {name.encode() for name in omit}
    pairs = [
        (sigv4.uri_encode(name), sigv4.uri_encode(value))
        for name, value in canonical.query_pairs(query)
        if name not in omitted
    ]
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


@given(query_text, st.sampled_from([(), ("a",), ("X-Amz-Signature",), ("a b", "~")]))
def test_ascii_query_shortcut(query: str, omit: tuple[str, ...]) -> None:
    assert sigv4.canonical_query(query, omit=omit) == _bytes_query(query, omit)


@pytest.mark.parametrize("byte", range(256))
def test_every_escape_is_kept_only_when_canonical(byte: int) -> None:
    for form in (f"%{byte:02X}", f"%{byte:02x}", chr(byte) if byte < 128 else "x"):
        query = f"k={form}&{form}=v"
        assert sigv4.canonical_query(query) == _bytes_query(query, ())


def test_query_shortcut_is_linear_on_hostile_text() -> None:
    query = "a=" + "a" * 50_000 + "!"
    assert sigv4.canonical_query(query) == "a=" + "a" * 50_000 + "%21"


@settings(max_examples=300)
@given(st.text(st.sampled_from(["a", "/", ".", "%", "2", "F", "~", " ", "é", "\udcff"]), max_size=16))
def test_canonical_uri_shortcut(path: str) -> None:
    """The shortcut (nothing to encode) against the segment-by-segment encoding."""
    s3 = "/".join(sigv4.uri_encode(unquote_to_bytes(canonical.to_bytes(part))) for part in path.split("/"))
    assert sigv4.canonical_uri(path, normalize=False, double_encode=False) == (s3 or "/")
    normal = canonical.remove_dot_segments(path)
    other = sigv4.uri_encode(canonical.to_bytes(normal), keep_slash=True) if normal else "/"
    assert sigv4.canonical_uri(path, normalize=True, double_encode=True) == other


@given(st.lists(st.sampled_from(["AWS4-HMAC-SHA256", "AWS", "x", ",", "=", *WHITE]), max_size=8).map("".join))
def test_authorization_scheme_shortcut(authorization: str) -> None:
    match = re.fullmatch(r"\s*(\S*)\s*(.*)", authorization, re.DOTALL)
    assert match is not None
    assert parse_module._scheme(authorization) == match.groups()


@given(text)
def test_authorization_fields_split_like_the_regex(rest: str) -> None:
    parts = [part for part in re.split(r"[,\s]+", rest) if part]
    try:
        fields = parse_module._header_fields(rest, rest)
    except SigV4Error:
        assert any("=" not in part for part in parts)
        return
    assert fields == {part.partition("=")[0]: part.partition("=")[2] for part in parts}


@given(
    st.tuples(
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
    )
)
def test_amz_date_parses_like_the_constructor(parts: tuple[int, int, int, int, int, int]) -> None:
    year, month, day, hour, minute, second = parts
    date = f"{year:04d}{month:02d}{day:02d}T{hour:02d}{minute:02d}{second:02d}Z"
    try:
        expected: datetime | None = datetime(*parts, tzinfo=UTC)
    except ValueError:
        expected = None
    try:
        got: datetime | None = parse_module._amz_date(date)
    except SigV4Error:
        got = None
    assert got == expected
    if got is not None:
        assert got.utcoffset() is not None and not got.utcoffset()
        assert sigv4.format_amz_date(got) == date


def test_amz_date_text_is_derived() -> None:
    request = HttpRequest(
        "GET",
        "/",
        "",
        (
            ("Host", "h"),
            ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, "
                "SignedHeaders=host;date, Signature=x",
            ),
        ),
    )
    signed = parse(request)
    assert signed is not None
    assert signed.amz_date_text == "20150830T123600Z"
    early = replace(signed, amz_date=datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert early.amz_date_text == "09990102T030405Z"


@given(st.binary(max_size=100), st.text(max_size=80))
def test_signer_is_hmac_sha256(key: bytes, message: str) -> None:
    expected = hmac.new(key, message.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    assert Signer(key).sign(message) == expected == sigv4.sign(key, message)


def test_cache_signer_belongs_to_the_cached_key() -> None:
    cache = sigv4.SigningKeyCache()
    key = cache.get("secret", "20150830", "us-east-1", "s3")
    assert cache.signer("secret", "20150830", "us-east-1", "s3").sign("x") == sigv4.sign(key, "x")
    assert len(cache) == 1


def test_verify_without_a_cache_still_signs() -> None:
    request = HttpRequest("GET", "/", "", (("Host", "h"), ("X-Amz-Date", "20150830T123600Z")))
    scope = "20150830/us-east-1/iam/aws4_request"
    key = sigv4.signing_key("secret", "20150830", "us-east-1", "iam")
    text = sigv4.canonical_request(request, ("host", "x-amz-date"), sigv4.EMPTY_SHA256, normalize_path=True)
    signature = sigv4.sign(key, sigv4.string_to_sign("20150830T123600Z", scope, text))
    authorization = (
        f"AWS4-HMAC-SHA256 Credential=AKID/{scope}, SignedHeaders=host;x-amz-date, Signature={signature}"
    )
    signed_request = HttpRequest("GET", "/", "", (*request.headers, ("Authorization", authorization)))
    signed = parse(signed_request)
    assert signed is not None
    now = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
    verify(signed, signed_request, "secret", now=now, body_sha256=sigv4.EMPTY_SHA256, normalize_path=True)
    with pytest.raises(SigV4Error):
        verify(signed, signed_request, "other", now=now, body_sha256=sigv4.EMPTY_SHA256, normalize_path=True)
