"""The bootstrap file against real servers: what the test server's file created, a `make serve`
start with examples/quickstart.yaml (root keys listed, `aws iam list-roles`), applying a file twice
changes nothing, a changed file is applied, a bad file is refused whole with the path of the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import Account, aws_cli, error_of
from tests.e2e.server import Server, start_server

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart.yaml"
ALICE = ("AKIAQUICKSTARTALICE2", "quickstart/alice/DEVELOPMENT+ONLY/key000")
BOB = ("AKIAQUICKSTARTBOB234", "quickstart/bob/DEVELOPMENT+ONLY/keys0000")


def test_fixtures_of_the_test_server(server: Server) -> None:
    acct = Account(server, "123456789012")
    iam = acct.iam()
    user = iam.get_user(UserName="fixture-iam-a-user")["User"]
    assert user["Arn"] == "arn:aws:iam::123456789012:user/fixtures/fixture-iam-a-user"
    assert user["Tags"] == [{"Key": "team", "Value": "identity"}]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="fixture-iam-a-user")["Groups"]] == [
        "fixture-iam-a-group"
    ]
    attached = iam.list_attached_user_policies(UserName="fixture-iam-a-user")["AttachedPolicies"]
    assert attached == [
        {
            "PolicyName": "fixture-iam-a-policy",
            "PolicyArn": "arn:aws:iam::123456789012:policy/fixtures/fixture-iam-a-policy",
        }
    ]
    group_policy = iam.get_group_policy(GroupName="fixture-iam-a-group", PolicyName="fixture-group-inline")
    assert group_policy["PolicyDocument"]["Version"] == "2012-10-17"  # unquoted YAML date, kept as text
    key = ("AKIAFIXTUREIAMAUSER2", "fixture/iamA/user/DEVELOPMENT+ONLY/00000")
    fixture = acct.iam(key)
    assert fixture.get_user()["User"]["UserName"] == "fixture-iam-a-user"  # inline policy: iam:GetUser
    assert fixture.list_users()["Users"]  # managed policy: iam:ListUsers
    assert fixture.list_groups()["Groups"]  # group's inline policy: iam:ListGroups
    with pytest.raises(ClientError) as caught:
        fixture.list_roles()
    assert error_of(caught)[0] == "AccessDenied"
    assert (
        Account(server, "123456789010").client("sts", ALICE).get_caller_identity()["Account"]
        == "123456789010"
    )
    assert acct.client("sts", BOB).get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/bob"


def test_quickstart_like_make_serve(tmp_path: Path) -> None:
    running = start_server(tmp_path / "data", "--config", str(QUICKSTART))
    try:
        log = running.log.read_text()
        for account in ("123456789010", "123456789012"):
            assert f"account {account}: root access key {running.roots[account][0]}" in log
        assert not any(key in (ALICE[0], BOB[0]) for key, _secret in running.roots.values())
        assert (running.data_dir / "credentials").stat().st_mode & 0o777 == 0o600
        env = {"AWS_SHARED_CREDENTIALS_FILE": str(running.data_dir / "credentials")}
        listed = aws_cli(running, "iam", "list-roles", "--profile", "monban-123456789010", env=env)
        assert listed.returncode == 0, listed.stderr
        assert [role["RoleName"] for role in json.loads(listed.stdout)["Roles"]] == ["read-only"]
        denied = aws_cli(running, "iam", "list-roles", key=ALICE)
        assert denied.returncode != 0
        assert "AccessDenied" in denied.stderr
        assert (
            "User: arn:aws:iam::123456789010:user/alice is not authorized to perform: iam:ListRoles"
            in denied.stderr
        )
        assumed = aws_cli(
            running,
            "sts",
            "assume-role",
            "--role-arn",
            "arn:aws:iam::123456789010:role/read-only",
            "--role-session-name",
            "quickstart",
            key=ALICE,
        )
        assert assumed.returncode == 0, assumed.stderr
        creds = json.loads(assumed.stdout)["Credentials"]
        session = {"AWS_SESSION_TOKEN": creds["SessionToken"]}
        as_role = aws_cli(
            running, "iam", "list-roles", key=(creds["AccessKeyId"], creds["SecretAccessKey"]), env=session
        )
        assert as_role.returncode == 0, as_role.stderr
        s3 = running.client("s3", account="123456789010", s3={"addressing_style": "path"})
        assert "assume-role-test-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        bob = running.client("sts", key=BOB).get_caller_identity()
        assert bob["Arn"] == "arn:aws:iam::123456789012:user/bob"
    finally:
        running.stop()


def _snapshot(running: Server) -> dict[str, Any]:
    """Everything the file decides, per account, with ids, dates and key ids."""
    out: dict[str, Any] = {}
    for account in sorted(running.roots):
        iam = running.client("iam", account=account)
        details = iam.get_account_authorization_details()
        details.pop("ResponseMetadata")
        keys = {
            user["UserName"]: iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
            for user in details["UserDetailList"]
        }
        root_keys = iam.list_access_keys()["AccessKeyMetadata"]
        tags = {
            u["UserName"]: iam.list_user_tags(UserName=u["UserName"])["Tags"]
            for u in details["UserDetailList"]
        }
        out[account] = {"details": details, "keys": keys, "root": root_keys, "tags": tags}
    return out


FILE_V1 = """
Accounts:
  - AccountId: "210987654321"
    RootAccessKeys:
      - {AccessKeyId: AKIAROOTFIXEDKEY2345, SecretAccessKey: rootFixedSecretDEVELOPMENTONLY0000000000}
    ManagedPolicies:
      - ManagedPolicyName: reader
        PolicyDocument:
          {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:Get*", Resource: "*"}]}
    Groups:
      - GroupName: readers
        ManagedPolicyArns: [arn:aws:iam::210987654321:policy/reader]
    Users:
      - UserName: carol
        Groups: [readers]
        Tags: [{Key: team, Value: data}]
        AccessKeys:
          - {AccessKeyId: AKIACAROLFIXEDKEY234, SecretAccessKey: carolFixedSecretDEVELOPMENTONLY000000000}
    Roles:
      - RoleName: loader
        MaxSessionDuration: 7200
        AssumeRolePolicyDocument:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {AWS: "arn:aws:iam::210987654321:user/carol"}
              Action: "sts:AssumeRole"
        Policies:
          - PolicyName: load
            PolicyDocument:
              {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:PutObject", Resource: "*"}]}
    InstanceProfiles:
      - {InstanceProfileName: loader-profile, Roles: [loader]}
"""


def test_applying_twice_changes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "bootstrap.yaml"
    config.write_text(FILE_V1)
    first = start_server(tmp_path / "data", "--config", str(config))
    try:
        before = _snapshot(first)
        assert first.roots["210987654321"][0] == "AKIAROOTFIXEDKEY2345"
    finally:
        first.stop()
    second = start_server(tmp_path / "data", "--config", str(config))
    try:
        assert _snapshot(second) == before
        carol = second.client("sts", key=("AKIACAROLFIXEDKEY234", "carolFixedSecretDEVELOPMENTONLY000000000"))
        assert carol.get_caller_identity()["Arn"] == "arn:aws:iam::210987654321:user/carol"
    finally:
        second.stop()


def test_changed_file_is_applied(tmp_path: Path) -> None:
    config = tmp_path / "bootstrap.yaml"
    config.write_text(FILE_V1)
    start_server(tmp_path / "data", "--config", str(config)).stop()
    changed = FILE_V1.replace('Action: "s3:Get*"', 'Action: "s3:List*"').replace(
        "Value: data", "Value: science"
    )
    changed = changed.replace(
        "        Groups: [readers]\n", "        Groups: [readers]\n        Path: /moved/\n"
    )  # the file describes the end state: its trust policy names carol by her new ARN
    changed = changed.replace('user/carol"}', 'user/moved/carol"}')
    config.write_text(changed)
    running = start_server(tmp_path / "data", "--config", str(config))
    try:
        iam = running.client("iam", account="210987654321")
        carol = iam.get_user(UserName="carol")["User"]
        assert carol["Arn"] == "arn:aws:iam::210987654321:user/moved/carol"
        assert carol["Tags"] == [{"Key": "team", "Value": "science"}]
        policy = iam.get_policy(PolicyArn="arn:aws:iam::210987654321:policy/reader")["Policy"]
        assert policy["DefaultVersionId"] == "v2"
        version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v2")["PolicyVersion"]
        assert version["Document"]["Statement"][0]["Action"] == "s3:List*"
        assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="carol")["AccessKeyMetadata"]] == [
            "AKIACAROLFIXEDKEY234"
        ]
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'Accounts:\n  - AccountId: "111111111111"\n    Users:\n'
            "      - {UserName: ok}\n      - {UserName: ok2}\n      - {UserName: 'bad name'}\n",
            "Accounts[0].Users[2].UserName: must be 1-64 characters of [\\w+=,.@-]",
        ),
        (
            'Accounts:\n  - AccountId: "111111111111"\n    Roles:\n      - RoleName: r\n'
            "        AssumeRolePolicyDocument: '{\"Statement\": []}'\n",
            "Accounts[0].Roles[0].AssumeRolePolicyDocument: MalformedPolicyDocument:",
        ),
        (
            'Accounts:\n  - AccountId: "111111111111"\n    Users:\n      - {UserName: u, Groups: [nobody]}\n',
            "Accounts[0].Users[0].Groups[0]: no group nobody",
        ),
        (
            'Accounts:\n  - AccountId: "111111111111"\n    Users:\n      - {UserName: u, Colour: blue}\n',
            "Accounts[0].Users[0].Colour: unknown field",
        ),
    ],
)
def test_bad_file_is_refused_with_the_field_path(tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(RuntimeError) as caught:
        start_server(tmp_path / "data", "--config", str(config))
    assert expected in str(caught.value)


def test_file_refused_at_apply_time_leaves_nothing(tmp_path: Path) -> None:
    """Valid on its own, refused against the store (a trust policy naming a user that exists
    nowhere): the whole transaction is rolled back — not even the account is created."""
    config = tmp_path / "bootstrap.yaml"
    config.write_text(
        'Accounts:\n  - AccountId: "111111111111"\n    Users: [{UserName: dave}]\n    Roles:\n'
        "      - RoleName: r\n        AssumeRolePolicyDocument:\n"
        '          {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "sts:AssumeRole",'
        ' Principal: {AWS: "arn:aws:iam::999999999999:user/nobody"}}]}\n'
    )
    with pytest.raises(RuntimeError) as caught:
        start_server(tmp_path / "data", "--config", str(config))
    message = str(caught.value)
    assert (
        "Accounts[0].Roles[0].AssumeRolePolicyDocument: MalformedPolicyDocument: Invalid principal" in message
    )
    running = start_server(tmp_path / "data")
    try:
        assert "111111111111" not in running.roots  # every account has a profile in the credentials file
    finally:
        running.stop()


def test_service_control_policies_are_enforced(tmp_path: Path) -> None:
    """The file's SCPs bind everyone in the account, the root included."""
    config = tmp_path / "bootstrap.yaml"
    config.write_text(
        'Accounts:\n  - AccountId: "333344445555"\n    ServiceControlPolicies:\n'
        '      - {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}\n'
        '      - {Version: "2012-10-17",\n'
        '         Statement: [{Effect: Deny, Action: "iam:DeleteUser", Resource: "*"}]}\n'
    )
    running = start_server(tmp_path / "data", "--config", str(config))
    try:
        iam = running.client("iam", account="333344445555")
        iam.create_user(UserName="kept")
        with pytest.raises(ClientError) as caught:
            iam.delete_user(UserName="kept")
        code, status, message = error_of(caught)
        assert (code, status) == ("AccessDenied", 403) and "service control polic" in message
        assert iam.get_user(UserName="kept")["User"]["UserName"] == "kept"
    finally:
        running.stop()
