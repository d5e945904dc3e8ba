"""Instance profiles through boto3: create, get, list, delete, one role per profile, authorization."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import EC2_TRUST, error, new_entity, uid
from tests.e2e.server import Server


def test_instance_profile_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    name = uid("profile")
    created = iam.create_instance_profile(
        InstanceProfileName=name, Path="/web/", Tags=[{"Key": "tier", "Value": "web"}]
    )["InstanceProfile"]
    assert created["InstanceProfileId"].startswith("AIPA") and len(created["InstanceProfileId"]) == 21
    assert created["Arn"] == f"arn:aws:iam::{next(iter(server.roots))}:instance-profile/web/{name}"
    assert created["Roles"] == []
    assert created["Tags"] == [{"Key": "tier", "Value": "web"}]
    with pytest.raises(ClientError) as caught:
        iam.create_instance_profile(InstanceProfileName=name.upper())
    assert error(caught) == ("EntityAlreadyExists", f"Instance Profile {name.upper()} already exists.", 409)
    role_name = new_entity(iam, "role")
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role_name)
    fetched = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in fetched["Roles"]] == [role_name]
    assert fetched["Roles"][0]["AssumeRolePolicyDocument"] == json.loads(EC2_TRUST)
    for_role = iam.list_instance_profiles_for_role(RoleName=role_name)["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == [name]
    with pytest.raises(ClientError) as caught:
        iam.delete_instance_profile(InstanceProfileName=name)
    message = "Cannot delete entity, must remove roles from instance profile first."
    assert error(caught) == ("DeleteConflict", message, 409)
    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role_name)
    assert iam.list_instance_profiles_for_role(RoleName=role_name)["InstanceProfiles"] == []
    iam.delete_instance_profile(InstanceProfileName=name)
    with pytest.raises(ClientError) as caught:
        iam.get_instance_profile(InstanceProfileName=name)
    assert error(caught) == ("NoSuchEntity", f"Instance Profile {name} cannot be found.", 404)


def test_one_role_per_instance_profile(server: Server) -> None:
    iam = server.client("iam")
    name = uid("profile")
    iam.create_instance_profile(InstanceProfileName=name)
    first, second = new_entity(iam, "role"), new_entity(iam, "role")
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=first)
    for extra in (second, first):
        with pytest.raises(ClientError) as caught:
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=extra)
        assert error(caught) == (
            "LimitExceeded",
            "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
            409,
        )
    with pytest.raises(ClientError) as caught:
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=second)
    assert error(caught) == ("NoSuchEntity", f"The role with name {second} cannot be found.", 404)
    ghost = uid("ghost")
    with pytest.raises(ClientError) as caught:
        iam.add_role_to_instance_profile(InstanceProfileName=uid("noprofile"), RoleName=first)
    assert error(caught)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as caught:
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=ghost)
    assert error(caught) == ("NoSuchEntity", f"The role with name {ghost} cannot be found.", 404)


def test_list_instance_profiles(server: Server) -> None:
    iam = server.client("iam")
    path = f"/{uid('ips')}/"
    names = sorted(uid("profile") for _ in range(3))
    for name in names:
        iam.create_instance_profile(InstanceProfileName=name, Path=path, Tags=[{"Key": "k", "Value": "v"}])
    first = iam.list_instance_profiles(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True
    rest = iam.list_instance_profiles(PathPrefix=path, Marker=first["Marker"])
    listed = first["InstanceProfiles"] + rest["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in listed] == names
    assert all("Tags" not in p for p in listed)
    assert iam.list_instance_profiles(PathPrefix=f"{path}none/")["InstanceProfiles"] == []


def test_instance_profile_calls_need_permission(server: Server) -> None:
    iam = server.client("iam")
    account = next(iter(server.roots))
    user = uid("u")
    iam.create_user(UserName=user)
    text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["iam:CreateInstanceProfile", "iam:GetInstanceProfile"],
                 "Resource": f"arn:aws:iam::{account}:instance-profile/mine/*"},
            ],
        }
    )  # fmt: skip
    iam.put_user_policy(UserName=user, PolicyName="ip", PolicyDocument=text)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = server.client("iam", key=(key["AccessKeyId"], key["SecretAccessKey"]))
    name = uid("profile")
    client.create_instance_profile(InstanceProfileName=name, Path="/mine/")
    assert client.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Path"] == "/mine/"
    for call in (
        lambda: client.create_instance_profile(InstanceProfileName=uid("profile")),
        lambda: client.delete_instance_profile(InstanceProfileName=name),
        lambda: client.list_instance_profiles(),
        lambda: client.add_role_to_instance_profile(
            InstanceProfileName=name, RoleName=new_entity(iam, "role")
        ),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught)[0] == "AccessDenied"
