"""``parse``: finding the signature, and AWS's IncompleteSignature / MissingAuthenticationToken texts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monban import sigv4
from monban.sigv4 import HttpRequest, SigV4Error

HOST = ("Host", "example.amazonaws.com")
DATE = ("X-Amz-Date", "20150830T123600Z")
CREDENTIAL = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
SIGNATURE = "0" * 64
GOOD = f"AWS4-HMAC-SHA256 Credential={CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature={SIGNATURE}"
QUERY = (
    f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={CREDENTIAL.replace('/', '%2F')}"
    f"&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature={SIGNATURE}"
)


def _request(*headers: tuple[str, str], query: str = "", path: str = "/") -> HttpRequest:
    return HttpRequest("GET", path, query, (HOST, *headers))


def _error(request: HttpRequest) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        sigv4.parse(request)
    return caught.value


def _parsed(request: HttpRequest) -> sigv4.SignedRequest:
    signed = sigv4.parse(request)
    assert signed is not None
    return signed


def test_no_signature_is_anonymous() -> None:
    assert sigv4.parse(_request()) is None
    assert sigv4.parse(_request(DATE, query="Action=ListUsers&Signature=x&X-Amz-Date=1")) is None


def test_header_signature() -> None:
    signed = _parsed(_request(DATE, ("Authorization", GOOD)))
    assert signed.scope == sigv4.CredentialScope(
        "AKIDEXAMPLE", "20150830", "us-east-1", "service", "aws4_request"
    )
    assert str(signed.scope) == "20150830/us-east-1/service/aws4_request"
    assert signed.signed_headers == ("host", "x-amz-date")
    assert signed.signature == SIGNATURE
    assert signed.amz_date == datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
    assert (signed.presigned, signed.expires, signed.security_token, signed.payload_hash) == (
        False,
        None,
        None,
        "",
    )
    assert not signed.is_s3 and not signed.streaming


@pytest.mark.parametrize(
    "authorization",
    [
        GOOD.replace(", ", ","),
        GOOD.replace(", ", " "),
        GOOD.replace(", ", " ,\n\t"),
        "  " + GOOD + " ,",
        GOOD.replace("Signature=", "Signature=ffff, Signature="),
    ],
    ids=["no-spaces", "spaces-only", "mixed", "padded", "last-wins"],
)
def test_separators_aws_tolerates(authorization: str) -> None:
    assert _parsed(_request(DATE, ("Authorization", authorization))).signature == SIGNATURE


@pytest.mark.parametrize(
    ("authorization", "algorithm"),
    [("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", "AWS"), ("Bearer abc", "Bearer"), ("", "")],
)
def test_other_authorization_schemes(authorization: str, algorithm: str) -> None:
    error = _error(_request(DATE, ("Authorization", authorization)))
    assert (error.kind, error.code) == ("unsupported_algorithm", "IncompleteSignature")
    assert error.message == f"Unsupported AWS 'algorithm': '{algorithm}'"
    assert repr(error).startswith("SigV4Error(kind='unsupported_algorithm'")


def test_sigv2_query_is_refused() -> None:
    error = _error(_request(query="AWSAccessKeyId=AKID&Expires=1&Signature=abc%3D"))
    assert (error.kind, error.code, error.message) == (
        "unsupported_algorithm",
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
    )


def test_header_and_query_together() -> None:
    error = _error(_request(DATE, ("Authorization", GOOD), query=QUERY))
    assert (error.kind, error.code) == ("multiple_auth", "SignatureDoesNotMatch")


def test_every_missing_part_is_listed() -> None:
    error = _error(_request(("Authorization", "AWS4-HMAC-SHA256")))
    assert (error.kind, error.code) == ("incomplete", "IncompleteSignature")
    assert error.message == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=AWS4-HMAC-SHA256"
    )


def test_missing_date_only() -> None:
    error = _error(_request(("Authorization", GOOD)))
    assert error.message == (
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={GOOD}"
    )


def test_missing_signature_only() -> None:
    authorization = f"AWS4-HMAC-SHA256 Credential={CREDENTIAL}, SignedHeaders=host;x-amz-date"
    error = _error(_request(DATE, ("Authorization", authorization)))
    assert (
        error.message == f"Authorization header requires 'Signature' parameter. Authorization={authorization}"
    )


def test_parameter_without_equal_sign() -> None:
    """As STS words it (jenkinsci/aws-credentials-plugin#72)."""
    authorization = f"AWS4-HMAC-SHA256 Credential= {CREDENTIAL}, SignedHeaders=host, Signature={SIGNATURE}"
    error = _error(_request(DATE, ("Authorization", authorization)))
    assert (error.kind, error.code) == ("malformed", "IncompleteSignature")
    assert error.message == (
        f"'{CREDENTIAL}' not a valid key=value pair (missing equal-sign) in Authorization header:"
        f" '{authorization}'."
    )


@pytest.mark.parametrize(
    "date",
    [
        "2015-08-30T12:36:00Z",
        "20150830T123600",
        "20151330T123600Z",
        "",
        "٢٠١٥٠٨٣٠T123600Z",
        "Sun, 30 Aug 2015 12:36:00 GMT",
    ],
)
def test_bad_x_amz_date(date: str) -> None:
    error = _error(_request(("X-Amz-Date", date), ("Authorization", GOOD)))
    assert (error.kind, error.code) == ("malformed", "IncompleteSignature")
    assert (
        error.message
        == f"Date must be in ISO-8601 'basic format'. Got '{date}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Sun, 30 Aug 2015 12:36:00 GMT", datetime(2015, 8, 30, 12, 36, tzinfo=UTC)),
        ("Sun, 30 Aug 2015 14:36:00 +0200", datetime(2015, 8, 30, 12, 36, tzinfo=UTC)),
        ("Sun, 30 Aug 2015 12:36:00 -0000", datetime(2015, 8, 30, 12, 36, tzinfo=UTC)),
        ("20150830T123600Z", datetime(2015, 8, 30, 12, 36, tzinfo=UTC)),
    ],
)
def test_date_header_when_there_is_no_x_amz_date(date: str, expected: datetime) -> None:
    assert _parsed(_request(("Date", date), ("Authorization", GOOD))).amz_date == expected


