"""Canonicalization details the vectors do not reach: S3 paths, odd escapes, odd queries, odd headers."""

from __future__ import annotations

import pytest

from monban import sigv4
from monban.sigv4 import HttpRequest
from monban.sigv4.canonical import query_pairs, remove_dot_segments, to_bytes


def test_uri_encode() -> None:
    assert sigv4.uri_encode(b"AZaz09-_.~ /%+*\xff") == "AZaz09-_.~%20%2F%25%2B%2A%FF"
    assert sigv4.uri_encode(b"/a b/c", keep_slash=True) == "/a%20b/c"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/./b/../c", "a/c"),
        ("/a/b/../../..", "/"),
        ("/a//b/", "/a/b/"),
        ("/./", "/"),
        ("", ""),
        ("/%2E%2E/x", "/%2E%2E/x"),
    ],
)
def test_remove_dot_segments(path: str, expected: str) -> None:
    assert remove_dot_segments(path) == expected


@pytest.mark.parametrize(
    ("path", "s3", "other"),
    [
        ("", "/", "/"),
        ("/key%2Fwith%2fslash", "/key%2Fwith%2Fslash", "/key%252Fwith%252fslash"),
        ("/a%7eb/c d/$", "/a~b/c%20d/%24", "/a%257eb/c%20d/%24"),
        ("/%e1%88%b4+x", "/%E1%88%B4%2Bx", "/%25e1%2588%25b4%2Bx"),
        ("/./a/../b//", "/./a/../b//", "/b/"),
        ("/bad%zz%", "/bad%25zz%25", "/bad%25zz%25"),
        ("/\udcff", "/%FF", "/%FF"),
    ],
)
def test_canonical_uri_s3_and_others(path: str, s3: str, other: str) -> None:
    """S3: each segment decoded and encoded once, no normalization; others: as sent, encoded again."""
    assert sigv4.canonical_uri(path, normalize=False, double_encode=False) == s3
    assert sigv4.canonical_uri(path, normalize=True, double_encode=True) == other


def test_to_bytes_survives_any_surrogate() -> None:
    assert to_bytes("\udcff") == b"\xff"
    assert to_bytes("\ud800") == b"\xed\xa0\x80"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ""),
        ("lifecycle", "lifecycle="),
        ("b=2&&a=1&", "a=1&b=2"),
        ("a=1+2&a=1%202&a=%7e", "a=1%202&a=1%202&a=~"),
        ("k=v=w", "k=v%3Dw"),
        ("%zz=%", "%25zz=%25"),
        ("B=1&a=2&%C3%A9=3", "%C3%A9=3&B=1&a=2"),
        ("é=\udcff", "%C3%A9=%FF"),
    ],
)
def test_canonical_query(query: str, expected: str) -> None:
    assert sigv4.canonical_query(query) == expected


def test_canonical_query_omits_by_exact_name() -> None:
    assert sigv4.canonical_query("X-Amz-Signature=s&x-amz-signature=t&a=1", omit=("X-Amz-Signature",)) == (
        "a=1&x-amz-signature=t"
    )
    assert query_pairs("a+b=c+d") == [(b"a b", b"c d")]


def test_canonical_headers() -> None:
    request = HttpRequest(
        "GET",
        "/",
        "",
        (("Host", "h"), ("X-A", "  one \t two\r\n  three "), ("x-a", "four"), ("X-Empty", ""), ("X-B", "b")),
    )
    lines, missing = sigv4.canonical_headers(request, ("host", "X-A", "x-empty", "x-missing"))
    assert lines == "host:h\nx-a:one two three,four\nx-empty:\n"
    assert missing == ("x-missing",)


def test_header_bytes_beyond_ascii_are_canonicalized_as_sent() -> None:
    """A UTF-8 value arrives as bytes, read one Latin-1 character per byte (``HttpRequest``); the
    canonical request holds those bytes, not the UTF-8 encoding of the Latin-1 characters."""
    sent = "é日本 x".encode()
    request = HttpRequest("PUT", "/", "", (("Host", "h"), ("x-amz-meta-a", sent.decode("latin-1"))))
    lines, _ = sigv4.canonical_headers(request, ("host", "x-amz-meta-a"))
    assert to_bytes(lines) == b"host:h\nx-amz-meta-a:" + sent + b"\n"
    not_utf8 = HttpRequest("PUT", "/", "", (("x-b", "\xff\xa0z"),))
    lines, _ = sigv4.canonical_headers(not_utf8, ("x-b",))
    assert to_bytes(lines) == b"x-b:\xff\xa0z\n"


def test_canonical_request_with_missing_header_reports_it() -> None:
    request = HttpRequest("get", "/", "", (("Host", "h"),))
    text, missing = sigv4.canonicalize(
        request, ("host", "x-amz-date"), sigv4.EMPTY_SHA256, normalize_path=True
    )
    assert text == f"GET\n/\n\nhost:h\n\nhost;x-amz-date\n{sigv4.EMPTY_SHA256}"
    assert missing == ("x-amz-date",)


def test_string_to_sign_accepts_text_date_and_scope() -> None:
    assert sigv4.string_to_sign("20150830T123600Z", "20150830/r/s/aws4_request", "") == (
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/r/s/aws4_request\n" + sigv4.EMPTY_SHA256
    )
