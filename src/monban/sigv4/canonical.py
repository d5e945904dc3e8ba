"""The canonical request and string to sign (AWS SigV4, "Create a canonical request").

Canonical request = method, canonical URI, canonical query, canonical headers, signed headers and
payload hash, one per line. Everything here works on bytes where AWS does: a percent escape is
decoded to the byte it names and re-encoded with upper-case hex, so ``%7e`` and ``~`` agree.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from urllib.parse import unquote_to_bytes

from monban.sigv4.encoding import form_decode, query_pairs, to_bytes
from monban.sigv4.errors import format_amz_date
from monban.sigv4.model import ALGORITHM, CredentialScope, HttpRequest

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_ENCODED = tuple(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256))
_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~/]*")
# A query name or value as ``UriEncode`` writes it: unreserved characters, and upper-case escapes of
# every other byte. Possessive quantifiers: linear time on any input.
_ENCODED_TEXT = re.compile(
    r"(?:[A-Za-z0-9\-._~]++|%(?:[01][0-9A-F]|2[0-9A-CF]|3[A-F]|40|5[B-E]|60|7[B-DF]|[89A-F][0-9A-F]))*+"
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def uri_encode(data: bytes, *, keep_slash: bool = False) -> str:
    """AWS ``UriEncode``: every byte but the RFC 3986 unreserved set as ``%XY`` (upper-case hex)."""
    if keep_slash:
        return "/".join(uri_encode(part) for part in data.split(b"/"))
    return "".join([_ENCODED[b] for b in data])


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, plus the collapse of empty segments (``//``) that AWS services other than S3 do.

    The trailing slash survives only when something is left (botocore ``remove_dot_segments``).
    """
    output: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if output:
                output.pop()
            continue
        output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last


def canonical_uri(path: str, *, normalize: bool, double_encode: bool) -> str:
    """The canonical URI.

    Services other than S3 remove dot segments and duplicate slashes and URI-encode the path as it
    arrived ("each path segment must be URI-encoded twice"). S3 does neither: it URI-encodes each
    segment once, so the segment is decoded first and re-encoded in canonical form.
    """
    if path == "/":
        return path
    if normalize:
        path = remove_dot_segments(path)
    if not path:
        return "/"
    if _PLAIN_PATH.fullmatch(path):
        return path  # unreserved characters and slashes only: every encoding leaves it as it is
    if double_encode:
        return uri_encode(to_bytes(path), keep_slash=True)
    return "/".join(uri_encode(unquote_to_bytes(to_bytes(segment))) for segment in path.split("/"))


def canonical_query(query: str, *, omit: Collection[str] = ()) -> str:
    """The canonical query string: each name and value URI-encoded, sorted by name then value.

    ``omit`` names parameters left out (``X-Amz-Signature`` of a presigned URL).
    """
    if not query:
        return ""
    if query.isascii():
        return _encode_ascii_query(query, omit)
    return _encode_query(query_pairs(query), omit)


def _encode_query(pairs: Iterable[tuple[bytes, bytes]], omit: Collection[str]) -> str:
    omitted = {to_bytes(name) for name in omit}
    encoded = sorted((uri_encode(name), uri_encode(value)) for name, value in pairs if name not in omitted)
    return "&".join(f"{name}={value}" for name, value in encoded)


def _encode_ascii_query(query: str, omit: Collection[str]) -> str:
    """``_encode_query`` of ``query_pairs(query)``, from the text: the SDKs send names and values
    encoded as ``UriEncode`` writes them, and those are kept as they are, not decoded and re-encoded.
    (``UriEncode`` is one-to-one, so names compare encoded as well as decoded.)
    """
    omitted = {uri_encode(to_bytes(name)) for name in omit}
    encoded: list[tuple[str, str]] = []
    for member in query.split("&"):
        if not member:
            continue
        name, _, value = member.partition("=")
        name = _encode_text(name)
        if name not in omitted:
            encoded.append((name, _encode_text(value)))
    encoded.sort()
    return "&".join([f"{name}={value}" for name, value in encoded])