def test_x_amz_date_wins_over_date() -> None:
    signed = _parsed(_request(("Date", "Mon, 31 Aug 2015 00:00:00 GMT"), DATE, ("Authorization", GOOD)))
    assert signed.amz_date == datetime(2015, 8, 30, 12, 36, tzinfo=UTC)


@pytest.mark.parametrize(
    "date", ["yesterday", "Sun, 30 Aug 2015 12:36:00 +2400", "Fri, 31 Dec 9999 23:59:59 -2359"]
)
def test_bad_date_header(date: str) -> None:
    error = _error(_request(("Date", date), ("Authorization", GOOD)))
    assert error.message.startswith(f"Date must be in ISO-8601 'basic format'. Got '{date}'.")


@pytest.mark.parametrize(
    "credential", ["AKIDEXAMPLE/20150830/us-east-1/service", "a/b/c/d/e/f", "AKIDEXAMPLE"]
)
def test_credential_must_have_five_parts(credential: str) -> None:
    error = _error(_request(DATE, ("Authorization", GOOD.replace(CREDENTIAL, credential))))
    assert (error.kind, error.code) == ("malformed", "IncompleteSignature")
    assert error.message == (
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term,"
        f" got '{credential}'"
    )


@pytest.mark.parametrize("signed_headers", ["x-amz-date", "", "hosts;x-amz-date"])
def test_host_must_be_signed(signed_headers: str) -> None:
    error = _error(_request(DATE, ("Authorization", GOOD.replace("host;x-amz-date", signed_headers))))
    assert (error.kind, error.code) == ("host_not_signed", "SignatureDoesNotMatch")
    assert error.message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."


def test_authority_counts_as_host() -> None:
    authorization = GOOD.replace("host;x-amz-date", ":authority;x-amz-date")
    assert _parsed(_request(DATE, ("Authorization", authorization))).signed_headers[0] == ":authority"


def test_session_token_from_header_then_query() -> None:
    both = _request(
        DATE, ("Authorization", GOOD), ("X-Amz-Security-Token", "h"), query="X-Amz-Security-Token=q"
    )
    assert _parsed(both).security_token == "h"
    query_only = _request(DATE, ("Authorization", GOOD), query="X-Amz-Security-Token=q%2B%2F")
    assert _parsed(query_only).security_token == "q+/"


