"""The EC2 Query API over instance records, through boto3 and the aws CLI: launching with a profile
(iam:PassRole), describing with filters and paging, tags, associations, termination, DryRun, and
denials as EC2's UnauthorizedOperation with a message that sts decode-authorization-message opens."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import EC2_TRUST, Account, allow, aws_cli, document, error, first_account, uid
from tests.e2e.server import Server

AMI = "ami-0abcdef1234567890"
READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess"


@pytest.fixture
def account(server: Server) -> Account:
    return first_account(server)


def _profile(account: Account, trust: str = EC2_TRUST) -> tuple[str, str, str]:
    """A role trusting ``trust`` in a new instance profile: (profile name, profile ARN, role ARN)."""
    iam = account.iam()
    role = uid("ec2-role")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    name = uid("profile")
    arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    return name, arn, role_arn


def _launch(ec2: Any, **extra: Any) -> dict[str, Any]:
    return ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, **extra)["Instances"][0]


def test_launch_describe_filter_and_terminate(account: Account) -> None:
    ec2 = account.client("ec2")
    name, profile_arn, _ = _profile(account)
    team = uid("team")
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": team}]}]
    made = _launch(ec2, IamInstanceProfile={"Name": name}, TagSpecifications=tags, InstanceType="t3.small")
    instance_id = made["InstanceId"]
    assert re.fullmatch(r"i-[0-9a-f]{17}", instance_id)
    assert made["State"] == {"Code": 16, "Name": "running"}
    assert made["IamInstanceProfile"]["Arn"] == profile_arn
    assert made["InstanceType"] == "t3.small" and made["Placement"]["AvailabilityZone"] == "us-east-1a"

    by_tag = ec2.describe_instances(Filters=[{"Name": "tag:team", "Values": [team]}])["Reservations"]
    assert [i["InstanceId"] for r in by_tag for i in r["Instances"]] == [instance_id]
    by_id = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    assert by_id["OwnerId"] == account.id and by_id["Instances"][0]["Tags"] == [
        {"Key": "team", "Value": team}
    ]
    wild = ec2.describe_instances(Filters=[{"Name": "tag:team", "Values": [team[:-3] + "*"]}])
    assert len(wild["Reservations"]) == 1
    tags_found = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]}])["Tags"]
    assert tags_found == [
        {"ResourceId": instance_id, "ResourceType": "instance", "Key": "team", "Value": team}
    ]

    change = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0]
    assert change["PreviousState"]["Name"] == "running" and change["CurrentState"]["Name"] == "shutting-down"
    states = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["terminated"]}])
    assert instance_id in {i["InstanceId"] for r in states["Reservations"] for i in r["Instances"]}
    gone = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert "IamInstanceProfile" not in gone


def test_unknown_and_malformed_ids_and_filters(account: Account) -> None:
    ec2 = account.client("ec2")
    with pytest.raises(ClientError) as caught:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    assert error(caught)[0] == "InvalidInstanceID.NotFound" and error(caught)[2] == 400
    with pytest.raises(ClientError) as caught:
        ec2.describe_instances(InstanceIds=["x-1"])
    assert error(caught)[0] == "InvalidInstanceID.Malformed"
    with pytest.raises(ClientError) as caught:
        ec2.describe_instances(Filters=[{"Name": "colour", "Values": ["blue"]}])
    assert error(caught)[:2] == ("InvalidParameterValue", "The filter 'colour' is invalid")
    with pytest.raises(ClientError) as caught:
        ec2.run_instances(ImageId="not-an-ami", MinCount=1, MaxCount=1)
    assert error(caught)[0] == "InvalidAMIID.Malformed"
    with pytest.raises(ClientError) as caught:
        ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, IamInstanceProfile={"Name": uid("none")})
    assert error(caught)[0] == "InvalidParameterValue"


def test_paging_groups_a_reservation(account: Account) -> None:
    ec2 = account.client("ec2")
    marker = uid("batch")
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "batch", "Value": marker}]}]
    reservation = ec2.run_instances(ImageId=AMI, MinCount=7, MaxCount=7, TagSpecifications=tags)
    assert len(reservation["Instances"]) == 7
    seen: list[str] = []
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "tag:batch", "Values": [marker]}], PaginationConfig={"PageSize": 5}
    )
    for page in pages:
        for r in page["Reservations"]:
            assert r["ReservationId"] == reservation["ReservationId"]
            seen += [i["InstanceId"] for i in r["Instances"]]
    assert seen == [i["InstanceId"] for i in reservation["Instances"]]
    with pytest.raises(ClientError) as caught:
        ec2.describe_instances(MaxResults=5, NextToken="garbage")
    assert error(caught)[0] == "InvalidPaginationToken"


def test_associations_replace_and_disassociate(account: Account) -> None:
    ec2 = account.client("ec2")
    first, _, _ = _profile(account)
    second, second_arn, _ = _profile(account)
    instance_id = _launch(ec2)["InstanceId"]
    made = ec2.associate_iam_instance_profile(IamInstanceProfile={"Name": first}, InstanceId=instance_id)
    association = made["IamInstanceProfileAssociation"]
    assert association["State"] == "associating" and association["InstanceId"] == instance_id
    with pytest.raises(ClientError) as caught:
        ec2.associate_iam_instance_profile(IamInstanceProfile={"Name": second}, InstanceId=instance_id)
    assert error(caught)[0] == "IncorrectState"
    replaced = ec2.replace_iam_instance_profile_association(
        IamInstanceProfile={"Arn": second_arn}, AssociationId=association["AssociationId"]
    )["IamInstanceProfileAssociation"]
    listed = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance_id]}]
    )["IamInstanceProfileAssociations"]
    assert [(a["AssociationId"], a["IamInstanceProfile"]["Arn"], a["State"]) for a in listed] == [
        (replaced["AssociationId"], second_arn, "associated")
    ]
    ec2.disassociate_iam_instance_profile(AssociationId=replaced["AssociationId"])
    with pytest.raises(ClientError) as caught:
        ec2.disassociate_iam_instance_profile(AssociationId=replaced["AssociationId"])
    assert error(caught)[0] == "InvalidAssociationID.NotFound"


def test_read_only_policy_describes_but_cannot_launch(account: Account, server: Server) -> None:
    iam = account.iam()
    user, key = account.user("ro", allow("sts:DecodeAuthorizationMessage"))
    iam.attach_user_policy(UserName=user, PolicyArn=READ_ONLY)
    ec2 = account.client("ec2", key=key)
    ec2.describe_instances()
    regions = {r["RegionName"] for r in ec2.describe_regions()["Regions"]}
    assert {"us-east-1", "eu-west-1"} <= regions
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert zones[0]["ZoneName"] == "us-east-1a" and zones[0]["ZoneId"] == "use1-az1"
    with pytest.raises(ClientError) as caught:
        _launch(ec2)
    code, message, status = error(caught)
    assert (code, status) == ("UnauthorizedOperation", 403)
    assert message.startswith("You are not authorized to perform this operation. User: ")
    assert "ec2:RunInstances" in message
    encoded = message.split("Encoded authorization failure message: ", 1)[1]
    decoded = json.loads(
        account.client("sts", key=key).decode_authorization_message(EncodedMessage=encoded)["DecodedMessage"]
    )
    assert decoded["allowed"] is False and decoded["context"]["action"] == "ec2:RunInstances"

    cli = aws_cli(server, "ec2", "run-instances", "--image-id", AMI, "--count", "1", key=key)
    assert cli.returncode != 0 and "UnauthorizedOperation" in cli.stderr
    listed = aws_cli(server, "ec2", "describe-instances", key=key)
    assert listed.returncode == 0, listed.stderr
    assert "Reservations" in json.loads(listed.stdout)


def test_passing_the_role_needs_pass_role_for_ec2(account: Account) -> None:
    name, _, role_arn = _profile(account)
    _, key = account.user("launcher", allow("ec2:RunInstances"))
    ec2 = account.client("ec2", key=key)
    with pytest.raises(ClientError) as caught:
        _launch(ec2, IamInstanceProfile={"Name": name})
    assert error(caught)[0] == "UnauthorizedOperation" and "iam:PassRole" in error(caught)[1]
    _launch(ec2)  # no profile, nothing to pass

    for_ec2 = {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    _, passer = account.user(
        "passer", allow("ec2:RunInstances"), allow("iam:PassRole", role_arn, Condition=for_ec2)
    )
    made = _launch(account.client("ec2", key=passer), IamInstanceProfile={"Name": name})
    assert made["IamInstanceProfile"]["Id"].startswith("AIPA")


def test_condition_keys_follow_the_resource_type(account: Account) -> None:
    """ec2:InstanceType exists on the instance only: over Resource "*" the image fails the
    condition (a well-known RunInstances pitfall); scoped to instance/* it holds."""
    small = {"StringEquals": {"ec2:InstanceType": "t3.micro"}}
    _, everywhere = account.user("types", allow("ec2:RunInstances", "*", Condition=small))
    with pytest.raises(ClientError) as caught:
        _launch(account.client("ec2", key=everywhere), InstanceType="t3.micro")
    assert "image/" + AMI in error(caught)[1]
    scoped = [
        allow("ec2:RunInstances", "arn:aws:ec2:*:*:instance/*", Condition=small),
        allow("ec2:RunInstances", ["arn:aws:ec2:*::image/*", "arn:aws:ec2:*:*:subnet/*"]),
        allow(
            "ec2:RunInstances",
            [
                "arn:aws:ec2:*:*:network-interface/*",
                "arn:aws:ec2:*:*:security-group/*",
                "arn:aws:ec2:*:*:volume/*",
            ],
        ),
    ]
    _, right = account.user("scoped", *scoped)
    ec2 = account.client("ec2", key=right)
    assert _launch(ec2, InstanceType="t3.micro")["InstanceType"] == "t3.micro"
    with pytest.raises(ClientError) as caught:
        _launch(ec2, InstanceType="m5.large")
    assert error(caught)[0] == "UnauthorizedOperation"
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "k", "Value": "v"}]}]
    with pytest.raises(ClientError) as caught:  # tagging on launch needs ec2:CreateTags
        _launch(ec2, InstanceType="t3.micro", TagSpecifications=tags)
    assert "ec2:CreateTags" in error(caught)[1]


def test_dry_run_and_bad_credentials(account: Account, server: Server) -> None:
    ec2 = account.client("ec2")
    with pytest.raises(ClientError) as caught:
        _launch(ec2, DryRun=True)
    assert error(caught)[0] == "DryRunOperation" and error(caught)[2] == 412
    cli = aws_cli(server, "ec2", "run-instances", "--image-id", AMI, "--dry-run", key=account.root)
    assert "DryRunOperation" in cli.stderr
    forged = server.client("ec2", key=(account.root[0], "x" * 40))
    with pytest.raises(ClientError) as caught:
        forged.describe_instances()
    assert error(caught)[:3:2] == ("AuthFailure", 401)


def test_create_and_delete_tags(account: Account) -> None:
    ec2 = account.client("ec2")
    instance_id = _launch(ec2)["InstanceId"]
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": "a", "Value": "other"}, {"Key": "b"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]}])["Tags"]
    assert [(t["Key"], t["Value"]) for t in tags] == [("a", "1")]
    with pytest.raises(ClientError) as caught:
        ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "aws:x", "Value": "1"}])
    assert error(caught)[0] == "InvalidParameterValue"
    only_blue = document(
        allow("ec2:TerminateInstances", Condition={"StringEquals": {"aws:ResourceTag/a": "blue"}})
    )
    _, key = account.user("abac")
    account.iam().put_user_policy(UserName=_, PolicyName="abac", PolicyDocument=only_blue)
    with pytest.raises(ClientError) as caught:
        account.client("ec2", key=key).terminate_instances(InstanceIds=[instance_id])
    assert error(caught)[0] == "UnauthorizedOperation"
