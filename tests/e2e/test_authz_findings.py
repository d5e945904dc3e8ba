"""Issue 11's authorization findings through boto3 against a real server: PassRole when a role is
handed on (5), tag-on-create (8), condition keys where AWS puts them and nowhere else (9); and
through the ``monban simulate`` CLI: a KMS key needs its key policy (11)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import BIN, EC2_TRUST, allow, deny, document, error, first_account, uid
from tests.e2e.server import Server


def _denied(caught: pytest.ExceptionInfo[ClientError], action: str, resource: str) -> None:
    code, message, status = error(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert f"is not authorized to perform: {action} on resource: {resource}" in message


# --- 5: AddRoleToInstanceProfile needs iam:PassRole, and leaks nothing -------------------------


def test_add_role_to_instance_profile_needs_pass_role(server: Server) -> None:
    account = first_account(server)
    root = account.iam()
    profile = uid("profile")
    root.create_instance_profile(InstanceProfileName=profile)
    role = uid("role")
    root.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)
    _, key = account.user("adder", allow("iam:AddRoleToInstanceProfile"))
    adder = account.iam(key)
    with pytest.raises(ClientError) as caught:
        adder.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    _denied(caught, "iam:PassRole", account.arn("role", role))
    missing = uid("no-such-role")  # existence is not told: the same denial for a missing role
    with pytest.raises(ClientError) as caught:
        adder.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=missing)
    _denied(caught, "iam:PassRole", account.arn("role", missing))
    assert root.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"] == []

    _, key = account.user(
        "passer", allow("iam:AddRoleToInstanceProfile"), allow("iam:PassRole", account.arn("role", role))
    )
    passer = account.iam(key)
    with pytest.raises(ClientError) as caught:
        passer.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=missing)
    _denied(caught, "iam:PassRole", account.arn("role", missing))
    passer.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    roles = root.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]
    assert [r["RoleName"] for r in roles] == [role]


def test_pass_role_sees_the_role_tags(server: Server) -> None:
    """iam:PassRole's resource type ``role`` offers iam:ResourceTag/…: a Deny on prod roles bites."""
    account = first_account(server)
    root = account.iam()
    profile, role = uid("profile"), uid("role")
    root.create_instance_profile(InstanceProfileName=profile)
    tags = [{"Key": "env", "Value": "prod"}]
    root.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST, Tags=tags)
    prod = {"StringEquals": {"iam:ResourceTag/env": "prod"}}
    statements = (
        allow(["iam:AddRoleToInstanceProfile", "iam:PassRole"]),
        deny("iam:PassRole", Condition=prod),
    )
    _, key = account.user("passer", *statements)
    with pytest.raises(ClientError) as caught:
        account.iam(key).add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    _denied(caught, "iam:PassRole", account.arn("role", role))


# --- 8: tag on create --------------------------------------------------------------------------

_TAGS = [{"Key": "team", "Value": "red"}]
_CREATES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("CreateUser", "TagUser", "user", {}),
    ("CreateRole", "TagRole", "role", {"AssumeRolePolicyDocument": EC2_TRUST}),
    ("CreatePolicy", "TagPolicy", "policy", {"PolicyDocument": document(allow("s3:GetObject"))}),
    ("CreateInstanceProfile", "TagInstanceProfile", "instance-profile", {}),
]
_NAME_PARAM = {"user": "UserName", "role": "RoleName", "policy": "PolicyName"}


def _create(client: Any, operation: str, kind: str, name: str, extra: dict[str, Any], **more: Any) -> Any:
    method = getattr(client, f"create_{kind.replace('-', '_')}")
    return method(**{_NAME_PARAM.get(kind, "InstanceProfileName"): name}, **extra, **more)


@pytest.mark.parametrize(("operation", "tag_action", "kind", "extra"), _CREATES)
def test_create_with_tags_needs_the_tag_action(
    server: Server, operation: str, tag_action: str, kind: str, extra: dict[str, Any]
) -> None:
    account = first_account(server)
    _, key = account.user("creator", allow(f"iam:{operation}"))
    creator = account.iam(key)
    name = uid(kind)
    with pytest.raises(ClientError) as caught:
        _create(creator, operation, kind, name, extra, Tags=_TAGS)
    _denied(caught, f"iam:{tag_action}", account.arn(kind, name))
    _create(creator, operation, kind, name, extra)  # untagged: the create action alone is enough
    _, key = account.user("tagger", allow([f"iam:{operation}", f"iam:{tag_action}"]))
    created = _create(account.iam(key), operation, kind, uid(kind), extra, Tags=_TAGS)
    shape = next(v for k, v in created.items() if k != "ResponseMetadata")
    assert shape["Tags"] == _TAGS


def test_tag_on_create_sees_the_request_tags(server: Server) -> None:
    """The Tag… action is evaluated with aws:RequestTag/… and aws:TagKeys of the request."""
    account = first_account(server)
    only_blue = {"StringEquals": {"aws:RequestTag/team": "blue"}}
    _, key = account.user("creator", allow("iam:CreateRole"), allow("iam:TagRole", Condition=only_blue))
    creator = account.iam(key)
    with pytest.raises(ClientError) as caught:
        creator.create_role(RoleName=uid("role"), AssumeRolePolicyDocument=EC2_TRUST, Tags=_TAGS)
    assert error(caught)[0] == "AccessDenied"
    blue = [{"Key": "team", "Value": "blue"}]
    creator.create_role(RoleName=uid("role"), AssumeRolePolicyDocument=EC2_TRUST, Tags=blue)


# --- 9: condition keys where AWS puts them -----------------------------------------------------


