"""Bad input on the wire (raw HTTP, signed with botocore's signer where it must be): malformed form
bodies, unknown actions, garbage Authorization headers, oversized bodies, invalid names and values —
always an AWS error in IAM's XML envelope, never a 500, never a half-applied change."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import (
    Account,
    RawResponse,
    allow,
    document,
    error_of,
    first_account,
    raw_request,
    uid,
)
from tests.e2e.server import Server


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def _form(**params: str) -> bytes:
    return urllib.parse.urlencode({"Version": "2010-05-08", **params}).encode()


def _code(response: RawResponse) -> str:
    match = re.search(r"<Code>([^<]*)</Code>", response.body)
    assert match, response.body
    assert response.body.startswith('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">')
    return match.group(1)


def _message(response: RawResponse) -> str:
    match = re.search(r"<Message>([^<]*)</Message>", response.body)
    assert match, response.body
    return match.group(1)


def test_unknown_and_missing_action(server: Server) -> None:
    unknown = raw_request(server, _form(Action="CreateUnicorn"))
    assert (unknown.status, _code(unknown)) == (400, "InvalidAction")
    assert _message(unknown) == "Could not find operation CreateUnicorn for version 2010-05-08"
    missing = raw_request(server, b"Version=2010-05-08")
    assert missing.status == 400 and _code(missing) in ("MissingAction", "InvalidAction")


@pytest.mark.parametrize(
    "body",
    [
        b"Action=CreateUser&Version=2010-05-08&UserName=\xff\xfe",  # not UTF-8
        b"Action=ListUsers&Version=2010-05-08&MaxItems=many",
        b"Action=ListUsers&Version=2010-05-08&MaxItems=0",
        b"Action=ListUsers&Version=2010-05-08&MaxItems=1001",
        b"Action=ListUsers&Version=2010-05-08&Marker=not-a-marker",
        b"Action=ListUsers&Version=2010-05-08&Marker=%C2%B2",  # a digit that is not a decimal
        b"Action=ListUsers&Version=2010-05-08&MaxItems=%C2%B2",
        b"Action=ListUsers&Version=2010-05-08&PathPrefix=no-slash",
        b"Action=CreateUser&Version=2010-05-08",  # UserName missing
        b"Action=CreateUser&Version=2010-05-08&UserName=",
        b"Action=CreateUser&Version=2010-05-08&UserName=" + b"x" * 65,
        b"Action=CreateUser&Version=2010-05-08&UserName=%C3%BCmlaut",
        b"Action=CreateUser&Version=2010-05-08&UserName=ok&Path=/a//b",
        b"Action=CreateGroup&Version=2010-05-08&GroupName=" + b"g" * 129,
        b"Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId=short&Status=Active",
        b"Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId=AKIAAAAAAAAAAAAAAAAA&Status=Sleeping",
        b"Action=GetAccountAuthorizationDetails&Version=2010-05-08&Filter.member.1=Everything",
        b"Action=TagUser&Version=2010-05-08&UserName=x",  # Tags missing
        b"Action=PutUserPolicy&Version=2010-05-08&UserName=x&PolicyName=p&PolicyDocument=",
        b"Action=CreateUser&Version=2010-05-08&UserName=ok&Tags.member.1.Value=no-key",
    ],
)
def test_malformed_parameters_are_client_errors(server: Server, body: bytes) -> None:
    response = raw_request(server, body)
    assert 400 <= response.status < 500, response.body
    _code(response)


@pytest.mark.parametrize(
    "body",
    [
        b"&&==&Action=ListUsers&Version=2010-05-08&%%%",
        b"Action=ListUsers&Version=2010-05-08&Action=ListUsers",
        b"=" * 5000,
    ],
)
def test_sloppy_forms_never_fail_the_server(server: Server, body: bytes) -> None:
    """Forms AWS may tolerate: answered (200) or refused (4xx) in IAM's envelope, never a 5xx."""
    response = raw_request(server, body)
    assert response.status < 500, response.body
    assert response.body.startswith(("<ListUsersResponse", "<ErrorResponse"))


@pytest.mark.parametrize(
    "authorization",
    [
        "garbage",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
        "AWS4-HMAC-SHA256 Credential=AKIAAAAAAAAAAAAAAAAA/20260101/us-east-1/iam/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00",
        "AWS AKIAAAAAAAAAAAAAAAAA:c2lnbmF0dXJl",
        "AWS4-HMAC-SHA256 Credential=\u00e9\u00e9/x/y/z, SignedHeaders=host, Signature=zz",
    ],
)
def test_garbage_authorization_headers(server: Server, authorization: str) -> None:
    headers = {"Authorization": authorization, "X-Amz-Date": "20260101T000000Z"}
    response = raw_request(server, _form(Action="ListUsers"), headers=headers, sign=False)
    assert response.status in (400, 403), response.body
    assert _code(response) in (
        "IncompleteSignature",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "MissingAuthenticationToken",
        "InvalidSignatureException",
    )


def test_unsigned_request_is_refused(server: Server) -> None:
    response = raw_request(server, _form(Action="ListUsers"), sign=False)
    assert (response.status, _code(response)) == (403, "MissingAuthenticationToken")


def test_body_over_one_mebibyte_is_413(server: Server) -> None:
    body = _form(Action="CreateUser", UserName=uid("huge")) + b"&Padding=" + b"x" * (1024 * 1024)
    response = raw_request(server, body)
    assert response.status == 413
    assert _code(response) == "RequestEntityTooLarge"