def test_s3_payload_hash_comes_from_the_header() -> None:
    authorization = GOOD.replace("/service/", "/s3/")
    with_header = _request(
        DATE, ("Authorization", authorization), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
    )
    assert _parsed(with_header).payload_hash == "UNSIGNED-PAYLOAD"
    assert _parsed(_request(DATE, ("Authorization", authorization))).payload_hash == ""
    not_s3 = _request(DATE, ("Authorization", GOOD), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"))
    assert _parsed(not_s3).payload_hash == ""


# --- presigned ---------------------------------------------------------------------------------------------


def test_presigned_query() -> None:
    signed = _parsed(_request(query=QUERY + "&X-Amz-Expires=300&X-Amz-Security-Token=t"))
    assert (signed.presigned, signed.expires, signed.security_token, signed.payload_hash) == (
        True,
        300,
        "t",
        "",
    )
    assert signed.scope.access_key_id == "AKIDEXAMPLE"
    assert _parsed(_request(query=QUERY)).expires is None
    assert _parsed(_request(("X-Amz-Security-Token", "h"), query=QUERY)).security_token == "h"


def test_s3_presigned_payload_hash() -> None:
    s3 = QUERY.replace("%2Fservice%2F", "%2Fs3%2F")
    assert _parsed(_request(query=s3)).payload_hash == "UNSIGNED-PAYLOAD"
    assert _parsed(_request(query=s3 + "&X-Amz-Content-Sha256=" + "a" * 64)).payload_hash == "a" * 64


@pytest.mark.parametrize("algorithm", ["AWS4-HMAC-SHA512", "AWS4-ECDSA-P256-SHA256", ""])
def test_presigned_with_another_algorithm(algorithm: str) -> None:
    error = _error(_request(query=QUERY.replace("AWS4-HMAC-SHA256", algorithm, 1)))
    assert (error.kind, error.code) == ("unsupported_algorithm", "MissingAuthenticationToken")


def test_presigned_missing_parameters_are_all_listed() -> None:
    error = _error(_request(query="X-Amz-Algorithm=AWS4-HMAC-SHA256"))
    assert (error.kind, error.code) == ("incomplete", "IncompleteSignature")
    assert error.message == (
        "AWS query-string parameters must include 'X-Amz-Credential'. "
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "AWS query-string parameters must include 'X-Amz-Date'. "
        "Re-examine the query-string parameters."
    )


def test_presigned_bad_date() -> None:
    error = _error(
        _request(query=QUERY.replace("20150830T123600Z", "Sun%2C%2030%20Aug%202015%2012%3A36%3A00%20GMT"))
    )
    assert error.kind == "malformed"
    assert error.message.startswith(
        "Date must be in ISO-8601 'basic format'. Got 'Sun, 30 Aug 2015 12:36:00 GMT'."
    )


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("soon", "X-Amz-Expires should be a number"),
        ("1.5", "X-Amz-Expires should be a number"),
        ("", "X-Amz-Expires should be a number"),
        ("-1", "X-Amz-Expires must be non-negative"),
    ],
)
def test_presigned_bad_expires(expires: str, message: str) -> None:
    error = _error(_request(query=f"{QUERY}&X-Amz-Expires={expires}"))
    assert (error.kind, error.code, error.message) == (
        "malformed",
        "AuthorizationQueryParametersError",
        message,
    )


@pytest.mark.parametrize(("expires", "value"), [("0", 0), ("000900", 900), ("9" * 40, 10**18)])
def test_presigned_expires_values(expires: str, value: int) -> None:
    assert _parsed(_request(query=f"{QUERY}&X-Amz-Expires={expires}")).expires == value


def test_presigned_first_value_wins() -> None:
    signed = _parsed(_request(query=f"{QUERY}&X-Amz-Signature=second&X-Amz-Expires=5&X-Amz-Expires=6"))
    assert (signed.signature, signed.expires) == (SIGNATURE, 5)


def test_non_utf8_query_is_tolerated() -> None:
    signed = _parsed(_request(query=QUERY + "&X-Amz-Security-Token=%FF%FE"))
    assert signed.security_token is not None and len(signed.security_token) == 2


def test_the_error_a_server_raises_for_an_unsigned_request() -> None:
    """parse answers None for an anonymous request; the server decides whether that is allowed."""
    error = sigv4.missing_authentication_token()
    assert (error.kind, error.code, error.message) == (
        "missing",
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
    )
    assert str(error) == error.message


def test_header_lookup_is_case_insensitive_and_ordered() -> None:
    request = _request(("x-a", "1"), ("X-A", "2"))
    assert request.header_values("X-a") == ["1", "2"]
    assert request.header("x-A") == "1"
    assert request.header("x-b") is None