def test_assume_role_sees_iam_resource_tags(server: Server) -> None:
    """sts:AssumeRole lists iam:ResourceTag/…: a Deny on prod-tagged roles bites."""
    account = first_account(server)
    user_name, key = account.user("caller")
    root = account.iam()
    principal = {"AWS": account.arn("user", user_name)}
    trust = document({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    prod, dev = uid("prod"), uid("dev")
    root.create_role(RoleName=prod, AssumeRolePolicyDocument=trust, Tags=[{"Key": "env", "Value": "prod"}])
    root.create_role(RoleName=dev, AssumeRolePolicyDocument=trust, Tags=[{"Key": "env", "Value": "dev"}])
    not_prod = deny("sts:AssumeRole", Condition={"StringEquals": {"iam:ResourceTag/env": "prod"}})
    root.put_user_policy(
        UserName=user_name, PolicyName="p", PolicyDocument=document(allow("sts:AssumeRole"), not_prod)
    )
    sts = account.client("sts", key)
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=account.arn("role", prod), RoleSessionName="session")
    assert "with an explicit deny in an identity-based policy" in error(caught)[1]
    sts.assume_role(RoleArn=account.arn("role", dev), RoleSessionName="session")


def test_tag_session_sees_the_assume_role_request(server: Server) -> None:
    """A trust statement for sts:AssumeRole and sts:TagSession conditioned on sts:ExternalId holds
    for both: TagSession is evaluated within the AssumeRole request and sees its keys."""
    account = first_account(server)
    user_name, key = account.user("caller", allow("sts:*"))
    role = uid("role")
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": account.arn("user", user_name)},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"sts:ExternalId": "x-42"}},
    }
    account.iam().create_role(RoleName=role, AssumeRolePolicyDocument=document(statement))
    sts = account.client("sts", key)
    tagged = {"RoleArn": account.arn("role", role), "RoleSessionName": "session", "Tags": _TAGS}
    sts.assume_role(ExternalId="x-42", **tagged)
    with pytest.raises(ClientError) as caught:
        sts.assume_role(ExternalId="x-43", **tagged)
    assert error(caught)[0] == "AccessDenied"


@pytest.mark.parametrize("service", ["iam", "sts"])
def test_resource_account_is_set_for_iam_and_sts(server: Server, service: str) -> None:
    account = first_account(server)
    user_name, key = account.user("caller")
    root = account.iam()
    role = uid("role")
    trust = document(
        {"Effect": "Allow", "Principal": {"AWS": account.arn("user", user_name)}, "Action": "sts:AssumeRole"}
    )
    root.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    own = {"StringEquals": {"aws:ResourceAccount": account.id}}
    statement = allow(["iam:GetRole", "sts:AssumeRole"], Condition=own)
    root.put_user_policy(UserName=user_name, PolicyName="p", PolicyDocument=document(statement))
    if service == "iam":
        assert account.iam(key).get_role(RoleName=role)["Role"]["RoleName"] == role
    else:
        account.client("sts", key).assume_role(RoleArn=account.arn("role", role), RoleSessionName="session")
    other = {"StringEquals": {"aws:ResourceAccount": "000000000000"}}
    root.put_user_policy(
        UserName=user_name, PolicyName="p", PolicyDocument=document(allow("iam:GetRole", Condition=other))
    )
    with pytest.raises(ClientError) as caught:
        account.iam(key).get_role(RoleName=role)
    assert error(caught)[0] == "AccessDenied"


def test_permissions_boundary_key_only_where_aws_offers_it(server: Server) -> None:
    """iam:PermissionsBoundary is offered on GetRole but not on GetUser or TagUser: an Allow
    conditioned on it grants only where AWS would."""
    account = first_account(server)
    root = account.iam()
    boundary = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    user, role = uid("bounded"), uid("bounded")
    root.create_user(UserName=user, PermissionsBoundary=boundary)
    root.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST, PermissionsBoundary=boundary)
    bounded = {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    _, key = account.user("reader", allow(["iam:GetUser", "iam:GetRole", "iam:TagUser"], Condition=bounded))
    reader = account.iam(key)
    assert reader.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    with pytest.raises(ClientError) as caught:
        reader.get_user(UserName=user)
    _denied(caught, "iam:GetUser", account.arn("user", user))
    with pytest.raises(ClientError) as caught:
        reader.tag_user(UserName=user, Tags=_TAGS)
    _denied(caught, "iam:TagUser", account.arn("user", user))


# --- 11: a KMS key opens only when its key policy allows ---------------------------------------


def test_monban_simulate_needs_the_key_policy() -> None:
    """``monban simulate`` (the CLI, in a subprocess): an identity policy allowing kms:* does not
    open a key without a key policy; a key policy delegating to the account does."""
    account = "111122223333"
    key = f"arn:aws:kms:us-east-1:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    request: dict[str, Any] = {
        "principal": f"arn:aws:iam::{account}:user/alice",
        "action": "kms:Decrypt",
        "resource": key,
        "identity_policies": [document(allow("kms:*"))],
    }
    delegate = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*"}
    with_key_policy = {**request, "resource_policy": document({**delegate, "Resource": "*"})}
    lines = "\n".join(json.dumps(r) for r in (request, with_key_policy)) + "\n"
    done = subprocess.run(
        [str(BIN / "monban"), "simulate"], input=lines, capture_output=True, text=True, timeout=60, check=True
    )
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["decision"] == "implicitDeny"
    assert first["reason"] == "no resource-based policy allows the kms:Decrypt action"
    assert second["decision"] == "allowed"