def test_oversized_policy_document_is_validation_error(acct: Account) -> None:
    user = uid("big-doc")
    acct.iam().create_user(UserName=user)
    text = document(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/" + "x" * 140000}
    )
    response = raw_request(
        acct.server, _form(Action="PutUserPolicy", UserName=user, PolicyName="p", PolicyDocument=text)
    )
    assert (response.status, _code(response)) == (400, "ValidationError")
    assert acct.iam().list_user_policies(UserName=user)["PolicyNames"] == []


def test_no_half_applied_create_user(acct: Account) -> None:
    """Each bad part refuses the whole call; the user never appears."""
    name = uid("atomic")
    bad_calls = [
        _form(Action="CreateUser", UserName=name, **{"Tags.member.1.Key": "ok", "Tags.member.1.Value": "1",
              "Tags.member.2.Key": "bad!", "Tags.member.2.Value": "2"}),
        _form(Action="CreateUser", UserName=name, PermissionsBoundary=acct.arn("policy", "missing-boundary")),
        _form(Action="CreateUser", UserName=name, PermissionsBoundary="not-an-arn-at-all-but-long"),
        _form(Action="CreateUser", UserName=name, Path="relative/"),
    ]  # fmt: skip
    for body in bad_calls:
        response = raw_request(acct.server, body)
        assert 400 <= response.status < 500, response.body
        _code(response)
    listing = raw_request(acct.server, _form(Action="GetUser", UserName=name))
    assert (listing.status, _code(listing)) == (404, "NoSuchEntity")


def test_no_half_applied_tagging_or_policy(acct: Account) -> None:
    name = uid("atomic-tags")
    acct.iam().create_user(UserName=name, Tags=[{"Key": "keep", "Value": "1"}])
    tags = {f"Tags.member.{i}.Key": f"k{i}" for i in range(1, 50)}
    tags |= {f"Tags.member.{i}.Value": "v" for i in range(1, 50)}  # 49 new + 1 existing = 50: fine
    tags |= {"Tags.member.50.Key": "one-more", "Tags.member.50.Value": "v"}  # 51 in all: refused
    response = raw_request(acct.server, _form(Action="TagUser", UserName=name, **tags))
    assert (response.status, _code(response)) == (409, "LimitExceeded")
    assert acct.iam().list_user_tags(UserName=name)["Tags"] == [{"Key": "keep", "Value": "1"}]
    bad_policy = _form(
        Action="PutUserPolicy", UserName=name, PolicyName="p", PolicyDocument='{"Statement": 7}'
    )
    response = raw_request(acct.server, bad_policy)
    assert (response.status, _code(response)) == (400, "MalformedPolicyDocument")
    assert acct.iam().list_user_policies(UserName=name)["PolicyNames"] == []


def test_success_envelope_is_aws_shaped(acct: Account) -> None:
    name = uid("shape")
    response = raw_request(acct.server, _form(Action="CreateUser", UserName=name))
    assert response.status == 200
    assert response.body.startswith('<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">')
    assert f"<UserName>{name}</UserName>" in response.body and "<RequestId>" in response.body
    deleted = raw_request(acct.server, _form(Action="DeleteUser", UserName=name))
    assert deleted.status == 200 and "<DeleteUserResult>" not in deleted.body


# '²' is a digit to str.isdigit() but no number to int(), and '١' (Arabic-Indic one) matches a
# Unicode \d: neither makes a member index, an account id or a policy ARN (fix: '²' in a member
# index of SimulateCustomPolicy was a 500, and a ResourceOwner of twelve '²' was taken as an account).
SUPERSCRIPT_ACCOUNT = "²" * 12
ARABIC_ACCOUNT = "١٢٣٤٥٦٧٨٩٠١٢"


def _simulate(server: Server, statement: dict[str, object], **params: str) -> RawResponse:
    policy = document(statement)
    form = {"Action": "SimulateCustomPolicy", "PolicyInputList.member.1": policy, **params}
    return raw_request(server, _form(**{"ActionNames.member.1": "iam:GetUser", **form}))


def test_a_unicode_digit_member_index_is_not_a_500(server: Server) -> None:
    alice_only = allow("iam:GetUser", Condition={"StringEquals": {"aws:username": "alice"}})
    entry = "ContextEntries.member.1."
    context = {f"{entry}ContextKeyName": "aws:username", f"{entry}ContextKeyType": "string"}
    response = _simulate(server, alice_only, **context, **{f"{entry}ContextKeyValues.member.²": "alice"})
    # like any member whose index is not an ASCII number, the value is read (before the numbered ones)
    assert response.status == 200, response.body
    assert "<EvalDecision>allowed</EvalDecision>" in response.body


def test_unicode_digits_are_no_account_id(server: Server, acct: Account) -> None:
    refused = _simulate(server, allow("iam:GetUser"), ResourceOwner=SUPERSCRIPT_ACCOUNT)
    assert (refused.status, _code(refused)) == (400, "InvalidInput")
    assert _message(refused) == f"Invalid ResourceOwner: {SUPERSCRIPT_ACCOUNT}."
    # a resource ARN without an ASCII account id is in the caller's account: no cross-account check
    resource = f"arn:aws:iam::{SUPERSCRIPT_ACCOUNT}:user/x"
    same_account = _simulate(server, allow("iam:GetUser"), **{"ResourceArns.member.1": resource})
    assert same_account.status == 200, same_account.body
    assert "<EvalDecision>allowed</EvalDecision>" in same_account.body
    policy_arn = f"arn:aws:iam::{ARABIC_ACCOUNT}:policy/p"
    with pytest.raises(ClientError) as caught:
        acct.iam().attach_user_policy(UserName=uid("u"), PolicyArn=policy_arn)
    assert error_of(caught) == ("InvalidInput", 400, f"ARN {policy_arn} is not valid.")