def _encode_text(text: str) -> str:
    if _ENCODED_TEXT.fullmatch(text):
        return text
    return uri_encode(form_decode(text.encode("ascii")))


def _request_query(request: HttpRequest, omit: Collection[str]) -> str:
    """``canonical_query`` of the request's query, reusing its decoded pairs when it has to decode."""
    query = request.query
    if not query or query.isascii():
        return canonical_query(query, omit=omit)
    return _encode_query(request.query_pairs(), omit)


def header_value(value: str) -> str:
    """Trim the value and collapse runs of whitespace (folded lines included) into one space."""
    # Most values hold no white space but single spaces between words: already canonical, no regex.
    if " ".join(value.split()) == value:
        return value
    return _WHITESPACE.sub(" ", value).strip(" ")


def as_sent(value: str) -> str:
    """A header value (its bytes read as Latin-1, one character per byte: ``HttpRequest``) as the
    text whose ``to_bytes`` is the bytes as sent. SigV4 signs the header's bytes, so a UTF-8
    ``x-amz-meta-*`` value (``é`` is C3 A9 on the wire) hashes as those two bytes, not as the
    UTF-8 encoding of two Latin-1 characters."""
    if value.isascii():
        return value
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:  # not bytes read as Latin-1 but text (a library caller's): its UTF-8
        return value
    return raw.decode("utf-8", "surrogateescape")


def canonical_headers(request: HttpRequest, signed_headers: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """The canonical header lines for ``signed_headers`` and the signed names the request lacks.

    Each line is ``lower(name):value`` with repeated headers joined by ``,`` in arrival order.
    """
    lines, _, missing = _header_block(request, signed_headers)
    return lines, missing


def _header_block(request: HttpRequest, signed_headers: Iterable[str]) -> tuple[str, str, tuple[str, ...]]:
    """The canonical header lines, the signed headers line, and the signed names the request lacks."""
    lines: list[str] = []
    names: list[str] = []
    missing: list[str] = []
    for name in signed_headers:
        lowered = name.lower()
        names.append(lowered)
        values = request._values(lowered)
        if values is None:
            missing.append(name)
        elif len(values) == 1:
            lines.append(f"{lowered}:{as_sent(header_value(values[0]))}\n")
        else:
            lines.append(f"{lowered}:{as_sent(','.join([header_value(value) for value in values]))}\n")
    return "".join(lines), ";".join(names), tuple(missing)


def canonical_request(
    request: HttpRequest,
    signed_headers: Sequence[str],
    payload_hash: str,
    *,
    normalize_path: bool,
    double_encode: bool | None = None,
    omit_query: Collection[str] = (),
) -> str:
    """The canonical request (``double_encode`` defaults to ``normalize_path``: both off for S3 only)."""
    text, _ = canonicalize(
        request,
        signed_headers,
        payload_hash,
        normalize_path=normalize_path,
        double_encode=double_encode,
        omit_query=omit_query,
    )
    return text


def canonicalize(
    request: HttpRequest,
    signed_headers: Sequence[str],
    payload_hash: str,
    *,
    normalize_path: bool,
    double_encode: bool | None = None,
    omit_query: Collection[str] = (),
) -> tuple[str, tuple[str, ...]]:
    """The canonical request and the signed header names absent from ``request``."""
    headers, names, missing = _header_block(request, signed_headers)
    encode_twice = normalize_path if double_encode is None else double_encode
    text = "\n".join(
        (
            request.method.upper(),
            canonical_uri(request.path, normalize=normalize_path, double_encode=encode_twice),
            _request_query(request, omit_query),
            headers,
            names,
            payload_hash,
        )
    )
    return text, missing


def string_to_sign(amz_date: datetime | str, scope: CredentialScope | str, canonical: str) -> str:
    """``AWS4-HMAC-SHA256``, the request time, the credential scope and the hex SHA-256 of ``canonical``."""
    when = amz_date if isinstance(amz_date, str) else format_amz_date(amz_date)
    digest = hashlib.sha256(to_bytes(canonical)).hexdigest()
    return f"{ALGORITHM}\n{when}\n{scope}\n{digest}"
