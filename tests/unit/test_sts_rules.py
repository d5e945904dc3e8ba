"""AssumeRole's parameter constraints and session rules, without a server."""

from __future__ import annotations

import json

import pytest

from monban.credentials.session import SessionClaims
from monban.protocol.errors import AwsError
from monban.protocol.query import QueryParams
from monban.services.sts import session_rules as rules
from monban.services.sts.assume_role import read_request
from monban.services.sts.issue import parse_role_arn

ARN = "arn:aws:iam::123456789010:role/read-only"


def request(**params: str) -> dict[str, str]:
    return {"RoleArn": ARN, "RoleSessionName": "test-session", **params}


def error(params: dict[str, str], floor: int = 900) -> AwsError:
    with pytest.raises(AwsError) as caught:
        read_request(QueryParams(params), floor)
    return caught.value


def test_a_valid_request_is_read_whole() -> None:
    read = read_request(
        QueryParams(
            request(
                DurationSeconds="1800",
                ExternalId="ext-123",
                Policy='{"Version":"2012-10-17","Statement":[]}',
                **{"PolicyArns.member.1.arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
                **{"Tags.member.1.Key": "Project", "Tags.member.1.Value": "blue"},
                **{"TransitiveTagKeys.member.1": "Project"},
                SourceIdentity="alice",
            )
        ),
        900,
    )
    assert read.duration == 1800 and read.external_id == "ext-123"
    assert read.policy_arns == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    assert read.tags == (("Project", "blue"),) and read.transitive == ("Project",)


def test_short_session_name_has_aws_wording() -> None:
    err = error(request(RoleSessionName="x"))
    assert err.code == "ValidationError" and err.status == 400
    assert err.message == (
        "1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 2"
    )


def test_every_failure_is_reported_together() -> None:
    err = error(request(RoleSessionName="bad name!", DurationSeconds="10"))
    assert err.message.startswith("2 validation errors detected: ")
    assert (
        "at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression"
        in err.message
    )
    assert (
        "Value '10' at 'durationSeconds' failed to satisfy constraint: Member must have value greater"
        in err.message
    )


def test_missing_required_members_are_null() -> None:
    err = error({})
    assert "Value null at 'roleArn' failed to satisfy constraint: Member must not be null" in err.message
    assert "Value null at 'roleSessionName'" in err.message


def test_empty_role_arn_fails_pattern_then_length() -> None:
    err = error(request(RoleArn=""))
    first, second = err.message.split(": ", 1)[1].split("; ")
    assert "regular expression pattern" in first and "length greater than or equal to 20" in second


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (
            {"DurationSeconds": "43201"},
            "at 'durationSeconds' failed to satisfy constraint: Member must have value less",
        ),
        ({"DurationSeconds": "abc"}, "Member must be a number"),
        ({"ExternalId": "x"}, "at 'externalId'"),
        (
            {"ExternalId": "bad id"},
            "at 'externalId' failed to satisfy constraint: Member must satisfy regular",
        ),
        ({"SourceIdentity": "aws:x"}, "at 'sourceIdentity'"),
        ({"TokenCode": "12345a", "SerialNumber": "arn:aws:iam::123456789010:mfa/alice"}, "at 'tokenCode'"),
        ({"SerialNumber": "short"}, "at 'serialNumber'"),
        ({"Policy": ""}, "at 'policy'"),
        ({"Tags.member.1.Key": "", "Tags.member.1.Value": "v"}, "at 'tags.1.member.key'"),
        ({"Tags.member.1.Key": "k", "Tags.member.1.Value": "bad\u0001"}, "at 'tags.1.member.value'"),
        ({"Tags.member.1.Key": "k"}, "Value null at 'tags.1.member.value'"),
        ({"Tags.member.1.Key": "k" * 129, "Tags.member.1.Value": "v"}, "length less than or equal to 128"),
        ({"TransitiveTagKeys.member.1": "a!b"}, "at 'transitiveTagKeys.1.member'"),
        ({"PolicyArns.member.1.arn": "arn:short"}, "at 'policyArns.1.member.arn'"),
    ],
)
def test_member_constraints(params: dict[str, str], fragment: str) -> None:
    err = error(request(**params))
    assert err.code == "ValidationError" and fragment in err.message


