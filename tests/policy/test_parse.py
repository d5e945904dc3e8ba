"""parse_policy: element rules per kind, IAM's messages, normalisation; the size quotas."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest

from monban.policy.errors import MalformedPolicyDocument, PolicySizeExceeded
from monban.policy.model import ConditionClause, PolicyDocument, PolicyKind, PrincipalSpec
from monban.policy.parse import (
    IAM_PATH_ERROR,
    LEGACY_ERROR,
    PRINCIPAL_NOT_ALLOWED_ERROR,
    RESOURCE_NO_PRINCIPAL_ERROR,
    SYNTAX_ERROR,
    TRUST_ACTIONS_ERROR,
    TRUST_NO_PRINCIPAL_ERROR,
    VENDOR_ERROR,
    VERSION_ERROR,
    check_inline_policy_size,
    check_managed_policy_size,
    check_session_policy_size,
    check_trust_policy_size,
    parse_policy,
    policy_size,
)

IDENTITY, RESOURCE, TRUST = PolicyKind.IDENTITY, PolicyKind.RESOURCE, PolicyKind.TRUST
BUCKET = "arn:aws:s3:::bucket"
ROLE = "arn:aws:iam::123456789012:role/app"


def stmt(**elements: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": BUCKET}
    base.update(elements)
    return {key: value for key, value in base.items() if value is not None}


def policy(*statements: dict[str, Any], **top: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"Version": "2012-10-17", "Statement": list(statements) or [stmt()]}
    document.update(top)
    return {key: value for key, value in document.items() if value is not None}


def trust(**elements: Any) -> dict[str, Any]:
    base = {"Principal": {"AWS": ROLE}, "Action": "sts:AssumeRole", "Resource": None}
    return policy(stmt(**(base | elements)))


def bucket(**elements: Any) -> dict[str, Any]:
    return policy(stmt(**({"Principal": "*"} | elements)))


def rejects(source: Any, kind: PolicyKind = IDENTITY) -> str:
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse_policy(source, kind)
    return caught.value.message


# ----------------------------------------------------------------------------- shape of the result


def test_parsed_document_shape() -> None:
    source = policy(
        stmt(Sid="One", Action=["s3:GetObject", None, "s3:PutObject"], Resource=[BUCKET, "*"]),
        stmt(Effect="Deny", Action=None, NotAction="iam:*", Resource=None, NotResource=BUCKET),
        Id="doc-1",
    )
    doc = parse_policy(json.dumps(source), IDENTITY)
    assert doc.kind is IDENTITY and doc.version == "2012-10-17" and doc.id == "doc-1"
    first, second = doc.statements
    assert (first.index, first.sid, first.effect) == (0, "One", "Allow")
    assert first.actions == ("s3:GetObject", "s3:PutObject") and first.not_actions is None
    assert first.resources == (BUCKET, "*") and first.not_resources is None
    assert first.principal is None and first.not_principal is None and first.conditions == ()
    assert (second.index, second.sid, second.effect) == (1, None, "Deny")
    assert second.actions is None and second.not_actions == ("iam:*",)
    assert second.resources is None and second.not_resources == (BUCKET,)


def test_single_statement_object() -> None:
    doc = parse_policy({"Version": "2012-10-17", "Statement": stmt()}, IDENTITY)
    assert len(doc.statements) == 1


def test_condition_values_are_normalised() -> None:
    condition = {
        "Bool": {"aws:SecureTransport": True, "aws:MultiFactorAuthPresent": [False, "true"]},
        "NumericLessThan": {"s3:max-keys": [10, 1.50, 2e3]},
        "StringEquals": {"aws:username": []},
    }
    doc = parse_policy(json.dumps(policy(stmt(Condition=condition))), IDENTITY)
    assert doc.statements[0].conditions == (
        ConditionClause("Bool", "aws:SecureTransport", ("true",)),
        ConditionClause("Bool", "aws:MultiFactorAuthPresent", ("false", "true")),
        ConditionClause("NumericLessThan", "s3:max-keys", ("10", "1.5", "2000.0")),
        ConditionClause("StringEquals", "aws:username", ()),
    )


def test_numbers_keep_their_json_text() -> None:
    text = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket",'
    text += '"Resource":"*","Condition":{"NumericEquals":{"s3:max-keys":[1.50,7,1e3,-0]}}}}'
    clause = parse_policy(text, IDENTITY).statements[0].conditions[0]
    assert clause.values == ("1.50", "7", "1e3", "-0")


def test_unknown_operator_with_empty_block_adds_nothing() -> None:
    doc = parse_policy(policy(stmt(Condition={"NoSuchOperator": {}, "Bool": {}})), IDENTITY)
    assert doc.statements[0].conditions == ()


@pytest.mark.parametrize(
    "condition",
    [
        {"NoSuchOperator": {"aws:username": "x"}},
        {"NullIfExists": {"aws:username": "true"}},
        {"ForEvery:StringEquals": {"aws:username": "x"}},
        {"StringEquals": "x"},
        {"StringEquals": {"aws:username": None}},
        {"StringEquals": {"aws:username": {"a": "b"}}},
        {"StringEquals": {"aws:username": [["x"]]}},
        {"StringEquals": {"aws:username": [None]}},
        [],
    ],
)
def test_malformed_conditions(condition: Any) -> None:
    assert rejects(policy(stmt(Condition=condition))) == SYNTAX_ERROR


def test_principal_forms_are_normalised() -> None:
    doc = parse_policy(bucket(Principal="*"), RESOURCE)
    assert doc.statements[0].principal == PrincipalSpec((("AWS", ("*",)),))
    doc = parse_policy(
        bucket(Principal={"AWS": [ROLE, "123456789012"], "Service": "s3.amazonaws.com"}), RESOURCE
    )
    assert doc.statements[0].principal == PrincipalSpec(
        (("AWS", (ROLE, "123456789012")), ("Service", ("s3.amazonaws.com",)))
    )
    doc = parse_policy(bucket(Principal=None, NotPrincipal={"AWS": ROLE}, Effect="Deny"), RESOURCE)
    assert doc.statements[0].principal is None
    assert doc.statements[0].not_principal == PrincipalSpec((("AWS", (ROLE,)),))


# ----------------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    "source",
    [
        "",
        "[]",
        "null",
        '"text"',
        "{",
        '{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}',
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":'
        '{"NumericEquals":{"s3:max-keys":NaN}}}}',
        json.dumps(policy(Version=["2012-10-17"])),
        json.dumps(policy(Id=7)),
        json.dumps(policy(Extra="x")),
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Version": "2012-10-17", "Statement": "x"}),
        json.dumps(policy(stmt(Sid=None) | {"Sid": None})),
        json.dumps(policy(stmt(Effect=None))),
        json.dumps(policy(stmt(Effect=1))),
        json.dumps(policy(stmt(Action=7))),
        json.dumps(policy(stmt(Action=[7]))),
        json.dumps(policy(stmt(Principal="*", NotPrincipal="*"))),
        json.dumps(bucket(Principal=["*"])),
        json.dumps(bucket(Principal=ROLE)),
        json.dumps(bucket(Principal={"AWS": 12})),
    ],
)
def test_syntax_errors(source: str) -> None:
    assert rejects(source, RESOURCE) == SYNTAX_ERROR


def test_duplicate_keys_inside_conditions_are_rejected() -> None:
    text = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*",'
    text += '"Condition":{"Bool":{"aws:SecureTransport":"true"},"Bool":{"aws:SecureTransport":"false"}}}}'
    assert rejects(text) == SYNTAX_ERROR


@pytest.mark.parametrize(
    "source",
    [
        b"\xff\xfe{}",
        bytearray(b'{"Version": "2012-10-17", "Statement": "\xc3"}'),
        {"Version": "2012-10-17", "Statement": {1, 2}},
        {"Version": "2012-10-17", "Statement": float("nan")},
        12,
        None,
        ["Statement"],
    ],
)
def test_undecodable_sources(source: Any) -> None:
    assert rejects(source) == SYNTAX_ERROR


def test_other_mappings_and_bytearray_are_read() -> None:
    assert parse_policy(MappingProxyType(policy()), IDENTITY) == parse_policy(policy(), IDENTITY)
    assert parse_policy(bytearray(json.dumps(policy()).encode()), IDENTITY).statements


def test_oversized_document_is_a_validation_error() -> None:
    with pytest.raises(PolicySizeExceeded) as caught:
        parse_policy(" " * 131073, IDENTITY)
    assert caught.value.code == "ValidationError"
    assert caught.value.limit == 131072 and caught.value.size == 131073
    assert caught.value.message.endswith("Member must have length less than or equal to 131072")


# ----------------------------------------------------------------------------- versions and kinds


@pytest.mark.parametrize("kind", [IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP])
@pytest.mark.parametrize("version", ["2008-10-17", None])
def test_identity_side_documents_need_2012(kind: PolicyKind, version: str | None) -> None:
    assert rejects(policy(Version=None) | ({"Version": version} if version else {}), kind) == VERSION_ERROR


@pytest.mark.parametrize("version", ["2008-10-17", "2012-10-17", None])
def test_resource_and_trust_documents_accept_old_or_absent_version(version: str | None) -> None:
    top = {"Version": version} if version else {}
    assert parse_policy(
        bucket() | {"Version": None} | top if version else _without_version(bucket()), RESOURCE
    )
    assert parse_policy(_without_version(trust()) | top, TRUST).version == version


def _without_version(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "Version"}


@pytest.mark.parametrize("kind", [IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP])
@pytest.mark.parametrize("element", ["Principal", "NotPrincipal"])
def test_identity_side_documents_name_no_principal(kind: PolicyKind, element: str) -> None:
    assert rejects(policy(stmt(**{element: "*"})), kind) == PRINCIPAL_NOT_ALLOWED_ERROR


def test_resource_policy_needs_a_principal() -> None:
    assert rejects(policy(), RESOURCE) == RESOURCE_NO_PRINCIPAL_ERROR
    assert rejects(bucket(Principal={"AWS": []}), RESOURCE) == RESOURCE_NO_PRINCIPAL_ERROR
    assert rejects(bucket(Principal={}), RESOURCE) == RESOURCE_NO_PRINCIPAL_ERROR


def test_resource_policy_needs_resources() -> None:
    assert rejects(bucket(Resource=None), RESOURCE) == "Policy statement must contain resources."


def test_trust_policy_rules() -> None:
    assert parse_policy(trust(), TRUST).statements[0].resources is None
    assert rejects(trust(Principal=None), TRUST) == TRUST_NO_PRINCIPAL_ERROR
    assert rejects(trust(Principal={"Service": []}), TRUST) == TRUST_NO_PRINCIPAL_ERROR
    assert rejects(trust(Resource="*"), TRUST) == "Has prohibited field Resource"
    assert rejects(trust(NotResource="*"), TRUST) == "Has prohibited field NotResource"
    assert rejects(trust(Principal=None, NotPrincipal={"AWS": ROLE}), TRUST) == (
        "Has prohibited field NotPrincipal"
    )
    assert rejects(trust(Action=None), TRUST) == "Policy statement must contain actions."


@pytest.mark.parametrize(
    "actions",
    [
        "sts:AssumeRole",
        ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        "sts:assumerolewithsaml",
        ["sts:SetSourceIdentity", "sts:SetContext"],
    ],
)
def test_trust_policy_sts_actions(actions: Any) -> None:
    assert parse_policy(trust(Action=actions), TRUST).statements[0].actions


@pytest.mark.parametrize(
    "actions", ["*", "sts:*", "s3:GetObject", ["sts:AssumeRole", "sts:GetCallerIdentity"]]
)
def test_trust_policy_other_actions(actions: Any) -> None:
    assert rejects(trust(Action=actions), TRUST) == TRUST_ACTIONS_ERROR
    assert rejects(trust(Action=None, NotAction=actions), TRUST) == TRUST_ACTIONS_ERROR


@pytest.mark.parametrize(
    ("principal", "kind"),
    [
        ({"AWS": "*"}, TRUST),
        ({"AWS": "123456789012"}, TRUST),
        ({"AWS": "arn:aws:iam::123456789012:root"}, TRUST),
        ({"AWS": "arn:aws:iam::123456789012:user/path/to/alice"}, TRUST),
        ({"AWS": "arn:aws:sts::123456789012:assumed-role/app/session-1"}, TRUST),
        ({"AWS": "arn:aws:sts::123456789012:federated-user/bob"}, RESOURCE),
        ({"Service": ["ec2.amazonaws.com", "logs.us-east-1.amazonaws.com"]}, TRUST),
        ({"Service": "ec2.amazonaws.com.cn"}, TRUST),
        ({"Federated": "arn:aws:iam::123456789012:saml-provider/Okta"}, TRUST),
        (
            {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/AB"},
            TRUST,
        ),
        ({"Federated": "cognito-identity.amazonaws.com"}, TRUST),
        ({"CanonicalUser": "a" * 64}, RESOURCE),
    ],
)
def test_valid_principals(principal: dict[str, Any], kind: PolicyKind) -> None:
    source = trust(Principal=principal) if kind is TRUST else bucket(Principal=principal)
    assert parse_policy(source, kind).statements[0].principal == PrincipalSpec(
        tuple((key, tuple([value] if isinstance(value, str) else value)) for key, value in principal.items())
    )


@pytest.mark.parametrize(
    ("principal", "kind", "shown"),
    [
        ({"AWS": "arn:aws:iam::123456789012:user/*"}, TRUST, '"AWS":"arn:aws:iam::123456789012:user/*"'),
        ({"AWS": "12345"}, RESOURCE, '"AWS":"12345"'),
        ({"AWS": "arn:aws-cn:iam::123456789012:root"}, TRUST, '"AWS":"arn:aws-cn:iam::123456789012:root"'),
        ({"AWS": "AIDAEXAMPLEEXAMPLE"}, TRUST, '"AWS":"AIDAEXAMPLEEXAMPLE"'),
        ({"Service": "lambda"}, TRUST, '"SERVICE":"lambda"'),
        ({"Service": "*"}, RESOURCE, '"SERVICE":"*"'),
        ({"Federated": "not a provider"}, TRUST, '"FEDERATED":"not a provider"'),
        ({"CanonicalUser": "a" * 64}, TRUST, f'"CANONICALUSER":"{"a" * 64}"'),
        ({"CanonicalUser": "xyz"}, RESOURCE, '"CANONICALUSER":"xyz"'),
        ({"Users": "alice"}, RESOURCE, '"USERS":"alice"'),
    ],
)
def test_invalid_principals(principal: dict[str, Any], kind: PolicyKind, shown: str) -> None:
    source = trust(Principal=principal) if kind is TRUST else bucket(Principal=principal)
    assert rejects(source, kind) == f"Invalid principal in policy: {shown}"


# ----------------------------------------------------------------------------- actions and resources


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (":GetObject", "Vendor  is not valid"),
        ("s3*:GetObject", "Vendor s3* is not valid"),
        ("s_3:GetObject", "Vendor s_3 is not valid"),
    ],
)
def test_action_vendors(action: str, message: str) -> None:
    assert rejects(policy(stmt(Action=action))) == message


@pytest.mark.parametrize("action", ["*", "*:*", "*:Get*", "s3:", "ec2:Describe*"])
def test_accepted_action_forms(action: str) -> None:
    assert parse_policy(policy(stmt(Action=action)), IDENTITY).statements[0].actions == (action,)


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        "arn:*:s3:::bucket",
        "arn:aws:iam::123456789012:*",
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::123456789012:assumed-role/app/*",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "arn:aws:s3:us-west-2:123456789012:job/*",
        "arn:aws:s3:::bucket/${aws:username}/*",
        "arn:aws:ec2:*:*:instance/*",
    ],
)
def test_accepted_resources(resource: str) -> None:
    assert parse_policy(policy(stmt(Resource=resource)), IDENTITY).statements[0].resources == (resource,)


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ("arn:aws:*:::bucket", VENDOR_ERROR),
        ("arn:aws:s?:::bucket", VENDOR_ERROR),
        ("arn:aws-cn:s3:::bucket", 'Partition "aws-cn" is not valid for resource "arn:aws-cn:s3:::bucket".'),
        ("arn:aws:iam::123456789012:user", IAM_PATH_ERROR),
        ("arn:aws:iam::123456789012", IAM_PATH_ERROR),
        ("arn:aws:iam:", "IAM resource arn:aws:iam: cannot contain region information."),
        ("arn:aws:s3", "Resource arn:aws:s3 can not contain region information."),
        (
            "arn:aws:s3:eu-west-1:123456789012:bucket",
            ("Resource arn:aws:s3:eu-west-1:123456789012:bucket can not contain region information."),
        ),
    ],
)
def test_rejected_resources(resource: str, message: str) -> None:
    assert rejects(policy(stmt(Resource=resource))) == message


def test_first_resource_error_is_reported() -> None:
    source = policy(stmt(Resource=["arn:aws:s3:::ok", "bad one"]), stmt(Resource="arn:aws"))
    assert rejects(source) == 'Resource bad one must be in ARN format or "*".'


def test_not_resource_is_checked_like_resource() -> None:
    assert rejects(policy(stmt(Resource=None, NotResource="arn:aws"))) == VENDOR_ERROR
    assert rejects(policy(stmt(Resource=None, NotResource="arn:aws:s3::x"))) == LEGACY_ERROR


# ----------------------------------------------------------------------------- legacy Date parsing


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "+12",
        "9223372036854775807",
        "2019-07-01",
        "2019-07-01T13:20:15Z",
        "2019-07-01T13:20",
        "2019-07-01T13:20:15.123456789Z",
        "2016-12-13T21:20:37.593194+00:00",
        "2016-12-13T21:20:37-05:00",
        "2016-12-13T:30",
        "-292275054-01-01",
        "292278993",
    ],
)
def test_date_values_accepted(value: str) -> None:
    parse_policy(policy(stmt(Condition={"DateLessThan": {"aws:CurrentTime": value}})), IDENTITY)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-",
        "1_000",
        "١٢",
        "0" * 25 + "1" * 25,
        "9223372036854775808",
        "2019-13-01",
        "2019-01-32",
        "2019-01-01-01",
        "292278994-01-01",
        "2019-01-01T24:00:00Z",
        "2019-01-01T23:60:00Z",
        "2019-01-01T23:59:60Z",
        "2019-01-01T23:59:59Zx",
        "2019-01-01T23:59:59+5",
        "2016-12-13T21:20:37-0530",
        "2019-01-01T23:59:59+24",
        "2019-01-01T23:59:59+05:6",
        "2019-01-01T23:59:59+05:60",
        "2019-01-01T23:59:59.1000000000",
        "2019-01-01T23:59:59.",
    ],
)
def test_date_values_rejected(value: str) -> None:
    source = policy(stmt(Condition={"ForAnyValue:DateEqualsIfExists": {"aws:CurrentTime": [value]}}))
    assert rejects(source) == LEGACY_ERROR


def test_bool_in_a_date_condition_fails_legacy_parsing() -> None:
    assert rejects(policy(stmt(Condition={"DateEquals": {"aws:CurrentTime": True}}))) == LEGACY_ERROR


def test_date_values_are_only_checked_for_date_operators() -> None:
    parse_policy(policy(stmt(Condition={"StringEquals": {"aws:username": "not-a-date"}})), IDENTITY)


# ----------------------------------------------------------------------------- sizes


def test_policy_size_ignores_white_space() -> None:
    compact = json.dumps(policy(), separators=(",", ":"))
    pretty = json.dumps(policy(), indent=4).replace("    ", "\t  ") + "\r\n"
    assert policy_size(compact) == policy_size(pretty) == policy_size(policy()) == len(compact)
    assert policy_size(compact.encode()) == len(compact)
    assert policy_size('{"Sid": "a b"}') == len('{"Sid":"ab"}')


def _padded(size: int) -> dict[str, Any]:
    document = policy(stmt(Sid="x"))
    padding = size - policy_size(document) + 1
    return policy(stmt(Sid="x" * padding))


def test_managed_policy_quota() -> None:
    assert check_managed_policy_size(_padded(6144)) == 6144
    with pytest.raises(PolicySizeExceeded) as caught:
        check_managed_policy_size(_padded(6145))
    error = caught.value
    assert (error.code, error.message) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144")
    assert (error.limit, error.size) == (6144, 6145)
    assert isinstance(error, MalformedPolicyDocument)


@pytest.mark.parametrize(("entity", "limit"), [("user", 2048), ("group", 5120), ("role", 10240)])
def test_inline_policy_quota_counts_all_inline_policies(entity: Any, limit: int) -> None:
    half = _padded(limit // 2)
    assert check_inline_policy_size([half, half], entity, "alice") == limit
    with pytest.raises(PolicySizeExceeded) as caught:
        check_inline_policy_size([half, half, "{}"], entity, "alice")
    assert caught.value.code == "LimitExceeded"
    assert caught.value.message == f"Maximum policy size of {limit} bytes exceeded for {entity} alice"


def test_trust_policy_quota() -> None:
    assert check_trust_policy_size(_padded(2048)) == 2048
    with pytest.raises(PolicySizeExceeded) as caught:
        check_trust_policy_size(_padded(2049))
    assert caught.value.message == "Cannot exceed quota for ACLSizePerRole: 2048"


def test_session_policy_limit_counts_plain_text() -> None:
    text = json.dumps(policy())
    assert check_session_policy_size(text) == len(text)
    spaced = text + " " * (2049 - len(text))
    with pytest.raises(PolicySizeExceeded) as caught:
        check_session_policy_size(spaced)
    assert caught.value.code == "ValidationError"
    assert caught.value.message == (
        "1 validation error detected: Value at 'policy' failed to satisfy constraint: "
        "Member must have length less than or equal to 2048"
    )


def test_result_is_frozen() -> None:
    doc = parse_policy(policy(), IDENTITY)
    assert isinstance(doc, PolicyDocument)
    with pytest.raises(AttributeError):
        doc.version = "x"  # type: ignore[misc]
