"""AssumeRole against a real server with boto3: trust, duration, session policies, tags, source
identity, chaining, expiry, tampering. Every test makes its own users and roles."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_sts_support import (
    Account,
    allow,
    document,
    error_of,
    session_client,
    trust,
    uid,
    wait_past,
)

IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def acct(server: Server) -> Account:
    account = next(iter(server.roots))
    return Account(server, account)


def assume(
    acct: Account, key: tuple[str, str], role_arn: str, token: str | None = None, **params: Any
) -> Any:
    """AssumeRole with botocore's own parameter checks off: the server's are under test (and
    DurationSeconds below 900 is legal on a server started with --min-session-seconds)."""
    sts = acct.client("sts", key, token, parameter_validation=False)
    return sts.assume_role(RoleArn=role_arn, RoleSessionName=params.pop("name", "test-session"), **params)


def test_response_has_aws_shape(acct: Account) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(IAM_READ,), name=uid("read-only"), Path="/team/")
    before = datetime.now(UTC)
    result = assume(acct, alice["Key"], role["Arn"])
    creds, user = result["Credentials"], result["AssumedRoleUser"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40 and creds["SessionToken"]
    assert (
        before + timedelta(seconds=3590) <= creds["Expiration"] <= datetime.now(UTC) + timedelta(seconds=3601)
    )
    assert user["AssumedRoleId"] == f"{role['RoleId']}:test-session"
    assert user["Arn"] == f"arn:aws:sts::{acct.id}:assumed-role/{role['RoleName']}/test-session"  # no path
    assert "PackedPolicySize" not in result and "SourceIdentity" not in result


def test_a_session_is_a_principal(acct: Account, server: Server) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(IAM_READ,))
    creds = assume(acct, alice["Key"], role["Arn"], name="who-am-i")["Credentials"]
    identity = session_client(server, "sts", creds).get_caller_identity()
    assert identity["UserId"] == f"{role['RoleId']}:who-am-i"
    assert identity["Arn"] == f"arn:aws:sts::{acct.id}:assumed-role/{role['RoleName']}/who-am-i"
    assert identity["Account"] == acct.id
    iam = session_client(server, "iam", creds)
    assert "Users" in iam.list_users()
    with pytest.raises(ClientError) as caught:
        iam.create_user(UserName=uid("nope"))
    code, message, status = error_of(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(f"User: {identity['Arn']} is not authorized to perform: iam:CreateUser")


def test_user_named_in_trust_needs_no_identity_policy(acct: Account) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}))
    assert assume(acct, alice["Key"], role["Arn"])["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_account_trust_delegates_to_identity_policies(acct: Account) -> None:
    role = acct.role(trust({"AWS": f"arn:aws:iam::{acct.id}:root"}))
    nobody = acct.user()
    with pytest.raises(ClientError) as caught:
        assume(acct, nobody["Key"], role["Arn"])
    code, message, _ = error_of(caught)
    assert code == "AccessDenied"
    assert f"is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}" in message
    assert "because no identity-based policy allows the sts:AssumeRole action" in message
    allowed = acct.user(None, document(allow("sts:AssumeRole", role["Arn"])))
    assert assume(acct, allowed["Key"], role["Arn"])["AssumedRoleUser"]["Arn"].endswith("/test-session")


def test_missing_role_is_denied_like_an_untrusting_one(acct: Account) -> None:
    caller = acct.user(None, document(allow("sts:AssumeRole")))
    untrusting = acct.role(trust({"AWS": acct.user()["Arn"]}))
    missing = f"arn:aws:iam::{acct.id}:role/{uid('missing')}"
    messages = []
    for arn in (untrusting["Arn"], missing):
        with pytest.raises(ClientError) as caught:
            assume(acct, caller["Key"], arn)
        code, message, status = error_of(caught)
        assert (code, status) == ("AccessDenied", 403)
        head, _, blob = message.partition(". Encoded authorization failure message: ")
        assert blob
        messages.append(head.replace(arn, "<role>"))
    assert messages[0] == messages[1]
    assert messages[0].endswith("because no role trust policy allows the sts:AssumeRole action")


def test_root_may_not_assume_roles(acct: Account, server: Server) -> None:
    role = acct.role(trust({"AWS": f"arn:aws:iam::{acct.id}:root"}))
    with pytest.raises(ClientError) as caught:
        assume(acct, server.roots[acct.id], role["Arn"])
    assert error_of(caught)[:2] == ("AccessDenied", "Roles may not be assumed by root accounts.")


def test_external_id_must_match(acct: Account) -> None:
    alice = acct.user()
    condition = {"StringEquals": {"sts:ExternalId": "the-right-one"}}
    role = acct.role(trust({"AWS": alice["Arn"]}, Condition=condition))
    for params in ({}, {"ExternalId": "a-wrong-one"}):
        with pytest.raises(ClientError) as caught:
            assume(acct, alice["Key"], role["Arn"], **params)
        assert error_of(caught)[0] == "AccessDenied"
    assert assume(acct, alice["Key"], role["Arn"], ExternalId="the-right-one")["Credentials"]


def test_session_name_condition(acct: Account) -> None:
    alice = acct.user()
    condition = {"StringLike": {"sts:RoleSessionName": "ci-*"}}
    role = acct.role(trust({"AWS": alice["Arn"]}, Condition=condition))
    with pytest.raises(ClientError):
        assume(acct, alice["Key"], role["Arn"], name="laptop")
    assert assume(acct, alice["Key"], role["Arn"], name="ci-42")["Credentials"]


def test_inline_session_policy_narrows(acct: Account, server: Server) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(IAM_READ,))
    narrow = document(allow("iam:ListRoles"), allow("iam:CreateUser"))
    result = assume(acct, alice["Key"], role["Arn"], Policy=narrow)
    assert 0 < result["PackedPolicySize"] <= 100
    iam = session_client(server, "iam", result["Credentials"])
    assert "Roles" in iam.list_roles()
    for call in (iam.list_users, lambda: iam.create_user(UserName=uid("x"))):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught)[0] == "AccessDenied"  # not in the session policy / not in the role's


def test_managed_session_policies_narrow(acct: Account, server: Server) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(ADMIN,))
    result = assume(acct, alice["Key"], role["Arn"], PolicyArns=[{"arn": IAM_READ}])
    iam = session_client(server, "iam", result["Credentials"])
    assert "Users" in iam.list_users()
    with pytest.raises(ClientError) as caught:
        iam.create_user(UserName=uid("x"))
    code, message, _ = error_of(caught)
    assert code == "AccessDenied" and "session policy" in message


def test_unknown_session_policy_arn_is_refused(acct: Account) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}))
    with pytest.raises(ClientError) as caught:
        assume(acct, alice["Key"], role["Arn"], PolicyArns=[{"arn": f"arn:aws:iam::{acct.id}:policy/none"}])
    assert error_of(caught)[0] == "InvalidParameterValue"


def test_malformed_session_policy(acct: Account) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}))
    with pytest.raises(ClientError) as caught:
        assume(
            acct,
            alice["Key"],
            role["Arn"],
            Policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}',
        )
    assert error_of(caught)[0] == "MalformedPolicyDocument"


def test_boundary_cuts_role_sessions(acct: Account, server: Server) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(ADMIN,), PermissionsBoundary=IAM_READ)
    iam = session_client(server, "iam", assume(acct, alice["Key"], role["Arn"])["Credentials"])
    assert "Users" in iam.list_users()
    with pytest.raises(ClientError) as caught:
        iam.create_user(UserName=uid("x"))
    assert "permissions boundary" in error_of(caught)[1]


def test_duration_limits(acct: Account) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), MaxSessionDuration=7200)
    result = assume(acct, alice["Key"], role["Arn"], DurationSeconds=7200)
    lifetime = result["Credentials"]["Expiration"] - datetime.now(UTC)
    assert timedelta(seconds=7100) < lifetime <= timedelta(seconds=7200)
    with pytest.raises(ClientError) as caught:
        assume(acct, alice["Key"], role["Arn"], DurationSeconds=7201)
    assert error_of(caught) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        400,
    )


def test_chaining_is_capped_at_one_hour(acct: Account) -> None:
    alice = acct.user()
    first = acct.role(trust({"AWS": alice["Arn"]}))
    second = acct.role(trust({"AWS": [first["Arn"], alice["Arn"]]}), MaxSessionDuration=43200)
    creds = assume(acct, alice["Key"], first["Arn"])["Credentials"]
    key = (creds["AccessKeyId"], creds["SecretAccessKey"])
    with pytest.raises(ClientError) as caught:
        assume(acct, key, second["Arn"], creds["SessionToken"], DurationSeconds=3601)
    assert error_of(caught)[:2] == (
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    )
    chained = assume(acct, key, second["Arn"], creds["SessionToken"], DurationSeconds=3600)
    assert chained["AssumedRoleUser"]["Arn"].endswith(f"/{second['RoleName']}/test-session")
    assert assume(acct, alice["Key"], second["Arn"], DurationSeconds=43200)["Credentials"]  # not chained


def test_tampered_token_is_invalid(acct: Account, server: Server) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}))
    creds = dict(assume(acct, alice["Key"], role["Arn"])["Credentials"])
    token = creds["SessionToken"]
    raw = bytearray(base64.b64decode(token[12:]))
    raw[len(raw) // 2] ^= 0x01
    creds["SessionToken"] = token[:12] + base64.b64encode(bytes(raw)).decode()
    for service, call in (("sts", "get_caller_identity"), ("iam", "list_users")):
        with pytest.raises(ClientError) as caught:
            getattr(session_client(server, service, creds), call)()
        code, _, status = error_of(caught)
        assert (code, status) == ("InvalidClientTokenId", 403)


def test_short_session_expires(acct: Account, server: Server) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(IAM_READ,))
    creds = assume(acct, alice["Key"], role["Arn"], DurationSeconds=4)["Credentials"]
    assert session_client(server, "sts", creds).get_caller_identity()["Arn"].endswith("/test-session")
    wait_past(creds["Expiration"])
    for service, call in (("sts", "get_caller_identity"), ("iam", "list_users")):
        with pytest.raises(ClientError) as caught:
            getattr(session_client(server, service, creds), call)()
        assert error_of(caught) == (
            "ExpiredToken",
            "The security token included in the request is expired",
            403,
        )


def test_session_tags_need_tag_session(acct: Account, server: Server) -> None:
    alice = acct.user()
    plain = acct.role(trust({"AWS": alice["Arn"]}))
    with pytest.raises(ClientError) as caught:
        assume(acct, alice["Key"], plain["Arn"], Tags=[{"Key": "Project", "Value": "blue"}])
    assert "sts:TagSession" in error_of(caught)[1]
    policy = document(
        allow("iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/project": "blue"}})
    )
    tagging = acct.role(trust({"AWS": alice["Arn"]}, ["sts:AssumeRole", "sts:TagSession"]), policy)
    tagged = assume(acct, alice["Key"], tagging["Arn"], Tags=[{"Key": "Project", "Value": "blue"}])
    assert "Users" in session_client(server, "iam", tagged["Credentials"]).list_users()
    untagged = assume(acct, alice["Key"], tagging["Arn"])
    with pytest.raises(ClientError):
        session_client(server, "iam", untagged["Credentials"]).list_users()


def test_session_tag_overrides_role_tag(acct: Account, server: Server) -> None:
    alice = acct.user()
    policy = document(allow("iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/team": "red"}}))
    role = acct.role(
        trust({"AWS": alice["Arn"]}, ["sts:AssumeRole", "sts:TagSession"]),
        policy,
        Tags=[{"Key": "Team", "Value": "blue"}],
    )
    with pytest.raises(ClientError):
        session_client(server, "iam", assume(acct, alice["Key"], role["Arn"])["Credentials"]).list_users()
    red = assume(acct, alice["Key"], role["Arn"], Tags=[{"Key": "team", "Value": "red"}])
    assert "Users" in session_client(server, "iam", red["Credentials"]).list_users()


def test_transitive_tags_pass_through_a_chain(acct: Account, server: Server) -> None:
    alice = acct.user()
    both = ["sts:AssumeRole", "sts:TagSession"]
    first = acct.role(trust({"AWS": alice["Arn"]}, both))
    policy = document(
        allow("iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/Project": "blue"}})
    )
    second = acct.role(trust({"AWS": first["Arn"]}, both), policy)
    hop = assume(
        acct,
        alice["Key"],
        first["Arn"],
        Tags=[{"Key": "Project", "Value": "blue"}, {"Key": "Local", "Value": "x"}],
        TransitiveTagKeys=["Project"],
    )["Credentials"]
    key, token = (hop["AccessKeyId"], hop["SecretAccessKey"]), hop["SessionToken"]
    chained = assume(acct, key, second["Arn"], token)
    assert "Users" in session_client(server, "iam", chained["Credentials"]).list_users()
    assert chained["PackedPolicySize"] > 0  # the inherited tag counts
    with pytest.raises(ClientError) as caught:
        assume(acct, key, second["Arn"], token, Tags=[{"Key": "project", "Value": "green"}])
    assert error_of(caught)[0] == "InvalidParameterValue"


def test_source_identity(acct: Account, server: Server) -> None:
    alice = acct.user()
    plain = acct.role(trust({"AWS": alice["Arn"]}))
    with pytest.raises(ClientError) as caught:
        assume(acct, alice["Key"], plain["Arn"], SourceIdentity="alice")
    assert "sts:SetSourceIdentity" in error_of(caught)[1]
    both = ["sts:AssumeRole", "sts:SetSourceIdentity"]
    first = acct.role(trust({"AWS": alice["Arn"]}, both))
    policy = document(allow("iam:ListUsers", Condition={"StringEquals": {"aws:SourceIdentity": "alice"}}))
    second = acct.role(
        trust({"AWS": first["Arn"]}, both, Condition={"StringEquals": {"sts:SourceIdentity": "alice"}}),
        policy,
    )
    hop = assume(acct, alice["Key"], first["Arn"], SourceIdentity="alice")
    assert hop["SourceIdentity"] == "alice"
    creds = hop["Credentials"]
    key, token = (creds["AccessKeyId"], creds["SecretAccessKey"]), creds["SessionToken"]
    chained = assume(acct, key, second["Arn"], token)
    assert chained["SourceIdentity"] == "alice"
    assert "Users" in session_client(server, "iam", chained["Credentials"]).list_users()
    with pytest.raises(ClientError) as caught:
        assume(acct, key, second["Arn"], token, SourceIdentity="mallory")
    assert error_of(caught)[0] == "InvalidParameterValue"


def test_mfa_is_refused_until_devices_exist(acct: Account) -> None:
    alice = acct.user()
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    role = acct.role(trust({"AWS": alice["Arn"]}, Condition=mfa))
    with pytest.raises(ClientError) as caught:
        assume(acct, alice["Key"], role["Arn"])
    assert error_of(caught)[0] == "AccessDenied"
    serial = f"arn:aws:iam::{acct.id}:mfa/alice"
    with pytest.raises(ClientError) as caught:
        assume(acct, alice["Key"], role["Arn"], SerialNumber=serial, TokenCode="123456")
    assert error_of(caught)[:2] == (
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    )


def test_packed_policy_too_large(acct: Account) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}, ["sts:AssumeRole", "sts:TagSession"]))
    tags = [{"Key": f"k{n}-{secrets.token_hex(20)}", "Value": secrets.token_hex(128)} for n in range(50)]
    with pytest.raises(ClientError) as caught:
        assume(acct, alice["Key"], role["Arn"], Tags=tags)
    code, message, status = error_of(caught)
    assert (code, status) == ("PackedPolicyTooLarge", 400) and "% of allotted space" in message


def test_validation_errors_over_the_wire(acct: Account) -> None:
    alice = acct.user()
    sts = acct.client("sts", alice["Key"], parameter_validation=False)
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=f"arn:aws:iam::{acct.id}:role/x", RoleSessionName="a", DurationSeconds=50000)
    code, message, status = error_of(caught)
    assert (code, status) == ("ValidationError", 400)
    assert message == (
        "2 validation errors detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 2; Value '50000' at 'durationSeconds' failed to "
        "satisfy constraint: Member must have value less than or equal to 43200"
    )
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=f"arn:aws:iam::{acct.id}:user/alice", RoleSessionName="ab")
    assert error_of(caught)[:2] == ("ValidationError", "Request ARN is invalid")


def test_deleted_role_sessions_are_denied(acct: Account, server: Server) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(IAM_READ,))
    iam = session_client(server, "iam", assume(acct, alice["Key"], role["Arn"])["Credentials"])
    assert "Users" in iam.list_users()
    acct.iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=IAM_READ)
    acct.iam.delete_role(RoleName=role["RoleName"])
    acct.role(trust({"AWS": alice["Arn"]}), managed=(IAM_READ,), name=role["RoleName"])  # same name again
    with pytest.raises(ClientError) as caught:
        iam.list_users()
    assert error_of(caught)[2] == 403


def test_revocation_by_token_issue_time(acct: Account, server: Server) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(IAM_READ,))
    old = session_client(server, "iam", assume(acct, alice["Key"], role["Arn"])["Credentials"])
    assert "Users" in old.list_users()
    time.sleep(1.1)  # aws:TokenIssueTime has second precision
    cutoff = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    revoke = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    revoke["Condition"] = {"DateLessThan": {"aws:TokenIssueTime": cutoff}}  # type: ignore[assignment]
    acct.iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="AWSRevokeOlderSessions",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [revoke]}),
    )
    with pytest.raises(ClientError) as caught:
        old.list_users()
    assert "explicit deny" in error_of(caught)[1]
    fresh = session_client(server, "iam", assume(acct, alice["Key"], role["Arn"])["Credentials"])
    assert "Users" in fresh.list_users()


def test_decode_authorization_message(acct: Account) -> None:
    decoder = acct.user(None, document(allow("sts:DecodeAuthorizationMessage")))
    role = acct.role(trust({"AWS": acct.user()["Arn"]}))
    with pytest.raises(ClientError) as caught:
        assume(acct, decoder["Key"], role["Arn"], name="denied-session")
    blob = error_of(caught)[1].split("Encoded authorization failure message: ")[1]
    decoded = json.loads(
        acct.client("sts", decoder["Key"]).decode_authorization_message(EncodedMessage=blob)["DecodedMessage"]
    )
    assert decoded["allowed"] is False and decoded["explicitDeny"] is False
    assert decoded["context"]["principal"] == {
        "id": decoder["UserId"],
        "name": decoder["UserName"],
        "arn": decoder["Arn"],
    }
    assert decoded["context"]["action"] == "sts:AssumeRole" and decoded["context"]["resource"] == role["Arn"]
    keys = {item["key"] for item in decoded["context"]["conditions"]["items"]}
    assert {"sts:RoleSessionName", "aws:PrincipalArn", "aws:username"} <= keys
    for text in ("garbage", blob[:-8] + "AAAAAAAA"):
        with pytest.raises(ClientError) as caught:
            acct.client("sts", decoder["Key"]).decode_authorization_message(EncodedMessage=text)
        assert error_of(caught)[:1] == ("InvalidAuthorizationMessageException",)
    nobody = acct.user()
    with pytest.raises(ClientError) as caught:
        acct.client("sts", nobody["Key"]).decode_authorization_message(EncodedMessage=blob)
    assert "sts:DecodeAuthorizationMessage" in error_of(caught)[1]