def test_more_than_fifty_tags_is_refused() -> None:
    tags = {f"Tags.member.{n}.Key": f"k{n}" for n in range(1, 52)}
    tags.update({f"Tags.member.{n}.Value": "v" for n in range(1, 52)})
    assert "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50" in (
        error(request(**tags)).message
    )


def test_tag_text_accepts_unicode_letters_and_spaces() -> None:
    read = read_request(
        QueryParams(request(**{"Tags.member.1.Key": "Équipe 1", "Tags.member.1.Value": "café"})), 900
    )
    assert read.tags == (("Équipe 1", "café"),)


def test_the_duration_floor_follows_min_session_seconds() -> None:
    assert read_request(QueryParams(request(DurationSeconds="2")), 1).duration == 2
    assert "greater than or equal to 900" in error(request(DurationSeconds="2")).message


@pytest.mark.parametrize(
    ("arn", "parsed"),
    [
        (ARN, ("123456789010", "/", "read-only")),
        ("arn:aws:iam::123456789010:role/a/b/name", ("123456789010", "/a/b/", "name")),
        ("arn:aws:iam::123456789010:user/alice", None),
        ("arn:aws:iam::12345678901:role/x", None),
        ("arn:aws:s3:::bucket/role/x", None),
        ("arn:aws:iam::123456789010:role/", None),
        ("not an arn at all, really", None),
    ],
)
def test_role_arns(arn: str, parsed: tuple[str, str, str] | None) -> None:
    assert parse_role_arn(arn) == parsed


def role_claims(**changes: object) -> SessionClaims:
    base: dict[str, object] = {
        "access_key_id": "ASIAAAAAAAAAAAAAAAAA",
        "secret_access_key": "s",
        "kind": "role",
        "account": "123456789010",
        "issued_at": 0,
        "expires_at": 3600,
        "principal_id": "AROAAAAAAAAAAAAAAAAAA",
        "principal_name": "r",
        "principal_arn": "arn:aws:iam::123456789010:role/r",
        "session_name": "s",
        "tags": (("Project", "blue"), ("Team", "red")),
        "transitive_tag_keys": ("project",),
        "source_identity": "alice",
    }
    base.update(changes)
    return SessionClaims(**base)  # type: ignore[arg-type]


def test_a_role_session_passes_on_only_its_transitive_tags() -> None:
    chain = rules.inherited(role_claims())
    assert chain.tags == (("Project", "blue"),) and chain.chained and chain.source_identity == "alice"


def test_instance_profile_sessions_and_users_do_not_chain() -> None:
    assert not rules.inherited(role_claims(instance_profile=True)).chained
    assert rules.inherited(None) == rules.Inherited()
    assert rules.inherited(role_claims(kind="user")) == rules.Inherited()


def test_transitive_tags_cannot_be_overwritten() -> None:
    chain = rules.inherited(role_claims())
    with pytest.raises(AwsError) as caught:
        rules.session_tags([("PROJECT", "green")], [], chain)
    assert caught.value.code == "InvalidParameterValue"


def test_tags_merge_with_the_chain_and_keep_transitive_keys() -> None:
    chain = rules.inherited(role_claims())
    tags, keys = rules.session_tags([("Env", "dev")], ["env"], chain)
    assert tags == (("Project", "blue"), ("Env", "dev"))
    assert keys == ("project", "env")


