"""IAM roles through boto3 against a real server: CreateRole … DeleteRole, trust-policy validation,
principal binding to unique ids, authorization of the calls."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import EC2_TRUST, account_of, document, error, trust, uid, user_client
from tests.e2e.server import Server

# --- CRUD ---------------------------------------------------------------------------------------


def test_create_and_get_role_round_trip(server: Server) -> None:
    iam = server.client("iam")
    name = uid("role")
    created = iam.create_role(
        RoleName=name,
        Path="/app/",
        AssumeRolePolicyDocument=EC2_TRUST,
        Description="runs the app",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "blue"}],
    )["Role"]
    assert created["RoleId"].startswith("AROA") and len(created["RoleId"]) == 21
    assert created["Arn"] == f"arn:aws:iam::{account_of(server)}:role/app/{name}"
    assert created["Tags"] == [{"Key": "team", "Value": "blue"}]
    fetched = iam.get_role(RoleName=name.upper())["Role"]
    assert fetched["RoleId"] == created["RoleId"]
    assert fetched["Path"] == "/app/"
    assert fetched["Description"] == "runs the app"
    assert fetched["MaxSessionDuration"] == 7200
    assert fetched["AssumeRolePolicyDocument"] == json.loads(EC2_TRUST)
    assert fetched["Tags"] == [{"Key": "team", "Value": "blue"}]


def test_trust_policy_is_returned_url_encoded_as_written(server: Server) -> None:
    iam = server.client("iam")
    name = uid("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
    raw: dict[str, Any] = {}

    def keep(http_response: Any, **_: Any) -> None:
        raw["body"] = http_response.text

    iam.meta.events.register("after-call.iam.GetRole", lambda **kw: keep(kw["http_response"]))
    iam.get_role(RoleName=name)
    assert urllib.parse.quote(EC2_TRUST, safe="") in raw["body"]


def test_role_names_are_unique_case_insensitively(server: Server) -> None:
    iam = server.client("iam")
    name = uid("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
    with pytest.raises(ClientError) as caught:
        iam.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=EC2_TRUST)
    assert error(caught) == ("EntityAlreadyExists", f"Role with name {name.upper()} already exists.", 409)


def test_missing_role_is_no_such_entity(server: Server) -> None:
    iam = server.client("iam")
    name = uid("nobody")
    for call in (iam.get_role, iam.delete_role):
        with pytest.raises(ClientError) as caught:
            call(RoleName=name)
        assert error(caught) == ("NoSuchEntity", f"The role with name {name} cannot be found.", 404)


@pytest.mark.parametrize(
    ("options", "member"),
    [
        ({"MaxSessionDuration": 3599}, "maxSessionDuration"),
        ({"MaxSessionDuration": 43201}, "maxSessionDuration"),
        ({"Description": "x" * 1001}, "description"),
        ({"Path": "no-slashes"}, "path"),
        ({"RoleName": "r" * 65}, "roleName"),
        ({"RoleName": "bad/name"}, "roleName"),
    ],
)
def test_role_parameters_are_validated(server: Server, options: dict[str, Any], member: str) -> None:
    iam = server.client("iam", parameter_validation=False)
    params = {"RoleName": uid("role"), "AssumeRolePolicyDocument": EC2_TRUST, **options}
    with pytest.raises(ClientError) as caught:
        iam.create_role(**params)
    code, message, status = error(caught)
    assert (code, status) == ("ValidationError", 400)
    assert f"at '{member}' failed to satisfy constraint" in message


@pytest.mark.parametrize(
    ("trust_policy", "message"),
    [
        ("{not json", "Syntax errors in policy."),
        (
            document(
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "s3:GetObject"}
            ),
            "AssumeRole policy may only specify STS AssumeRole actions.",
        ),
        (
            document(
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Resource": "*"}
            ),
            "Has prohibited field Resource",
        ),
    ],
)
def test_trust_policy_is_validated(server: Server, trust_policy: str, message: str) -> None:
    with pytest.raises(ClientError) as caught:
        server.client("iam").create_role(RoleName=uid("role"), AssumeRolePolicyDocument=trust_policy)
    assert error(caught) == ("MalformedPolicyDocument", message, 400)


def test_trust_policy_size_limit(server: Server) -> None:
    services = [f"svc{n:04d}.amazonaws.com" for n in range(100)]
    big = trust({"Service": services})
    with pytest.raises(ClientError) as caught:
        server.client("iam").create_role(RoleName=uid("role"), AssumeRolePolicyDocument=big)
    assert error(caught) == ("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048", 409)


def test_trust_policy_principals_must_exist(server: Server) -> None:
    iam = server.client("iam")
    account = account_of(server)
    for missing in (
        f"arn:aws:iam::{account}:user/{uid('ghost')}",
        f"arn:aws:iam::{account}:role/{uid('ghost')}",
    ):
        with pytest.raises(ClientError) as caught:
            iam.create_role(RoleName=uid("role"), AssumeRolePolicyDocument=trust({"AWS": missing}))
        assert error(caught) == (
            "MalformedPolicyDocument",
            f'Invalid principal in policy: "AWS":"{missing}"',
            400,
        )
    existing = iam.create_user(UserName=uid("real"))["User"]["Arn"]
    iam.create_role(RoleName=uid("role"), AssumeRolePolicyDocument=trust({"AWS": existing}))


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": "111122223333"},
        {"AWS": "arn:aws:iam::111122223333:root"},
        {"AWS": "*"},
        "*",
        {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]},
        {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
        {"AWS": "arn:aws:sts::111122223333:assumed-role/other/session"},
    ],
)
def test_trust_policy_accounts_services_and_federation_need_no_lookup(server: Server, principal: Any) -> None:
    document_text = trust(principal)
    if "Federated" in str(principal):
        document_text = document_text.replace("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity")
    role = server.client("iam").create_role(RoleName=uid("role"), AssumeRolePolicyDocument=document_text)
    assert role["Role"]["AssumeRolePolicyDocument"] == json.loads(document_text)


def test_list_roles_by_path_prefix_with_paging(server: Server) -> None:
    iam = server.client("iam")
    path = f"/{uid('list')}/"
    names = sorted(uid("role") for _ in range(3))
    for name in names:
        iam.create_role(
            RoleName=name, Path=path, AssumeRolePolicyDocument=EC2_TRUST, Tags=[{"Key": "k", "Value": "v"}]
        )
    first = iam.list_roles(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True
    second = iam.list_roles(PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert second["IsTruncated"] is False
    listed = first["Roles"] + second["Roles"]
    assert [r["RoleName"] for r in listed] == names
    assert all("Tags" not in r for r in listed)
    paginated = iam.get_paginator("list_roles").paginate(PathPrefix=path, PaginationConfig={"PageSize": 1})
    assert [r["RoleName"] for page in paginated for r in page["Roles"]] == names


def test_update_role_and_description(server: Server) -> None:
    iam = server.client("iam")
    name = uid("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
    iam.update_role(RoleName=name, Description="first", MaxSessionDuration=43200)
    role = iam.get_role(RoleName=name)["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("first", 43200)
    updated = iam.update_role_description(RoleName=name, Description="second")["Role"]
    assert updated["Description"] == "second"
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 43200
    with pytest.raises(ClientError) as caught:
        server.client("iam", parameter_validation=False).update_role(RoleName=name, MaxSessionDuration=100)
    assert error(caught)[0] == "ValidationError"


def test_update_assume_role_policy(server: Server) -> None:
    iam = server.client("iam")
    name = uid("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
    lambda_trust = trust({"Service": "lambda.amazonaws.com"})
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=lambda_trust)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == json.loads(lambda_trust)
    ghost = f"arn:aws:iam::{account_of(server)}:user/{uid('ghost')}"
    with pytest.raises(ClientError) as caught:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust({"AWS": ghost}))
    assert error(caught) == ("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{ghost}"', 400)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == json.loads(lambda_trust)


def test_delete_role_conflicts(server: Server) -> None:
    iam = server.client("iam")
    name = uid("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
    profile = uid("profile")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=name)
    readonly = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    iam.attach_role_policy(RoleName=name, PolicyArn=readonly)
    inline = document({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=inline)
    steps = [
        ("Cannot delete entity, must remove roles from instance profile first.",
         lambda: iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=name)),
        ("Cannot delete entity, must detach all policies first.",
         lambda: iam.detach_role_policy(RoleName=name, PolicyArn=readonly)),
        ("Cannot delete entity, must delete policies first.",
         lambda: iam.delete_role_policy(RoleName=name, PolicyName="inline")),
    ]  # fmt: skip
    for message, remedy in steps:
        with pytest.raises(ClientError) as caught:
            iam.delete_role(RoleName=name)
        assert error(caught) == ("DeleteConflict", message, 409)
        remedy()
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as caught:
        iam.get_role(RoleName=name)
    assert error(caught)[0] == "NoSuchEntity"
    assert iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)["Role"]["RoleName"] == name


def test_create_role_with_permissions_boundary(server: Server) -> None:
    iam = server.client("iam")
    boundary = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    name = uid("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST, PermissionsBoundary=boundary)
    shown = iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]
    assert shown["PermissionsBoundaryArn"] == boundary
    missing = f"arn:aws:iam::{account_of(server)}:policy/{uid('nope')}"
    with pytest.raises(ClientError) as caught:
        iam.create_role(RoleName=uid("role"), AssumeRolePolicyDocument=EC2_TRUST, PermissionsBoundary=missing)
    assert error(caught) == (
        "NoSuchEntity",
        f"Scope ARN: {missing} does not exist or is not attachable.",
        404,
    )


# --- authorization ------------------------------------------------------------------------------


def test_role_calls_need_permission(server: Server) -> None:
    account = account_of(server)
    team = f"/{uid('team')}/"
    allow_team = document(
        {
            "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:GetRole"],
            "Resource": f"arn:aws:iam::{account}:role{team}*",
        }
    )
    _, allowed = user_client(server, allow_team)
    _, nobody = user_client(server)
    name = uid("role")
    with pytest.raises(ClientError) as caught:
        nobody.create_role(RoleName=name, Path=team, AssumeRolePolicyDocument=EC2_TRUST)
    code, message, status = error(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert "is not authorized to perform: iam:CreateRole on resource: " in message
    allowed.create_role(RoleName=name, Path=team, AssumeRolePolicyDocument=EC2_TRUST)
    assert allowed.get_role(RoleName=name)["Role"]["Path"] == team
    with pytest.raises(ClientError) as caught:
        allowed.create_role(RoleName=uid("role"), AssumeRolePolicyDocument=EC2_TRUST)
    assert error(caught)[0] == "AccessDenied"
    with pytest.raises(ClientError) as caught:
        nobody.get_role(RoleName=name)
    assert error(caught)[0] == "AccessDenied"
    with pytest.raises(ClientError) as caught:
        allowed.delete_role(RoleName=name)
    assert error(caught)[0] == "AccessDenied"
    with pytest.raises(ClientError) as caught:  # a role that does not exist is not revealed
        nobody.get_role(RoleName=uid("ghost"))
    assert error(caught)[0] == "AccessDenied"


def test_role_conditions_on_tags_and_boundary(server: Server) -> None:
    account = account_of(server)
    boundary = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    policy = document(
        {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*",
         "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}}},
        {"Effect": "Allow", "Action": "iam:GetRole", "Resource": f"arn:aws:iam::{account}:role/*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}},
        {"Effect": "Allow", "Action": "iam:TagRole", "Resource": "*"},  # tag on create
    )  # fmt: skip
    _, client = user_client(server, policy)
    with pytest.raises(ClientError) as caught:
        client.create_role(RoleName=uid("role"), AssumeRolePolicyDocument=EC2_TRUST)
    assert error(caught)[0] == "AccessDenied"
    blue, red = uid("blue"), uid("red")
    client.create_role(
        RoleName=blue, AssumeRolePolicyDocument=EC2_TRUST, PermissionsBoundary=boundary,
        Tags=[{"Key": "team", "Value": "blue"}],
    )  # fmt: skip
    server.client("iam").create_role(
        RoleName=red, AssumeRolePolicyDocument=EC2_TRUST, Tags=[{"Key": "team", "Value": "red"}]
    )
    assert client.get_role(RoleName=blue)["Role"]["RoleName"] == blue
    with pytest.raises(ClientError) as caught:
        client.get_role(RoleName=red)
    assert error(caught)[0] == "AccessDenied"


# --- principal binding --------------------------------------------------------------------------


def _user_who_may_assume(server: Server, name: str) -> tuple[str, tuple[str, str]]:
    iam = server.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    may_assume = document({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=may_assume)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, (key["AccessKeyId"], key["SecretAccessKey"])


def _delete_user(server: Server, name: str, key_id: str) -> None:
    iam = server.client("iam")
    iam.delete_access_key(UserName=name, AccessKeyId=key_id)
    iam.delete_user_policy(UserName=name, PolicyName="assume")
    iam.delete_user(UserName=name)


def test_deleted_user_is_bound_to_its_unique_id(server: Server) -> None:
    iam = server.client("iam")
    user = uid("bound")
    user_arn, key = _user_who_may_assume(server, user)
    user_id = iam.get_user(UserName=user)["User"]["UserId"]
    role = uid("role")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust({"AWS": user_arn}))["Role"][
        "Arn"
    ]
    sts = server.client("sts", key=key)
    assert sts.assume_role(RoleArn=role_arn, RoleSessionName="before")["AssumedRoleUser"]["Arn"].endswith(
        "/before"
    )

    _delete_user(server, user, key[0])
    shown = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"] == {"AWS": user_id}

    _, new_key = _user_who_may_assume(server, user)  # same name, new unique id
    with pytest.raises(ClientError) as caught:
        server.client("sts", key=new_key).assume_role(RoleArn=role_arn, RoleSessionName="after")
    assert error(caught)[0] == "AccessDenied"
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == shown
    with pytest.raises(ClientError) as caught:  # a unique id cannot be written back
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(shown))
    assert error(caught) == (
        "MalformedPolicyDocument",
        f'Invalid principal in policy: "AWS":"{user_id}"',
        400,
    )


def test_deleted_role_is_bound_to_its_unique_id(server: Server) -> None:
    iam = server.client("iam")
    inner = iam.create_role(RoleName=uid("inner"), AssumeRolePolicyDocument=EC2_TRUST)["Role"]
    other = uid("other")
    principals = [inner["Arn"], "arn:aws:iam::111122223333:root"]
    iam.create_role(RoleName=other, AssumeRolePolicyDocument=trust({"AWS": principals}))
    iam.delete_role(RoleName=inner["RoleName"])
    shown = iam.get_role(RoleName=other)["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"] == {"AWS": [inner["RoleId"], "arn:aws:iam::111122223333:root"]}


def test_other_principals_stay_trusted_after_one_is_deleted(server: Server) -> None:
    iam = server.client("iam")
    gone, stays = uid("gone"), uid("stays")
    gone_arn, gone_key = _user_who_may_assume(server, gone)
    stays_arn, stays_key = _user_who_may_assume(server, stays)
    role_arn = iam.create_role(
        RoleName=uid("role"), AssumeRolePolicyDocument=trust({"AWS": [gone_arn, stays_arn]})
    )["Role"]["Arn"]
    _delete_user(server, gone, gone_key[0])
    credentials = server.client("sts", key=stays_key).assume_role(RoleArn=role_arn, RoleSessionName="stays")
    assert credentials["AssumedRoleUser"]["Arn"].endswith("/stays")
