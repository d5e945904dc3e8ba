"""AWS Signature Version 4: parse and verify signed requests, presigned URLs and aws-chunked bodies.

A pure library: it knows HTTP only as the ``HttpRequest`` value the server hands it, and nothing of
the rest of monban. ``parse`` finds the signature, ``precheck``/``verify`` check it against the
caller's secret key, ``ChunkedPayloadDecoder`` checks a streamed body chunk by chunk.
"""

from monban.sigv4.canonical import (
    EMPTY_SHA256,
    canonical_headers,
    canonical_query,
    canonical_request,
    canonical_uri,
    canonicalize,
    string_to_sign,
    uri_encode,
)
from monban.sigv4.chunked import ChunkedPayloadDecoder
from monban.sigv4.errors import SigV4Error, format_amz_date, missing_authentication_token
from monban.sigv4.keys import SigningKeyCache, sign, signing_key
from monban.sigv4.model import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
    CredentialScope,
    HttpRequest,
    SignedRequest,
)
from monban.sigv4.parse import parse
from monban.sigv4.verify import precheck, unsigned_headers, verify

__all__ = [
    "EMPTY_SHA256",
    "STREAMING_SIGNED",
    "STREAMING_SIGNED_TRAILER",
    "STREAMING_UNSIGNED_TRAILER",
    "UNSIGNED_PAYLOAD",
    "ChunkedPayloadDecoder",
    "CredentialScope",
    "HttpRequest",
    "SigV4Error",
    "SignedRequest",
    "SigningKeyCache",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "canonicalize",
    "format_amz_date",
    "missing_authentication_token",
    "parse",
    "precheck",
    "sign",
    "signing_key",
    "string_to_sign",
    "unsigned_headers",
    "uri_encode",
    "verify",
]
