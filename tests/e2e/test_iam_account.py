"""GetAccountAuthorizationDetails through boto3: users, groups, roles and managed policies with
their relationships, filters, paging across the lists, authorization."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import EC2_TRUST, Account, allow, document, error_of, first_account, uid
from tests.e2e.server import Server

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def _all(iam: Any, **params: Any) -> dict[str, list[dict[str, Any]]]:
    """Every page of GetAccountAuthorizationDetails, merged."""
    merged: dict[str, list[dict[str, Any]]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    for page in iam.get_paginator("get_account_authorization_details").paginate(**params):
        for key in merged:
            merged[key] += page.get(key, [])
    return merged


def _by(items: list[dict[str, Any]], field: str, value: str) -> dict[str, Any]:
    return next(item for item in items if item[field] == value)


def _everything(iam: Any) -> tuple[str, str, str, str, str, str]:
    """A policy with two versions, attached to a group and a role and bounding a user of the group;
    the role in an instance profile. (policy name, policy ARN, group, user, role, profile)."""
    policy_name, group, user, role, profile = (
        uid("policy"),
        uid("group"),
        uid("user"),
        uid("role"),
        uid("profile"),
    )
    policy_doc = document(allow("s3:ListBucket"))
    policy_arn = iam.create_policy(PolicyName=policy_name, PolicyDocument=policy_doc)["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=document(allow("s3:*")), SetAsDefault=True)
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="g", PolicyDocument=document(allow("iam:Get*")))
    iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn)
    iam.create_user(UserName=user, Path="/details/", Tags=[{"Key": "team", "Value": "x"}])
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="u", PolicyDocument=document(allow("iam:List*")))
    iam.attach_user_policy(UserName=user, PolicyArn=READ_ONLY)
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=policy_arn)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST, Tags=[{"Key": "tier", "Value": "web"}])
    iam.put_role_policy(RoleName=role, PolicyName="r", PolicyDocument=document(allow("s3:GetObject")))
    iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn)
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    return policy_name, policy_arn, group, user, role, profile


def test_details_of_every_entity_kind(acct: Account) -> None:
    iam = acct.iam()
    policy_name, policy_arn, group, user, role, profile = _everything(iam)
    details = _all(iam)
    u = _by(details["UserDetailList"], "UserName", user)
    assert u["Arn"] == acct.arn("user", user, "/details/") and u["GroupList"] == [group]
    assert u["UserPolicyList"] == [
        {"PolicyName": "u", "PolicyDocument": {"Version": "2012-10-17", "Statement": [allow("iam:List*")]}}
    ]
    assert u["AttachedManagedPolicies"] == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]
    assert u["PermissionsBoundary"]["PermissionsBoundaryArn"] == policy_arn
    assert u["Tags"] == [{"Key": "team", "Value": "x"}]
    g = _by(details["GroupDetailList"], "GroupName", group)
    assert [p["PolicyName"] for p in g["GroupPolicyList"]] == ["g"]
    assert g["AttachedManagedPolicies"] == [{"PolicyName": policy_name, "PolicyArn": policy_arn}]
    r = _by(details["RoleDetailList"], "RoleName", role)
    assert r["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert [p["InstanceProfileName"] for p in r["InstanceProfileList"]] == [profile]
    assert r["InstanceProfileList"][0]["Roles"][0]["RoleName"] == role
    assert [p["PolicyName"] for p in r["RolePolicyList"]] == ["r"] and r["Tags"] == [
        {"Key": "tier", "Value": "web"}
    ]
    p = _by(details["Policies"], "Arn", policy_arn)
    assert (
        p["AttachmentCount"] == 2
        and p["PermissionsBoundaryUsageCount"] == 1
        and p["DefaultVersionId"] == "v2"
    )
    versions = {v["VersionId"]: v for v in p["PolicyVersionList"]}
    assert (
        set(versions) == {"v1", "v2"}
        and versions["v2"]["IsDefaultVersion"]
        and not versions["v1"]["IsDefaultVersion"]
    )
    assert versions["v1"]["Document"]["Statement"] == [allow("s3:ListBucket")]
    aws = _by(details["Policies"], "Arn", READ_ONLY)  # AWS managed policies in use are listed
    assert aws["AttachmentCount"] >= 1 and aws["IsAttachable"] is True


def test_filter_and_paging(acct: Account) -> None:
    iam = acct.iam()
    users = sorted(uid("paged") for _ in range(3))
    for user in users:
        iam.create_user(UserName=user)
    only_users = _all(iam, Filter=["User"])
    assert only_users["GroupDetailList"] == only_users["RoleDetailList"] == only_users["Policies"] == []
    names = [u["UserName"] for u in only_users["UserDetailList"]]
    assert set(users) <= set(names) and names == sorted(names, key=str.lower)
    page = iam.get_account_authorization_details(Filter=["User"], MaxItems=1)
    assert len(page["UserDetailList"]) == 1 and page["IsTruncated"] and page["Marker"]
    following = iam.get_account_authorization_details(Filter=["User"], MaxItems=1, Marker=page["Marker"])
    assert following["UserDetailList"][0]["UserName"] != page["UserDetailList"][0]["UserName"]
    policies = _all(iam, Filter=["LocalManagedPolicy"])
    assert policies["UserDetailList"] == [] and all(
        p["Arn"].startswith(f"arn:aws:iam::{acct.id}:") for p in policies["Policies"]
    )
    aws_only = _all(iam, Filter=["AWSManagedPolicy"])["Policies"]
    assert all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in aws_only)


def test_bad_filter_is_validation_error(acct: Account) -> None:
    with pytest.raises(ClientError) as caught:
        acct.iam(parameter_validation=False).get_account_authorization_details(Filter=["Robots"])
    code, status, message = error_of(caught)
    assert (code, status) == ("ValidationError", 400) and "Member must satisfy enum value set" in message


def test_needs_permission(acct: Account) -> None:
    name, key = acct.user("auditor")
    with pytest.raises(ClientError) as caught:
        acct.iam(key).get_account_authorization_details()
    assert error_of(caught) == (
        "AccessDenied",
        403,
        f"User: {acct.arn('user', name)} is not authorized to perform: iam:GetAccountAuthorizationDetails "
        "on resource: * because no identity-based policy allows the "
        "iam:GetAccountAuthorizationDetails action",
    )
    acct.iam().put_user_policy(
        UserName=name,
        PolicyName="audit",
        PolicyDocument=document(allow("iam:GetAccountAuthorizationDetails")),
    )
    assert name in {u["UserName"] for u in _all(acct.iam(key), Filter=["User"])["UserDetailList"]}


def test_other_accounts_are_not_listed(server: Server) -> None:
    mine = first_account(server)
    other = Account(server, sorted(server.roots)[1])
    secret = uid("elsewhere")
    other.iam().create_user(UserName=secret)
    assert secret not in {u["UserName"] for u in _all(mine.iam(), Filter=["User"])["UserDetailList"]}
    assert secret in {u["UserName"] for u in _all(other.iam(), Filter=["User"])["UserDetailList"]}