@pytest.mark.parametrize(
    ("tags", "transitive"),
    [([("a", "1"), ("A", "2")], []), ([("aws:x", "1")], []), ([("a", "1")], ["b"])],
)
def test_bad_session_tags(tags: list[tuple[str, str]], transitive: list[str]) -> None:
    with pytest.raises(AwsError) as caught:
        rules.session_tags(tags, transitive, rules.Inherited())
    assert caught.value.code == "InvalidParameterValue"


def test_source_identity_is_fixed_for_a_chain() -> None:
    chain = rules.inherited(role_claims())
    assert rules.source_identity(None, chain) == "alice"
    assert rules.source_identity("alice", chain) == "alice"
    with pytest.raises(AwsError):
        rules.source_identity("mallory", chain)
    assert rules.source_identity("bob", rules.Inherited()) == "bob"


def test_session_policy_is_validated_as_iam_does() -> None:
    good = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    assert rules.session_policy(good) == good
    with pytest.raises(AwsError) as caught:
        rules.session_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}')
    assert caught.value.code == "MalformedPolicyDocument"
    with pytest.raises(AwsError) as caught:
        rules.session_policy(good[:-2] + " " * 2100 + good[-2:])
    assert caught.value.code == "ValidationError"


def test_packed_size_is_a_percentage_and_has_a_limit() -> None:
    assert rules.packed_policy_size(None, [], []) is None
    small = rules.packed_policy_size('{"Version":"2012-10-17","Statement":[]}', [], [("a", "b")])
    assert small is not None and 0 < small <= 10
    import secrets

    big = [(f"k{n}" + secrets.token_hex(60), secrets.token_hex(128)) for n in range(50)]
    with pytest.raises(AwsError) as caught:
        rules.packed_policy_size(None, [], big)
    assert caught.value.code == "PackedPolicyTooLarge"
    assert caught.value.message.startswith("Packed size of session tags consumes ")


def test_mfa_fails_closed() -> None:
    assert rules.verify_mfa(None, None) is None
    for serial, code in (("arn:aws:iam::123456789010:mfa/alice", None), (None, "123456")):
        with pytest.raises(AwsError) as caught:
            rules.verify_mfa(serial, code)
        assert "must provide both" in caught.value.message
    with pytest.raises(AwsError) as caught:
        rules.verify_mfa("arn:aws:iam::123456789010:mfa/alice", "123456")
    assert caught.value.code == "AccessDenied"


def _caller(kind: str, mfa: int | None = None) -> object:
    from monban.access.principal import Caller
    from monban.policy import Principal

    claims = role_claims(kind=kind, mfa_authenticated_at=mfa, principal_id="AIDAALICE")
    principal = Principal("User", "123456789010", "arn:aws:iam::123456789010:user/alice", "AIDAALICE")
    return Caller(principal, claims.access_key_id, "AIDAALICE", claims)


@pytest.mark.parametrize(
    ("kind", "mfa", "service", "action", "refused"),
    [
        ("user", None, "iam", "ListUsers", "InvalidClientTokenId"),
        ("user", 100, "iam", "ListUsers", None),
        ("root", None, "iam", "ListUsers", "InvalidClientTokenId"),
        ("user", None, "sts", "AssumeRole", None),
        ("user", None, "sts", "GetCallerIdentity", None),
        ("user", None, "sts", "GetSessionToken", "AccessDenied"),
        ("user", None, "sts", "DecodeAuthorizationMessage", "AccessDenied"),
        ("role", None, "iam", "ListUsers", None),
        ("role", None, "sts", "GetAccessKeyInfo", None),
    ],
)
def test_session_token_credentials_limits(
    kind: str, mfa: int | None, service: str, action: str, refused: str | None
) -> None:
    from monban.services.sts.session_token import check_session_token_use

    caller = _caller(kind, mfa)
    if refused is None:
        check_session_token_use(caller, service, action)  # type: ignore[arg-type]
        return
    with pytest.raises(AwsError) as caught:
        check_session_token_use(caller, service, action)  # type: ignore[arg-type]
    assert caught.value.code == refused
